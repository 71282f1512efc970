//! `Authentication-Results` (RFC 8601): what a receiving mail server verified, as it wrote
//! it. Only a server the operator trusts is believed, and only its topmost results: the
//! server adds its own above the message's trace, a sender can write anything below.

use crate::domain::TraceHeader;

/// One method's result in an `Authentication-Results` field: `dkim=pass header.d=x.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MethodResult {
    /// `dkim`, `dmarc`, `arc`, `spf`…, lower-cased.
    pub method: String,
    /// `pass`, `fail`, `none`…, lower-cased.
    pub result: String,
    /// Properties (`header.d`, `header.from`…), names lower-cased, values as written.
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    /// The value of property `name` (`header.d`).
    pub(super) fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One `Authentication-Results` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AuthResults {
    /// Lower-cased.
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// The results a trusted server added on top of the message: scanning from the top, the
/// first field whose authserv-id is trusted, and any trusted ones right with it, until the
/// first `Received` below them. Lower down, a trusted id proves nothing.
pub(super) fn topmost_trusted(trace: &[TraceHeader], trusted: &[String]) -> Vec<AuthResults> {
    let mut counted = Vec::new();
    for header in trace {
        match header {
            TraceHeader::Received if !counted.is_empty() => break,
            TraceHeader::Received => {}
            TraceHeader::AuthenticationResults(value) => {
                if let Some(results) = parse(value)
                    && trusted.contains(&results.authserv_id)
                {
                    counted.push(results);
                } else if !counted.is_empty() {
                    break;
                }
            }
        }
    }
    counted
}

/// Parses a field's value; `None` when it has no authserv-id. Exchange Online writes its
/// results without one (`spf=pass …; dmarc=pass …`): such a field cannot be told from
/// one a sender wrote, and is never believed.
pub(super) fn parse(value: &str) -> Option<AuthResults> {
    let cleaned = strip_comments(value);
    let mut parts = split_outside_quotes(&cleaned, ';').into_iter();
    // `authserv-id [version]`; an `=` is no part of an id (a token or a quoted string).
    let authserv_id = parts
        .next()?
        .split_whitespace()
        .next()
        .filter(|id| !id.contains('='))?
        .to_ascii_lowercase();
    let results = parts.filter_map(|part| method_result(&part)).collect();
    Some(AuthResults {
        authserv_id,
        results,
    })
}

/// `method[/version]=result [reason=…] ptype.property=value…`
fn method_result(part: &str) -> Option<MethodResult> {
    let mut words = split_outside_quotes(part.trim(), ' ')
        .into_iter()
        .filter(|w| !w.is_empty());
    let first = words.next()?;
    let (method, result) = first.split_once('=')?;
    let method = method.split('/').next()?.trim().to_ascii_lowercase();
    if method.is_empty() || method == "none" {
        return None;
    }
    let properties = words
        .filter_map(|w| {
            let (name, value) = w.split_once('=')?;
            Some((
                name.trim().to_ascii_lowercase(),
                value.trim().trim_matches('"').to_string(),
            ))
        })
        .collect();
    Some(MethodResult {
        method,
        result: result.trim().to_ascii_lowercase(),
        properties,
    })
}

/// `value` without its `(comments)`, which may nest and may hold anything.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0u32;
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => {
                escaped = false;
                if depth == 0 {
                    out.push(c);
                }
                continue;
            }
            '\\' => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => {
                depth += 1;
                continue;
            }
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// `value` split at `separator`, except inside double quotes.
fn split_outside_quotes(value: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in value.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c == separator && !quoted {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_read_into_its_methods_and_properties() {
        let r = parse(
            "mx.example.com (Postfix; 1); dkim=pass (2048-bit key) header.d=acme.example \
             header.s=\"s1\"; spf=pass smtp.mailfrom=acme.example; DMARC=Pass (p=none) header.from=Acme.example",
        )
        .unwrap();
        assert_eq!(r.authserv_id, "mx.example.com");
        assert_eq!(r.results.len(), 3);
        assert_eq!(r.results[0].method, "dkim");
        assert_eq!(r.results[0].property("header.d"), Some("acme.example"));
        assert_eq!(r.results[0].property("header.s"), Some("s1"));
        assert_eq!(r.results[2].method, "dmarc");
        assert_eq!(r.results[2].result, "pass");
        assert_eq!(r.results[2].property("header.from"), Some("Acme.example"));
        assert!(parse("mx.example.com; none").unwrap().results.is_empty());
        assert!(parse("  ").is_none());
        // Exchange Online's form has no authserv-id: nobody can be trusted for it.
        assert!(
            parse(
                "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=acme.example; dkim=pass \
                 (signature was verified) header.d=acme.example;dmarc=pass action=none \
                 header.from=acme.example;compauth=pass reason=100"
            )
            .is_none()
        );
    }

    #[test]
    fn only_the_topmost_trusted_results_count() {
        let ar = |v: &str| TraceHeader::AuthenticationResults(v.into());
        let trusted = vec!["mx.example.com".to_string()];
        // The sender's own "pass" below the server's Received line, under the server's
        // "fail" at the top.
        let trace = vec![
            ar("mx.example.com; dmarc=fail header.from=acme.example"),
            TraceHeader::Received,
            ar("mx.example.com; dmarc=pass header.from=acme.example"),
            TraceHeader::Received,
        ];
        let counted = topmost_trusted(&trace, &trusted);
        assert_eq!(counted.len(), 1);
        assert_eq!(counted[0].results[0].result, "fail");
        // Results of an untrusted server are not counted, wherever they are.
        let trace = vec![ar("evil.example; dmarc=pass"), TraceHeader::Received];
        assert!(topmost_trusted(&trace, &trusted).is_empty());
        // Two fields of the trusted server together at the top both count.
        let trace = vec![
            ar("mx.example.com; dkim=pass header.d=acme.example"),
            ar("mx.example.com; dmarc=pass header.from=acme.example"),
            TraceHeader::Received,
        ];
        assert_eq!(topmost_trusted(&trace, &trusted).len(), 2);
    }
}
