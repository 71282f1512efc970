//! What an HTML element means for the text of a reply: where it breaks lines, whether what
//! it holds is quoted, hidden or left out, and whether it marks where a client put the
//! quoted mail or the writer's signature.
//!
//! The clients' marks, as they write them:
//!
//! * Gmail: `<div class="gmail_quote">` around the attribution (`gmail_attr`) and a
//!   `<blockquote class="gmail_quote">`; the signature in `<div class="gmail_signature">`.
//! * Apple Mail, Thunderbird: `<blockquote type="cite">`; Thunderbird's attribution in
//!   `<div class="moz-cite-prefix">`, its signature in `class="moz-signature"`.
//! * Yahoo: `<div class="yahoo_quoted">` around attribution and quote.
//! * Mail.ru, Yandex: a `<blockquote>` (Mail.ru's with a left border).
//! * Outlook on the web, Outlook.com: `<div id="appendonsend">`, then `<hr>` and
//!   `<div id="divRplyFwdMsg">` with the header block; the quoted mail follows as siblings,
//!   not children, so everything from the mark to the end is history.
//! * Outlook desktop (Word): a `<div style="border:none;border-top:solid #E1E1E1 1.0pt…">`
//!   holding the header block, the quoted mail again below it; older versions a
//!   `<div class="OutlookMessageHeader">`. Hotmail: `<hr id="stopSpelling">`; Zimbra:
//!   `<hr id="zwchr">`; Outlook for Mac: `mail-editor-reference-message-container`.
//!
//! A `<blockquote>` styled `border: none` is an indent the writer made (Gmail's and Apple
//! Mail's "indent" button), not a quote.

use html5ever::tokenizer::Tag;
use html5ever::tokenizer::states::RawKind;
use html5ever::{LocalName, local_name};

/// How an element breaks the text around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Break {
    /// Inline: no break.
    None,
    /// A block: what follows starts a new line.
    Line,
    /// A paragraph with a margin: a blank line after it.
    Paragraph,
    /// A table cell: a space before it.
    Cell,
    /// A list item: a new line starting with `- `.
    Item,
}

/// What holds for the text inside an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    None,
    /// Quoted: one `>` level more.
    Quote,
    /// A client's quote container (attribution and quote): at least one `>` level.
    Container,
    /// Not shown: hidden, a style sheet, a script, a title.
    Hidden,
    /// Preformatted: spaces and line breaks kept.
    Pre,
}

/// A mark an element sets where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    /// Everything from here is the quoted or forwarded mail. `checked`: only if a header
    /// block follows (Outlook's top border is a mere style).
    History { checked: bool },
    /// The writer's signature starts here.
    Signature,
}

/// What the renderer needs to know about a start tag.
#[derive(Debug, Clone, Copy)]
pub(super) struct Element {
    pub breaks: Break,
    pub scope: Scope,
    pub mark: Option<Mark>,
    /// For elements whose content the tokenizer must read as raw text.
    pub raw: Option<RawKind>,
}

/// The attributes that carry the clients' marks: `id` and `class` lowercased, `style`
/// lowercased without its whitespace (so that `border-top: solid` and `border-top:solid`
/// read the same).
struct Attributes {
    id: String,
    classes: String,
    style: String,
    hidden: bool,
}

impl Attributes {
    fn of(tag: &Tag) -> Self {
        let mut attributes = Attributes {
            id: String::new(),
            classes: String::new(),
            style: String::new(),
            hidden: false,
        };
        for a in &tag.attrs {
            match a.name.local {
                local_name!("id") => attributes.id = a.value.to_lowercase(),
                local_name!("class") => attributes.classes = a.value.to_lowercase(),
                local_name!("style") => {
                    attributes.style = a
                        .value
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .flat_map(char::to_lowercase)
                        .collect();
                }
                local_name!("hidden") => attributes.hidden = true,
                _ => {}
            }
        }
        attributes
    }

    fn has_class(&self, matches: impl Fn(&str) -> bool) -> bool {
        self.classes.split_whitespace().any(matches)
    }
}

/// Elements never closed, which the renderer must not wait for.
pub(super) fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("param")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
    )
}

