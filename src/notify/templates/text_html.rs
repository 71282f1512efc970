//! `{{text_html article.text}}`: a plain text written by a person, shown in the HTML part
//! with its shape. Paragraphs stay paragraphs, line breaks stay breaks (a signature's lines
//! do not run together), quoted lines (`> `) are set off as a quotation, and web addresses
//! become links. Everything is escaped first: nothing a customer wrote becomes markup.

use std::sync::LazyLock;

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use regex::Regex;

/// A web address in running text. What may end it (punctuation of the sentence around
/// it) is trimmed afterwards.
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s<>"]+"#).expect("a valid pattern"));

/// The helper: its one parameter is the text; links take the accent colour of the data's
/// `brand.accent` when there is one.
pub fn helper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    ctx: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let text = h
        .param(0)
        .and_then(|p| p.value().as_str())
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("text_html", 0))?;
    let accent = ctx.data()["brand"]["accent"].as_str().unwrap_or("#1d4ed8");
    out.write(&to_html(text, accent))?;
    Ok(())
}

/// `text` as HTML blocks.
pub fn to_html(text: &str, accent: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut html = String::new();
    for block in text.split("\n\n").map(|b| b.trim_matches('\n')) {
        if block.trim().is_empty() {
            continue;
        }
        let lines: Vec<&str> = block.lines().collect();
        let mut rest = lines.as_slice();
        while let Some(first) = rest.first() {
            let quoted = is_quoted(first);
            let run = rest.iter().take_while(|l| is_quoted(l) == quoted).count();
            let (these, after) = rest.split_at(run);
            if quoted {
                let inner: Vec<&str> = these.iter().map(|l| unquote(l)).collect();
                html.push_str(
                    "<blockquote style=\"margin:0 0 14px;padding:0 0 0 12px;border-left:3px solid #d1d5db;color:#4b5563;\">",
                );
                html.push_str(&to_html(&inner.join("\n"), accent));
                html.push_str("</blockquote>");
            } else {
                html.push_str("<p style=\"margin:0 0 14px;\">");
                let shown: Vec<String> = these.iter().map(|l| line(l, accent)).collect();
                html.push_str(&shown.join("<br>\n"));
                html.push_str("</p>\n");
            }
            rest = after;
        }
    }
    html
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The line without its first level of quoting.
fn unquote(line: &str) -> &str {
    let line = line.trim_start().strip_prefix('>').unwrap_or(line);
    line.strip_prefix(' ').unwrap_or(line)
}

/// One line, escaped, its web addresses as links.
fn line(text: &str, accent: &str) -> String {
    let mut html = String::new();
    let mut last = 0;
    for found in URL.find_iter(text) {
        let url = found
            .as_str()
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'']);
        let end = found.start() + url.len();
        html.push_str(&handlebars::html_escape(&text[last..found.start()]));
        let url = handlebars::html_escape(url);
        html.push_str(&format!(
            "<a href=\"{url}\" style=\"color:{accent};\">{url}</a>"
        ));
        last = end;
    }
    html.push_str(&handlebars::html_escape(&text[last..]));
    html
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn paragraphs_breaks_and_quotes_keep_their_shape() {
        let text = "Hello,\r\n\r\nPlease restart the VPN client.\r\nThen try again.\r\n\r\n\
                    > It fails since Monday.\r\n> > Older words\r\n\r\n-- \r\nCamille\r\nSupport";
        let html = to_html(text, "#123456");
        assert_eq!(
            html,
            "<p style=\"margin:0 0 14px;\">Hello,</p>\n\
             <p style=\"margin:0 0 14px;\">Please restart the VPN client.<br>\nThen try again.</p>\n\
             <blockquote style=\"margin:0 0 14px;padding:0 0 0 12px;border-left:3px solid #d1d5db;color:#4b5563;\">\
             <p style=\"margin:0 0 14px;\">It fails since Monday.</p>\n\
             <blockquote style=\"margin:0 0 14px;padding:0 0 0 12px;border-left:3px solid #d1d5db;color:#4b5563;\">\
             <p style=\"margin:0 0 14px;\">Older words</p>\n</blockquote></blockquote>\
             <p style=\"margin:0 0 14px;\">-- <br>\nCamille<br>\nSupport</p>\n"
        );
    }

    #[test]
    fn links_become_links_and_nothing_becomes_markup() {
        let html = to_html(
            "See https://status.example.com/vpn?a=1&b=2. <script>alert(1)</script> \
             \"javascript:alert(1)\"",
            "#123456",
        );
        assert!(
            html.contains(
                "<a href=\"https://status.example.com/vpn?a&#x3D;1&amp;b&#x3D;2\" style=\"color:#123456;\">\
                 https://status.example.com/vpn?a&#x3D;1&amp;b&#x3D;2</a>."
            ),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script") && !html.contains("href=\"javascript"));
    }
}
