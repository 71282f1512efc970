//! What the proxy changes, judged one line at a time: the capabilities the server is to
//! lack, and Courier's late news of new mail. Apart from the sockets, so that the rules
//! read as a list.

use super::ProxyOptions;

/// What becomes of a server response, judged by its first line.
pub(super) enum Verdict {
    Pass,
    /// This text instead of the first line (with lines told before it; CRLF included).
    Replace(String),
    /// Not passed on: neither the line nor its literals and the lines after them.
    Drop,
}

/// The commands a server without the capability does not know, in upper case.
const COMMANDS: &[(&str, &[&str])] = &[
    ("IDLE", &["IDLE"]),
    ("MOVE", &["MOVE", "UID MOVE"]),
    ("UIDPLUS", &["UID EXPUNGE"]),
];

/// The response codes only a server with the capability sends.
const CODES: &[(&str, &[&str])] = &[("UIDPLUS", &["APPENDUID", "COPYUID"])];

/// The commands whose answer tells the client how many messages the folder has.
const TELLING: &[&str] = &["NOOP", "SELECT", "EXAMINE"];

/// The rules for one connection, with what it has told the client so far.
pub(super) struct Rules {
    options: ProxyOptions,
    /// Messages the client was told exist in the selected folder.
    told: u32,
    /// Messages the server said exist.
    exists: u32,
    /// The last `* N RECENT` held back, told with the held messages.
    recent: Option<u32>,
    /// The tag of the NOOP, SELECT or EXAMINE underway, during which news passes.
    telling: Option<String>,
}

impl Rules {
    pub(super) fn new(options: ProxyOptions) -> Self {
        Rules {
            options,
            told: 0,
            exists: 0,
            recent: None,
            telling: None,
        }
    }

    /// A command from the client, its tag apart: the server's answer when the server we
    /// play would not know it, given in the server's place; None to pass it on.
    pub(super) fn command(&mut self, tag: &str, command: &str) -> Option<String> {
        let upper = command.to_ascii_uppercase();
        let name = match upper.split_whitespace().collect::<Vec<_>>()[..] {
            ["UID", second, ..] => format!("UID {second}"),
            [first, ..] => first.to_string(),
            [] => return None,
        };
        let unknown = COMMANDS
            .iter()
            .any(|(capability, names)| self.removed(capability) && names.contains(&&*name));
        if unknown {
            return Some(format!(
                "{tag} BAD Error in IMAP command {name}: Unknown command.\r\n"
            ));
        }
        if self.options.hold_new_mail_until_noop && TELLING.contains(&&*name) {
            self.telling = Some(tag.to_string());
        }
        None
    }

    /// A response from the server, by its first line.
    pub(super) fn response(&mut self, line: &str) -> Verdict {
        let mut told_first = String::new();
        if self.options.hold_new_mail_until_noop {
            match self.news(line) {
                Some(lines) => told_first = lines,
                None => return Verdict::Drop,
            }
        }
        match self.without_removed(line) {
            None if told_first.is_empty() => Verdict::Pass,
            None => Verdict::Replace(told_first + line),
            Some(line) => Verdict::Replace(told_first + &line),
        }
    }

    /// Courier's snapshot of the folder: None to hold the response back; else the lines to
    /// tell before it (the held messages, before the answer to NOOP).
    fn news(&mut self, line: &str) -> Option<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let telling = self.telling.is_some();
        if let ["*", n, kind, ..] = words[..]
            && let Ok(n) = n.parse::<u32>()
        {
            match &*kind.to_ascii_uppercase() {
                "EXISTS" => {
                    self.exists = n;
                    if !telling && n > self.told {
                        return None;
                    }
                    self.told = n;
                }
                "RECENT" if !telling && self.exists > self.told => {
                    self.recent = Some(n);
                    return None;
                }
                "RECENT" => self.recent = None,
                "FETCH" if !telling && n > self.told => return None,
                // A held message expunged before the client heard of it: nothing to tell.
                "EXPUNGE" => {
                    self.exists = self.exists.saturating_sub(1);
                    if n > self.told {
                        return None;
                    }
                    self.told -= 1;
                }
                _ => {}
            }
            return Some(String::new());
        }
        let mut lines = String::new();
        if telling && words.first().copied() == self.telling.as_deref() {
            self.telling = None;
            if self.exists > self.told {
                lines = format!("* {} EXISTS\r\n", self.exists);
                self.told = self.exists;
                if let Some(recent) = self.recent.take() {
                    lines += &format!("* {recent} RECENT\r\n");
                }
            }
        }
        Some(lines)
    }

    /// The line without the removed capabilities, nor the response codes that come with
    /// them; None when that changes nothing.
    fn without_removed(&self, line: &str) -> Option<String> {
        if self.options.remove_capabilities.is_empty() {
            return None;
        }
        // ASCII upper case keeps every byte where it was: positions hold in both.
        let upper = line.to_ascii_uppercase();
        let list = if upper.starts_with("* CAPABILITY ") {
            Some(("* CAPABILITY ".len(), line.trim_end().len()))
        } else {
            upper.find("[CAPABILITY ").and_then(|at| {
                let start = at + "[CAPABILITY ".len();
                Some((start, start + line[start..].find(']')?))
            })
        };
        let mut out = line.to_string();
        if let Some((start, end)) = list {
            let kept: Vec<&str> = line[start..end]
                .split(' ')
                .filter(|c| !self.removed(c))
                .collect();
            out = format!("{}{}{}", &line[..start], kept.join(" "), &line[end..]);
        }
        for (capability, codes) in CODES {
            for code in codes.iter().filter(|_| self.removed(capability)) {
                let upper = out.to_ascii_uppercase();
                if let Some(start) = upper.find(&format!("[{code} "))
                    && let Some(len) = out[start..].find("] ")
                {
                    out.replace_range(start..start + len + 2, "");
                }
            }
        }
        (out != line).then_some(out)
    }

    fn removed(&self, capability: &str) -> bool {
        let mut removed = self.options.remove_capabilities.iter();
        removed.any(|r| r.eq_ignore_ascii_case(capability))
    }
}
