//! Folders by the server's rules. Servers keep personal folders in a namespace (RFC 2342):
//! at the top on Dovecot and Gmail, under `INBOX.` on Courier and on Cyrus with its usual
//! settings, where `CREATE Processed` is refused. A configured `move:Processed` means
//! `Processed` in the personal namespace; a full name (`INBOX.Done`, `[Gmail]/Trash`) is
//! used as given. The processed folder is created when missing; one that cannot be created
//! is a configuration error for the mailbox, reported at once, never a loop of refused
//! acknowledgements.

use futures::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::connection::ImapSession;
use super::session::Capabilities;
use super::{ImapError, protocol};
use crate::config::{MailboxSettings, ProcessedAction};

/// How long the NAMESPACE exchange may take.
const NAMESPACE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The longest NAMESPACE exchange read, in bytes: the answer is a few dozen.
const NAMESPACE_MAX_BYTES: usize = 64 * 1024;

/// Where a plain folder name goes on this server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct PersonalNamespace {
    /// `INBOX.` on Courier and Cyrus, empty on Dovecot and Gmail.
    pub prefix: String,
    /// The hierarchy delimiter, when the server has one.
    pub delimiter: Option<char>,
}

impl PersonalNamespace {
    /// The server's name for the configured `folder`: itself when it is INBOX, already in
    /// the personal namespace, or the namespace has no prefix; else under the prefix.
    pub(super) fn full_name(&self, folder: &str) -> String {
        let under_prefix = folder
            .get(..self.prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(&self.prefix));
        if self.prefix.is_empty() || under_prefix || folder.eq_ignore_ascii_case("INBOX") {
            folder.to_string()
        } else {
            format!("{}{folder}", self.prefix)
        }
    }
}

/// Reads the personal namespace: NAMESPACE where the server offers it, else no prefix
/// (RFC 2342); the delimiter from `LIST "" ""`.
pub(super) async fn personal_namespace(
    session: &mut ImapSession,
    mailbox: &MailboxSettings,
    caps: Capabilities,
) -> Result<PersonalNamespace, ImapError> {
    let delimiter = hierarchy_delimiter(session).await?;
    let mut prefix = if caps.namespace {
        namespace_prefix(session, mailbox).await?
    } else {
        String::new()
    };
    if let Some(d) = delimiter
        && !prefix.is_empty()
        && !prefix.ends_with(d)
    {
        prefix.push(d);
    }
    Ok(PersonalNamespace { prefix, delimiter })
}

/// The folder handled messages move to, by the server's name for it, made to exist; `None`
/// when they are flagged or deleted instead.
pub(super) async fn processed_folder(
    session: &mut ImapSession,
    mailbox: &MailboxSettings,
    personal: &PersonalNamespace,
) -> Result<Option<String>, ImapError> {
    let ProcessedAction::Move(configured) = &mailbox.processed else {
        return Ok(None);
    };
    let folder = personal.full_name(configured);
    if exists(session, &folder).await? {
        return Ok(Some(folder));
    }
    if let Err(e) = session.create(&folder).await {
        if super::is_throttled(&e) {
            return Err(protocol("creating the processed folder")(e));
        }
        return Err(ImapError::Folder {
            folder: folder.clone(),
            message: format!(
                "the server refuses to create it ({e}); create it by hand, or set processed = \"move:FOLDER\" to a folder that exists{}",
                hint(personal)
            ),
        });
    }
    tracing::info!(folder, "created the folder handled messages move to");
    Ok(Some(folder))
}

/// Where personal folders live, for an error message.
fn hint(personal: &PersonalNamespace) -> String {
    if personal.prefix.is_empty() {
        String::new()
    } else {
        format!(
            " (personal folders are under {:?} on this server)",
            personal.prefix
        )
    }
}

/// Whether `folder` exists and can hold messages.
async fn exists(session: &mut ImapSession, folder: &str) -> Result<bool, ImapError> {
    let names: Vec<_> = session
        .list(Some(""), Some(folder))
        .await
        .map_err(protocol("listing folders"))?
        .try_collect()
        .await
        .map_err(protocol("listing folders"))?;
    Ok(names.iter().any(|n| {
        !n.attributes()
            .iter()
            .any(|a| matches!(a, async_imap::types::NameAttribute::NoSelect))
    }))
}

/// The hierarchy delimiter the server answers to `LIST "" ""`.
async fn hierarchy_delimiter(session: &mut ImapSession) -> Result<Option<char>, ImapError> {
    let names: Vec<_> = session
        .list(Some(""), Some(""))
        .await
        .map_err(protocol("reading the hierarchy delimiter"))?
        .try_collect()
        .await
        .map_err(protocol("reading the hierarchy delimiter"))?;
    Ok(names
        .first()
        .and_then(|n| n.delimiter())
        .and_then(|d| d.chars().next()))
}

