//! Sizes of mails and files as people read them: `2.0 MB`, `350 KB`, `12 bytes`.

use std::fmt;

/// A number of bytes, displayed for people (binary units, one decimal for megabytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            b if b >= 1024 * 1024 => write!(f, "{:.1} MB", b as f64 / (1024.0 * 1024.0)),
            b if b >= 1024 => write!(f, "{} KB", b / 1024),
            b => write!(f, "{b} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteSize;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(ByteSize(12).to_string(), "12 bytes");
        assert_eq!(ByteSize(350 * 1024 + 10).to_string(), "350 KB");
        assert_eq!(ByteSize(2 * 1024 * 1024).to_string(), "2.0 MB");
        assert_eq!(ByteSize(25 * 1024 * 1024 + 1).to_string(), "25.0 MB");
    }
}
