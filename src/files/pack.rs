//! The raw mail of a batch kept in one file: `raw/YYYY/MM/<id>.pack.zst`, each mail a zstd
//! frame of its own, in the order the batch took them. A file per mail cost an inode, a
//! rename and an fsync for every mail, which made up a quarter of ingest's CPU; a pack
//! costs them once per batch. An article names its mail `…/<id>.pack.zst#N` (its index in
//! the pack), read back by stepping over the frames before it. `zstdcat` of a pack gives
//! the batch's mails one after the other.
//!
//! zstd at level 1 compresses mail as small as deflate's fastest level, three times
//! faster on the bench's mix and seven times on the corpus's real mail.

use std::io::Read;

/// zstd's level for raw mail: read back rarely, written for every mail.
const LEVEL: i32 = 1;

/// The mails of one batch, compressed on the blocking pool as they come, written as one
/// file when the batch settles.
#[derive(Debug)]
pub(super) struct Pack {
    /// Its name under the data directory: `raw/YYYY/MM/<id>.pack.zst`.
    pub name: String,
    /// Each member once compressed; `None` while its writer runs (or if it failed).
    pub members: Vec<Option<Vec<u8>>>,
}

impl Pack {
    /// An empty pack named for mail received at `at`; the id is unique to this process and
    /// this moment, so that instances sharing the directory never pick the same.
    pub(super) fn new(at: chrono::DateTime<chrono::Utc>) -> Self {
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
        let id = format!(
            "{nanos:016x}{:08x}{:08x}",
            std::process::id(),
            crate::atomic_file::unique_suffix() as u32
        );
        Pack {
            name: format!(
                "raw/{}/{id}{}",
                at.format("%Y/%m"),
                super::keys::PACK_SUFFIX
            ),
            members: Vec::new(),
        }
    }

    /// The members' bytes, in order; `None` if one is missing (its writer failed, and the
    /// batch does not commit).
    pub(super) fn bytes(&self) -> Option<impl Iterator<Item = &[u8]>> {
        self.members
            .iter()
            .all(Option::is_some)
            .then(|| self.members.iter().flatten().map(Vec::as_slice))
    }
}

/// `raw` as one zstd frame.
///
/// Each thread keeps its compression context: one made per mail allocated, cleared and
/// freed its tables every time (half of the process's `memset`, and fresh pages from the
/// kernel), 7–8% of `ingest`'s CPU (BENCHMARKS.md). It holds about a megabyte per thread
/// that compresses.
pub(super) fn compress(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    COMPRESSOR.with_borrow_mut(|kept| {
        let compressor = match kept {
            Some(compressor) => compressor,
            None => kept.insert(zstd::bulk::Compressor::new(LEVEL)?),
        };
        compressor.compress(raw)
    })
}

/// The `index`-th member of the pack read from `pack`, decompressed. A member that is not
/// there, or a damaged pack, is an error.
pub(super) fn read_member(mut pack: impl Read, index: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    pack.read_to_end(&mut bytes)?;
    let mut rest = bytes.as_slice();
    for _ in 0..index {
        let frame = zstd::zstd_safe::find_frame_compressed_size(rest)
            .map_err(|code| damaged(zstd::zstd_safe::get_error_name(code)))?;
        rest = &rest[frame..];
    }
    if rest.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let frame = zstd::zstd_safe::find_frame_compressed_size(rest)
        .map_err(|code| damaged(zstd::zstd_safe::get_error_name(code)))?;
    let mut out = Vec::new();
    zstd::stream::read::Decoder::with_buffer(&rest[..frame])?
        .single_frame()
        .read_to_end(&mut out)?;
    Ok(out)
}

fn damaged(why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("not a zstd frame: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_member_reads_back_alone_and_the_pack_is_plain_zstd() {
        let mails: Vec<Vec<u8>> = (0..5)
            .map(|n| format!("Subject: {n}\r\n\r\n{}", "text ".repeat(n * 1000)).into_bytes())
            .collect();
        let mut pack = Vec::new();
        for mail in &mails {
            pack.extend(compress(mail).unwrap());
        }
        for (index, mail) in mails.iter().enumerate() {
            assert_eq!(&read_member(pack.as_slice(), index).unwrap(), mail);
        }
        let missing = read_member(pack.as_slice(), 5).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::UnexpectedEof);
        let all = zstd::stream::decode_all(pack.as_slice()).unwrap();
        assert_eq!(all, mails.concat());
    }

    #[test]
    fn a_damaged_pack_is_an_error_not_a_panic() {
        let mut pack = compress(b"Subject: x\r\n\r\nbody").unwrap();
        pack.extend(compress(b"Subject: y\r\n\r\nbody").unwrap());
        for cut in 0..pack.len() {
            let _ = read_member(&pack[..cut], 1);
        }
        pack[2] ^= 0xff;
        assert!(read_member(pack.as_slice(), 0).is_err());
        assert!(read_member(pack.as_slice(), 1).is_err());
    }
}
