use std::time::{Duration, Instant};

use super::{Rendered, render};

fn text(html: &str) -> String {
    render(html).lines.join("\n").trim().to_string()
}

// --- blocks and line breaks ---

#[test]
fn divs_and_breaks_are_lines_and_empty_ones_blank_lines() {
    let html = "<div dir=ltr>Thanks.<div><br></div><div>Priya</div></div>";
    assert_eq!(text(html), "Thanks.\n\nPriya");
    assert_eq!(text("Hi,<br><br>it works.<br>Bob"), "Hi,\n\nit works.\nBob");
}

#[test]
fn paragraphs_have_a_blank_line_but_words_paragraphs_do_not() {
    assert_eq!(text("<p>One.</p><p>Two.</p>"), "One.\n\nTwo.");
    let word = "<p class=MsoNormal>One.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>\
                <p class=MsoNormal>Two.</p><p class=MsoNormal>Three.</p>";
    assert_eq!(text(word), "One.\n\nTwo.\nThree.");
}

#[test]
fn whitespace_collapses_except_in_pre() {
    assert_eq!(text("<p>a\n   b\t c</p>"), "a b c");
    assert_eq!(text("<pre>a\n  b</pre>"), "a\n  b");
}

#[test]
fn style_script_title_and_hidden_text_are_left_out() {
    let html = "<html><head><title>T</title><style>p > a { color: red }</style></head>\
                <body><script>if (a < b) {}</script><div style=\"display: none\">preview</div>\
                Visible</body></html>";
    assert_eq!(text(html), "Visible");
}

#[test]
fn list_items_and_cells() {
    assert_eq!(text("<ul><li>one</li><li>two</li></ul>"), "- one\n- two");
    assert_eq!(text("<table><tr><td>a</td><td>b</td></tr></table>"), "a b");
}

#[test]
fn entities_are_decoded() {
    assert_eq!(text("Bob &lt;b@x.org&gt; &amp; co"), "Bob <b@x.org> & co");
}

// --- the clients' marks ---

#[test]
fn blockquotes_and_quote_containers_are_quoted() {
    let gmail = "Yes.<div class=\"gmail_quote\"><div class=\"gmail_attr\">On Tue, Bob wrote:<br></div>\
                 <blockquote class=\"gmail_quote\">Old<br>text</blockquote></div>";
    let rendered = render(gmail);
    assert!(rendered.structured);
    assert_eq!(
        rendered.lines.join("\n").trim(),
        "Yes.\n> On Tue, Bob wrote:\n> Old\n> text"
    );
    let nested = "<blockquote type=cite>a<blockquote type=cite>b</blockquote></blockquote>";
    assert_eq!(text(nested), "> a\n> > b");
}

#[test]
fn an_indent_is_not_a_quote() {
    let html = "Steps:<blockquote style=\"margin:0 0 0 40px; border: none; padding:0px\">1. Open</blockquote>";
    let rendered = render(html);
    assert!(!rendered.structured);
    assert_eq!(rendered.lines.join("\n").trim(), "Steps:\n1. Open");
}

#[test]
fn outlook_web_marks_the_history() {
    let html = "<div>Thanks</div><div id=\"appendonsend\"></div><hr tabindex=\"-1\">\
                <div id=\"divRplyFwdMsg\"><b>From:</b> A<br><b>Sent:</b> B</div><div>Old</div>";
    let rendered = render(html);
    let at = rendered.history_from.expect("a history mark");
    assert_eq!(rendered.lines[..at].join("\n").trim(), "Thanks");
}

#[test]
fn a_top_border_marks_history_only_above_a_header_block() {
    let outlook = "<p>Thanks</p><div style='border:none;border-top:solid #E1E1E1 1.0pt'>\
                   <p class=MsoNormal><b>Von:</b> A<br><b>Gesendet:</b> B<br><b>An:</b> C</p></div>";
    assert!(render(outlook).history_from.is_some());
    let styled = "<p>Thanks</p><div style='border-top: 1px solid #ccc'>My own footnote.</div>";
    let rendered = render(styled);
    assert_eq!(rendered.history_from, None);
    assert!(!rendered.structured);
}

#[test]
fn history_inside_a_quote_belongs_to_the_quoted_mail() {
    let html = "New<blockquote>Old<div id=divRplyFwdMsg>From: x</div></blockquote>After";
    assert_eq!(render(html).history_from, None);
}

#[test]
fn a_signature_mark_starts_with_a_delimiter_once() {
    let gmail = "Hi<br><span class=gmail_signature_prefix>-- </span><br>\
                 <div class=gmail_signature>Bob<br>ACME</div>";
    assert_eq!(text(gmail), "Hi\n--\nBob\nACME");
    let thunderbird = "<p>Hi</p><div class=moz-signature>Bob</div>";
    assert_eq!(text(thunderbird), "Hi\n\n--\nBob");
}

// --- robustness ---

fn quick(html: &str) -> Rendered {
    let start = Instant::now();
    let rendered = render(html);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?} for {} bytes",
        start.elapsed(),
        html.len()
    );
    rendered
}

#[test]
fn hostile_html_is_read_in_linear_time() {
    let nested = "<blockquote>".repeat(50_000) + "deep";
    let rendered = quick(&nested);
    assert_eq!(rendered.lines.concat().matches('>').count(), 8);
    let unclosed = "<div><p><b>x".repeat(30_000) + &"</div>".repeat(30_000);
    quick(&unclosed);
    let stray_ends = "</div></span></p>".repeat(50_000);
    quick(&stray_ends);
    let marks = "<div style='border-top:solid red'></div><br>".repeat(20_000);
    assert_eq!(quick(&marks).history_from, None);
    let long_line = "word ".repeat(200_000);
    assert_eq!(quick(&long_line).lines.len(), 1);
}

#[test]
fn broken_html_does_not_panic() {
    for html in [
        "",
        "<",
        "<div",
        "</",
        "<!--",
        "<![CDATA[",
        "&#xFFFFFFFF;&#0;&",
        "<title>never closed",
        "<script><!--",
        "<blockquote></blockquote></blockquote>",
        "\u{0}<p>\u{0}</p>",
    ] {
        let _ = render(html);
    }
}