fn breaks(name: &LocalName, attributes: &Attributes) -> Break {
    match *name {
        local_name!("p") => {
            // Word's paragraphs have no margin: a blank line there is an empty paragraph.
            if attributes.has_class(|c| c.starts_with("mso")) {
                Break::Line
            } else {
                Break::Paragraph
            }
        }
        local_name!("h1")
        | local_name!("h2")
        | local_name!("h3")
        | local_name!("h4")
        | local_name!("h5")
        | local_name!("h6")
        | local_name!("ul")
        | local_name!("ol")
        | local_name!("table") => Break::Paragraph,
        local_name!("td") | local_name!("th") => Break::Cell,
        local_name!("li") => Break::Item,
        local_name!("address")
        | local_name!("article")
        | local_name!("aside")
        | local_name!("blockquote")
        | local_name!("body")
        | local_name!("caption")
        | local_name!("center")
        | local_name!("dd")
        | local_name!("details")
        | local_name!("div")
        | local_name!("dl")
        | local_name!("dt")
        | local_name!("fieldset")
        | local_name!("figcaption")
        | local_name!("figure")
        | local_name!("footer")
        | local_name!("form")
        | local_name!("header")
        | local_name!("hr")
        | local_name!("html")
        | local_name!("main")
        | local_name!("nav")
        | local_name!("pre")
        | local_name!("section")
        | local_name!("summary")
        | local_name!("tr") => Break::Line,
        _ => Break::None,
    }
}

/// Whether a `<blockquote>` is a quote rather than an indent.
fn blockquote_quotes(style: &str) -> bool {
    let borderless = style.contains("border:none") || style.contains("border:0");
    !borderless || style.contains("border-left:")
}

fn scope(name: &LocalName, attributes: &Attributes) -> (Scope, Option<RawKind>) {
    let raw = match *name {
        local_name!("style")
        | local_name!("xmp")
        | local_name!("iframe")
        | local_name!("noembed")
        | local_name!("noframes") => Some(RawKind::Rawtext),
        local_name!("script") => Some(RawKind::ScriptData),
        local_name!("title") | local_name!("textarea") => Some(RawKind::Rcdata),
        _ => None,
    };
    if raw.is_some() || *name == local_name!("template") {
        return (Scope::Hidden, raw);
    }
    let hidden = attributes.hidden || attributes.style.contains("display:none");
    let scope = if hidden {
        Scope::Hidden
    } else if *name == local_name!("blockquote") && blockquote_quotes(&attributes.style) {
        Scope::Quote
    } else if attributes.has_class(|c| {
        c.ends_with("gmail_quote")
            || c.ends_with("gmail_quote_container")
            || c.ends_with("yahoo_quoted")
            || c.ends_with("moz-cite-prefix")
            || c.ends_with("protonmail_quote")
    }) {
        Scope::Container
    } else if *name == local_name!("pre") {
        Scope::Pre
    } else {
        Scope::None
    };
    (scope, None)
}

fn mark(name: &LocalName, attributes: &Attributes) -> Option<Mark> {
    let id = attributes.id.as_str();
    let history = id.ends_with("divrplyfwdmsg")
        || id == "appendonsend"
        || id == "mail-editor-reference-message-container"
        || (*name == local_name!("hr") && (id == "stopspelling" || id == "zwchr"))
        || id.contains("outlookmessageheader")
        || attributes.has_class(|c| c.contains("outlookmessageheader"));
    if history {
        return Some(Mark::History { checked: false });
    }
    if *name == local_name!("div") {
        let style = &attributes.style;
        if style.contains("border-top:") && style.contains("solid") {
            return Some(Mark::History { checked: true });
        }
    }
    let signature = id == "signature"
        || id.ends_with("mailsignature")
        || attributes.has_class(|c| {
            c.ends_with("gmail_signature") || c.ends_with("moz-signature") || c == "signature"
        });
    signature.then_some(Mark::Signature)
}

/// What the start tag `tag` means.
pub(super) fn element(tag: &Tag) -> Element {
    let name = &tag.name;
    let attributes = Attributes::of(tag);
    let (scope, raw) = scope(name, &attributes);
    Element {
        breaks: breaks(name, &attributes),
        scope,
        mark: mark(name, &attributes),
        raw,
    }
}
