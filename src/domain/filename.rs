//! Attachment names from strangers, made safe to keep and show, and the content type a
//! name implies: never trust a filename.

/// The longest file name kept, in bytes: most file systems allow 255.
const MAX_FILENAME_BYTES: usize = 180;

/// Makes an untrusted attachment name safe to store and show: no directory part, no
/// control or reserved characters, no leading dots, bounded length, never empty.
pub fn sanitize_filename(name: Option<&str>, content_type: &str) -> String {
    let name = name.unwrap_or("");
    // Keep only the last path component, whichever separator the sender's system used.
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut clean: String = base
        .chars()
        .map(|c| match c {
            c if c.is_control() => '_',
            '<' | '>' | ':' | '"' | '|' | '?' | '*' | '\u{202e}' | '\u{202d}' | '\u{200e}'
            | '\u{200f}' => '_',
            c => c,
        })
        .collect();
    clean = clean
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .to_string();
    if clean.is_empty() || clean.chars().all(|c| c == '_') {
        clean = format!("attachment{}", default_extension(content_type));
    }
    if is_reserved_on_windows(&clean) {
        clean.insert(0, '_');
    }
    if clean.len() > MAX_FILENAME_BYTES {
        let (stem, ext) = match clean.rfind('.') {
            Some(i) if clean.len() - i <= 16 => (&clean[..i], &clean[i..]),
            _ => (clean.as_str(), ""),
        };
        let mut cut = MAX_FILENAME_BYTES - ext.len();
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        clean = format!("{}{ext}", &stem[..cut]);
    }
    clean
}

/// Whether Windows refuses `name` as a file name: a device name (CON, PRN, AUX, NUL,
/// COM1–9, LPT1–9), alone or before an extension, in any case. An agent saving `aux.txt`
/// from the portal would be told the name is invalid.
fn is_reserved_on_windows(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        _ => match (upper.get(..3), upper.get(3..)) {
            (Some("COM" | "LPT"), Some(digit)) => {
                digit.len() == 1 && digit != "0" && digit.as_bytes()[0].is_ascii_digit()
            }
            _ => false,
        },
    }
}

/// Content types by file extension, both ways: the extension a nameless file gets from its
/// type, and the type an agent's file gets from its name (a file on disk has no type).
/// The first extension of a type is the one a nameless file gets.
const KNOWN_TYPES: &[(&str, &str)] = &[
    ("eml", "message/rfc822"),
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("csv", "text/csv"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
];

fn default_extension(content_type: &str) -> String {
    let content_type = match content_type {
        "image/jpg" => "image/jpeg",
        other => other,
    };
    let ext = KNOWN_TYPES
        .iter()
        .find(|(_, t)| *t == content_type)
        .map_or("bin", |(ext, _)| ext);
    format!(".{ext}")
}

/// The content type of a file named `name`, guessed from its extension (any case);
/// `application/octet-stream` when the extension is unknown or absent.
pub fn content_type_from_name(name: &str) -> &'static str {
    name.rsplit_once('.')
        .and_then(|(_, ext)| {
            KNOWN_TYPES
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(ext))
        })
        .map_or("application/octet-stream", |(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_device_names_get_a_prefix() {
        for (given, kept) in [
            ("CON", "_CON"),
            ("aux.txt", "_aux.txt"),
            ("NUL.pdf", "_NUL.pdf"),
            ("com1.log", "_com1.log"),
            ("LPT9", "_LPT9"),
            ("COM0.txt", "COM0.txt"),
            ("console.txt", "console.txt"),
            ("auxiliary.doc", "auxiliary.doc"),
        ] {
            assert_eq!(
                sanitize_filename(Some(given), "text/plain"),
                kept,
                "{given}"
            );
        }
    }

    #[test]
    fn hostile_names_are_neutralised() {
        assert_eq!(
            sanitize_filename(Some("../../etc/passwd"), "text/plain"),
            "passwd"
        );
        assert_eq!(
            sanitize_filename(Some("C:\\Windows\\evil.exe"), ""),
            "evil.exe"
        );
        assert_eq!(
            sanitize_filename(Some("..."), "application/pdf"),
            "attachment.pdf"
        );
        assert_eq!(sanitize_filename(Some(".bashrc"), ""), "bashrc");
        assert_eq!(sanitize_filename(Some("a\r\nb\0c.txt"), ""), "a__b_c.txt");
        assert_eq!(
            sanitize_filename(Some("invoice\u{202e}fdp.exe"), ""),
            "invoice_fdp.exe"
        );
        assert_eq!(sanitize_filename(None, "message/rfc822"), "attachment.eml");
        let long = format!("{}.pdf", "é".repeat(300));
        let cut = sanitize_filename(Some(&long), "");
        assert!(
            cut.len() <= MAX_FILENAME_BYTES && cut.ends_with(".pdf"),
            "{cut}"
        );
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type_from_name("crash.LOG"), "text/plain");
        assert_eq!(content_type_from_name("scan.final.pdf"), "application/pdf");
        assert_eq!(content_type_from_name("photo.JPEG"), "image/jpeg");
        assert_eq!(
            content_type_from_name("firmware.bin"),
            "application/octet-stream"
        );
        assert_eq!(content_type_from_name("README"), "application/octet-stream");
        assert_eq!(sanitize_filename(None, "image/jpg"), "attachment.jpg");
        assert_eq!(sanitize_filename(None, "text/plain"), "attachment.txt");
        assert_eq!(sanitize_filename(None, "video/x-unknown"), "attachment.bin");
    }
}
