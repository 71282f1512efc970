//! The text of an HTML body, read with its structure: what a client quoted comes out as
//! `>` lines, where it put the quoted mail is noted, and blocks, paragraphs and line breaks
//! are where the writer saw them (see `elements.rs` for the marks of each client).
//!
//! The HTML is read with html5ever's tokenizer, one token at a time, without building a
//! tree: a stack of the open elements says what holds for the text in them. An end tag
//! closes the elements opened after its own (as a browser does for unclosed `<p>` or
//! `<li>`); one with no open element of its name is ignored, in constant time (a count per
//! name). Time and memory are linear in the input.

mod elements;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::HashMap;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{LocalName, TokenizerResult, local_name};

use elements::{Break, Element, Mark, Scope, element, is_void};

/// Quote levels deeper than this are written as this many `>`: one is enough to tell a
/// quote, and a prefix per level would make 100,000 nested quotes quadratic.
const MAX_LEVEL: usize = 8;
/// History marks kept; the first that holds is used.
const MAX_MARKS: usize = 16;

/// An HTML body as text.
#[derive(Debug, Default)]
pub(super) struct Rendered {
    /// The lines, quoted ones starting with `> ` (one per level); blank lines are empty.
    pub lines: Vec<String>,
    /// The line where the quoted or forwarded mail starts, when a client marked it
    /// (Outlook's `divRplyFwdMsg`, a Hotmail `stopSpelling` rule…).
    pub history_from: Option<usize>,
    /// Whether the structure marks a quote or a history at all.
    pub structured: bool,
}

