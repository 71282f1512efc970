//! A mail's own HTML on the ticket page, made safe first: only a harmless subset of tags
//! and attributes is kept (no script, no style, no event handler, no form, no frame),
//! Outlook's conditional comments and every `<style>` block go with their content, links
//! open outside the portal and tell nothing of it (`rel="noopener noreferrer"`), and an
//! image shows only when it is one of the mail's own inline parts (`cid:`), served from
//! the stored file; a remote image (a tracker, often) is dropped, never fetched.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::domain::Attachment;

/// `html` cleaned for the page of ticket `number`, whose inline images are `files`.
pub fn customer_html(html: &str, number: &str, files: &[Attachment]) -> String {
    // The inline parts by Content-ID, as `cid:` URLs name them (without the angle
    // brackets of the header), to the address that serves each.
    let images: HashMap<String, String> = files
        .iter()
        .filter(|f| f.refused_reason.is_none())
        .filter_map(|f| {
            let id = f.content_id.as_deref()?.trim().trim_matches(['<', '>']);
            let sha = f.sha256.as_deref()?;
            Some((
                id.to_ascii_lowercase(),
                format!("/tickets/{number}/images/{sha}"),
            ))
        })
        .collect();
    ammonia::Builder::default()
        .url_schemes(HashSet::from(["http", "https", "mailto", "tel", "cid"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element, attribute, value| {
            image_source(&images, element, attribute, value)
        })
        .clean(html)
        .to_string()
}

/// What an attribute becomes: an image's source only if it names an inline part of the
/// mail (by `cid:`), any other attribute as it is (the builder has checked it already).
fn image_source<'v>(
    images: &HashMap<String, String>,
    element: &str,
    attribute: &str,
    value: &'v str,
) -> Option<Cow<'v, str>> {
    if element != "img" || attribute != "src" {
        return match value.trim_start().get(..4) {
            // A link to a part of the mail means nothing outside it.
            Some(scheme) if scheme.eq_ignore_ascii_case("cid:") => None,
            _ => Some(Cow::Borrowed(value)),
        };
    }
    let id = value.trim().get(4..).filter(|_| {
        value
            .trim()
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case("cid:"))
    })?;
    let id = percent_decoded(id).to_ascii_lowercase();
    images.get(&id).map(|path| Cow::Owned(path.clone()))
}

/// `cid:` URLs may escape characters of the Content-ID (RFC 2392): `%40` for `@`.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(content_id: &str, sha: &str) -> Attachment {
        Attachment {
            filename: "image001.png".into(),
            content_type: "image/png".into(),
            size: 10,
            sha256: Some(sha.into()),
            content_id: Some(content_id.into()),
            inline: true,
            refused_reason: None,
        }
    }

    #[test]
    fn scripts_styles_handlers_and_conditional_comments_go() {
        let html = r#"<html><head><style>p{color:red}</style></head><body>
            <!--[if gte mso 9]><xml><o:OfficeDocumentSettings/></xml><![endif]-->
            <p onclick="alert(1)" style="color:red">Hello <b>there</b></p>
            <script>alert(2)</script><iframe src="https://evil.example"></iframe>
            <form action="https://evil.example"><input name="x"></form>
            <a href="javascript:alert(3)">bad</a> <a href="https://acme.example/doc">doc</a>
            </body></html>"#;
        let clean = customer_html(html, "2612N00001", &[]);
        for gone in [
            "style",
            "color:red",
            "onclick",
            "script",
            "alert",
            "iframe",
            "form",
            "input",
            "OfficeDocumentSettings",
            "javascript",
        ] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
        assert!(clean.contains("<p>Hello <b>there</b></p>"), "{clean}");
        assert!(
            clean.contains(r#"<a href="https://acme.example/doc" target="_blank" rel="noopener noreferrer nofollow">doc</a>"#),
            "{clean}"
        );
    }

    #[test]
    fn inline_images_show_from_their_stored_file_and_remote_ones_are_dropped() {
        let files = [image("<image001.png@01DA1234.5678ABCD>", "ab12")];
        let html = r#"<p><img src="cid:image001.png@01DA1234.5678ABCD" alt="screen">
            <img src="CID:image001.png%4001DA1234.5678ABCD">
            <img src="cid:unknown@x"><img src="https://tracker.example/p.gif">
            <a href="cid:image001.png@01DA1234.5678ABCD">part</a></p>"#;
        let clean = customer_html(html, "2612N00001", &files);
        assert_eq!(
            clean
                .matches(r#"src="/tickets/2612N00001/images/ab12""#)
                .count(),
            2,
            "{clean}"
        );
        assert!(clean.contains(r#"alt="screen""#));
        assert!(
            !clean.contains("tracker") && !clean.contains("cid:"),
            "{clean}"
        );
    }
}