/// The personal namespace's prefix from NAMESPACE. The IMAP library cannot read its answer
/// (it would take the session down), so the one command is written and its answer read on
/// the connection underneath, before any folder is selected: nothing else is said then.
async fn namespace_prefix(
    session: &mut ImapSession,
    mailbox: &MailboxSettings,
) -> Result<String, ImapError> {
    let exchange = async {
        let stream = session.get_mut();
        stream.write_all(b"tgns NAMESPACE\r\n").await?;
        stream.flush().await?;
        let mut personal = None;
        let mut read = 0;
        loop {
            let line = read_line(stream, &mut read).await?;
            if let Some(rest) = line.strip_prefix("* NAMESPACE ") {
                personal = Some(parse_personal(rest));
            } else if line.starts_with("tgns ") {
                return Ok::<_, std::io::Error>((line, personal));
            }
        }
    };
    let (done, personal) = tokio::time::timeout(NAMESPACE_TIMEOUT, exchange)
        .await
        .map_err(|_| ImapError::Timeout {
            host: mailbox.host.clone(),
            port: mailbox.port,
        })?
        .map_err(|source| protocol("reading the namespace")(source.into()))?;
    if !done.starts_with("tgns OK") {
        tracing::debug!(answer = %done, "NAMESPACE refused: personal folders taken at the top");
    }
    Ok(personal.flatten().unwrap_or_default())
}

/// One line of the answer, literals included, without its CRLF.
async fn read_line(
    stream: &mut super::connection::ImapStream,
    read: &mut usize,
) -> std::io::Result<String> {
    let mut line = Vec::new();
    loop {
        let byte = stream.read_u8().await?;
        *read += 1;
        if *read > NAMESPACE_MAX_BYTES {
            return Err(std::io::Error::other("the NAMESPACE answer is too long"));
        }
        line.push(byte);
        if !line.ends_with(b"\r\n") {
            continue;
        }
        line.truncate(line.len() - 2);
        // A literal `{N}` at the end of a line: its N bytes, then the rest of the line.
        match literal_size(&line) {
            Some(n) if *read + n <= NAMESPACE_MAX_BYTES => {
                let mut literal = vec![0; n];
                stream.read_exact(&mut literal).await?;
                *read += n;
                line.extend_from_slice(&literal);
            }
            Some(_) => return Err(std::io::Error::other("the NAMESPACE answer is too long")),
            None => return Ok(String::from_utf8_lossy(&line).into_owned()),
        }
    }
}

/// The size of the literal announced at the end of `line` (`{12}` or `{12+}`).
fn literal_size(line: &[u8]) -> Option<usize> {
    let open = line.iter().rposition(|&b| b == b'{')?;
    let inner = line.get(open + 1..line.len().checked_sub(1)?)?;
    if line.last() != Some(&b'}') {
        return None;
    }
    std::str::from_utf8(inner.strip_suffix(b"+").unwrap_or(inner))
        .ok()?
        .parse()
        .ok()
}

/// The prefix of the first personal namespace in a NAMESPACE answer
/// (`(("INBOX." ".")) NIL NIL`); `None` when the server says there is none (`NIL`).
fn parse_personal(answer: &str) -> Option<String> {
    let rest = answer.trim_start().strip_prefix("((")?;
    let rest = rest.trim_start().strip_prefix('"')?;
    let mut prefix = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => prefix.extend(chars.next()),
            '"' => return Some(prefix),
            c => prefix.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_personal_namespace_is_read_from_the_answer() {
        assert_eq!(
            parse_personal(r#"(("INBOX." ".")) NIL NIL"#).as_deref(),
            Some("INBOX.")
        );
        assert_eq!(
            parse_personal(r##"(("" "/")("#mh/" "/")) (("~" "/")) NIL"##).as_deref(),
            Some("")
        );
        assert_eq!(
            parse_personal(r#"(("Mail\\Box\"" "."))"#).as_deref(),
            Some("Mail\\Box\"")
        );
        assert_eq!(parse_personal("NIL NIL NIL"), None);
        assert_eq!(parse_personal("(( broken"), None);
    }

    #[test]
    fn a_plain_name_goes_under_the_prefix_and_a_full_one_stays() {
        let courier = PersonalNamespace {
            prefix: "INBOX.".into(),
            delimiter: Some('.'),
        };
        assert_eq!(courier.full_name("Processed"), "INBOX.Processed");
        assert_eq!(courier.full_name("INBOX.Done"), "INBOX.Done");
        assert_eq!(courier.full_name("inbox.Done"), "inbox.Done");
        assert_eq!(courier.full_name("INBOX"), "INBOX");
        let dovecot = PersonalNamespace {
            prefix: String::new(),
            delimiter: Some('/'),
        };
        assert_eq!(dovecot.full_name("Processed"), "Processed");
        assert_eq!(dovecot.full_name("[Gmail]/Trash"), "[Gmail]/Trash");
    }

    #[test]
    fn literal_sizes_are_read_from_the_end_of_a_line() {
        assert_eq!(literal_size(b"* NAMESPACE (({6}"), Some(6));
        assert_eq!(literal_size(b"* X {12+}"), Some(12));
        assert_eq!(literal_size(b"* NAMESPACE NIL"), None);
        assert_eq!(literal_size(b"{x}"), None);
    }
}