/// `html` as text (see the module docs).
pub(super) fn render(html: &str) -> Rendered {
    let tokenizer = Tokenizer::new(Renderer::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks to stop for a script or an encoding: one call reads it all.
    while !matches!(tokenizer.feed(&input), TokenizerResult::Done) {}
    tokenizer.end();
    tokenizer.sink.state.take().finish()
}

/// The token sink: the state lives in a cell, as the tokenizer hands tokens over by `&`.
#[derive(Default)]
struct Renderer {
    state: RefCell<State>,
}

impl TokenSink for Renderer {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return state.open(&tag),
                TagKind::EndTag => state.close(&tag.name),
            },
            Token::CharacterTokens(text) => state.text(&text),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// An element opened and not closed yet.
struct Open {
    name: LocalName,
    breaks: Break,
    scope: Scope,
}

/// What has been read so far.
#[derive(Default)]
struct State {
    /// Finished lines, each with its quote level.
    lines: Vec<(usize, String)>,
    current: String,
    /// The quote level of `current`, set by its first character.
    current_level: usize,
    /// Whitespace was read since the last character of `current`.
    space: bool,
    open: Vec<Open>,
    /// How many elements of each name are open.
    open_names: HashMap<LocalName, usize>,
    quotes: usize,
    containers: usize,
    hidden: usize,
    pre: usize,
    /// A signature mark was read: a `--` line goes before the next line, unless it is one.
    signature: bool,
    /// Where history starts, and whether a header block must be found there.
    history: Vec<(usize, bool)>,
    structured: bool,
}

impl State {
    fn level(&self) -> usize {
        if self.quotes == 0 && self.containers > 0 {
            1
        } else {
            self.quotes
        }
    }

    fn open(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name = &tag.name;
        if *name == local_name!("br") {
            self.end_line(true);
            return TokenSinkResult::Continue;
        }
        let e: Element = element(tag);
        self.start(e.breaks);
        if self.hidden == 0 {
            self.mark(e.mark);
        }
        if is_void(name) || tag.self_closing {
            self.finish_element(e.breaks);
        } else {
            self.enter(e.scope);
            *self.open_names.entry(name.clone()).or_default() += 1;
            self.open.push(Open {
                name: name.clone(),
                breaks: e.breaks,
                scope: e.scope,
            });
        }
        match e.raw {
            Some(kind) => TokenSinkResult::RawData(kind),
            None => TokenSinkResult::Continue,
        }
    }

    fn close(&mut self, name: &LocalName) {
        if *name == local_name!("br") {
            // `</br>` is read as `<br>`, as browsers do.
            self.end_line(true);
            return;
        }
        if self.open_names.get(name).is_none_or(|&n| n == 0) {
            if *name == local_name!("p") {
                self.end_line(false);
            }
            return;
        }
        while let Some(open) = self.open.pop() {
            if let Some(n) = self.open_names.get_mut(&open.name) {
                *n = n.saturating_sub(1);
            }
            self.leave(open.scope);
            self.finish_element(open.breaks);
            if open.name == *name {
                break;
            }
        }
    }

    fn enter(&mut self, scope: Scope) {
        match scope {
            Scope::Quote => self.quotes += 1,
            Scope::Container => self.containers += 1,
            Scope::Hidden => self.hidden += 1,
            Scope::Pre => self.pre += 1,
            Scope::None => {}
        }
        if matches!(scope, Scope::Quote | Scope::Container) && self.hidden == 0 {
            self.structured = true;
        }
    }

    fn leave(&mut self, scope: Scope) {
        let depth = match scope {
            Scope::Quote => &mut self.quotes,
            Scope::Container => &mut self.containers,
            Scope::Hidden => &mut self.hidden,
            Scope::Pre => &mut self.pre,
            Scope::None => return,
        };
        *depth = depth.saturating_sub(1);
    }

    fn mark(&mut self, mark: Option<Mark>) {
        match mark {
            // History inside a quote belongs to the quoted mail, not to this one.
            Some(Mark::History { checked }) if self.level() == 0 => {
                self.end_line(false);
                if self.history.len() < MAX_MARKS {
                    self.history.push((self.lines.len(), checked));
                }
            }
            Some(Mark::Signature) => {
                self.end_line(false);
                self.signature = true;
            }
            _ => {}
        }
    }

    /// Where an element starts.
    fn start(&mut self, breaks: Break) {
        match breaks {
            Break::None => {}
            Break::Cell => self.space = true,
            Break::Line | Break::Paragraph => self.end_line(false),
            Break::Item => {
                self.end_line(false);
                self.push_str("- ");
            }
        }
    }

    /// Where an element ends.
    fn finish_element(&mut self, breaks: Break) {
        match breaks {
            Break::None | Break::Cell => {}
            Break::Line | Break::Item => self.end_line(false),
            Break::Paragraph => {
                self.end_line(false);
                if self.lines.last().is_some_and(|(_, l)| !l.trim().is_empty()) {
                    self.lines.push((0, String::new()));
                }
            }
        }
    }

    fn text(&mut self, text: &str) {
        if self.hidden > 0 {
            return;
        }
        for c in text.chars() {
            if self.pre > 0 {
                match c {
                    '\n' => self.end_line(true),
                    '\r' => {}
                    c => self.push(c),
                }
            } else if c == '\u{a0}' {
                // A no-break space is kept: `<p>&nbsp;</p>` is how Word writes a blank line.
                self.push(' ');
            } else if c.is_whitespace() {
                self.space = true;
            } else {
                self.push(c);
            }
        }
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            self.push(c);
        }
    }

    fn push(&mut self, c: char) {
        if self.current.is_empty() {
            self.current_level = self.level();
        } else if self.space {
            self.current.push(' ');
        }
        self.space = false;
        self.current.push(c);
    }

    /// Ends the current line; an empty one only when `always` (a `<br>`).
    fn end_line(&mut self, always: bool) {
        self.space = false;
        if self.current.is_empty() && !always {
            return;
        }
        let line = std::mem::take(&mut self.current);
        let level = if line.is_empty() {
            0
        } else {
            self.current_level
        };
        if self.signature && !line.trim().is_empty() {
            self.signature = false;
            let after_delimiter = self
                .lines
                .iter()
                .rev()
                .find(|(_, l)| !l.trim().is_empty())
                .is_some_and(|(_, l)| l.trim() == "--");
            if !after_delimiter && line.trim() != "--" {
                self.lines.push((0, "--".to_string()));
            }
        }
        self.lines.push((level, line));
    }

    /// The lines, quoted ones prefixed, and the first history mark that holds.
    fn finish(mut self) -> Rendered {
        self.end_line(false);
        let lines: Vec<String> = self
            .lines
            .into_iter()
            .map(|(level, line)| {
                let line = line.trim_end();
                if line.trim_start().is_empty() {
                    String::new()
                } else {
                    format!("{}{line}", "> ".repeat(level.min(MAX_LEVEL)))
                }
            })
            .collect();
        let views: Vec<&str> = lines.iter().map(String::as_str).collect();
        let history_from = self
            .history
            .iter()
            .find(|&&(at, checked)| !checked || super::headers::looks_like_header_block(&views, at))
            .map(|&(at, _)| at);
        Rendered {
            structured: self.structured || history_from.is_some(),
            history_from,
            lines,
        }
    }
}
