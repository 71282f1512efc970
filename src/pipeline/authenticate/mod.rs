//! Who really sent a mail. Anyone can write any From address; what counts is whether its
//! domain is authenticated: by the topmost `Authentication-Results` of a mail server the
//! operator trusts (`dmarc=pass`, an aligned `dkim=pass`, or `arc=pass` where trusted), or
//! by a DKIM signature ticketgate verifies itself, aligned with the From domain. What rests
//! on it is the policies' business (`[authentication] agents` and `customers`), decided
//! where a mail meets its ticket.

mod dns;
mod results;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mail_auth::common::parse::TxtRecordParser as _;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters};

pub use dns::DnsCache;

use crate::config::AuthenticationSettings;
use crate::domain::{EmailAddress, InboundMail};

/// Whether a mail's From domain is authenticated, and how that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderCheck {
    pub verified: bool,
    /// What decided, for `explain`, the article and the logs: `dmarc=pass from
    /// mx.example.com`, `no trusted Authentication-Results and no DKIM signature`.
    pub how: String,
}

impl SenderCheck {
    fn verified(how: String) -> Self {
        Self {
            verified: true,
            how,
        }
    }

    fn unverified(how: impl Into<String>) -> Self {
        Self {
            verified: false,
            how: how.into(),
        }
    }
}

/// Checks senders, with the DNS answers of earlier checks kept.
pub struct Authenticator {
    trusted: Vec<String>,
    trust_arc: bool,
    verify: bool,
    timeout: Duration,
    /// Made at the first DKIM check: most mail never needs one.
    resolver: OnceLock<Option<MessageAuthenticator>>,
    cache: DnsCache,
    verified: AtomicU64,
    unverified: AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("trusted", &self.trusted)
            .field("trust_arc", &self.trust_arc)
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn from_settings(settings: &AuthenticationSettings) -> Self {
        Self {
            trusted: settings.trusted_authserv_ids.clone(),
            trust_arc: settings.trust_arc,
            verify: settings.verify,
            timeout: settings.dns_timeout,
            resolver: OnceLock::new(),
            cache: DnsCache::default(),
            verified: AtomicU64::new(0),
            unverified: AtomicU64::new(0),
        }
    }

    /// The DNS answers kept: tests put the keys they sign with here.
    pub fn dns_cache(&self) -> &DnsCache {
        &self.cache
    }

    /// How many checks found the sender verified, and how many did not, since start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.verified.load(Ordering::Relaxed),
            self.unverified.load(Ordering::Relaxed),
        )
    }

    /// Whether the From domain of `mail` (whose sender is `from`) is authenticated.
    pub async fn check(
        &self,
        mail: &InboundMail<'_>,
        raw: &[u8],
        from: &EmailAddress,
    ) -> SenderCheck {
        let check = self.decide(mail, raw, from).await;
        let counter = if check.verified {
            &self.verified
        } else {
            &self.unverified
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(verified = check.verified, how = %check.how, "sender authentication");
        check
    }

    async fn decide(&self, mail: &InboundMail<'_>, raw: &[u8], from: &EmailAddress) -> SenderCheck {
        let domain = from.domain();
        let counted = results::topmost_trusted(&mail.trace, &self.trusted);
        if let Some(first) = counted.first() {
            return match self.judge(&counted, domain) {
                Some(how) => SenderCheck::verified(how),
                // The trusted server saw the same signatures: its word is final.
                None => SenderCheck::unverified(format!(
                    "{} found no pass aligned with {domain}",
                    first.authserv_id
                )),
            };
        }
        if !self.verify {
            return SenderCheck::unverified(
                "no trusted Authentication-Results (and [authentication] verify is off)",
            );
        }
        if !mail.dkim_signed {
            return SenderCheck::unverified(
                "no trusted Authentication-Results and no DKIM signature",
            );
        }
        self.verify_dkim(raw, domain).await
    }

    /// The trusted results' verdict on `domain`: how it passed, if it did.
    fn judge(&self, counted: &[results::AuthResults], domain: &str) -> Option<String> {
        for field in counted {
            for r in field.results.iter().filter(|r| r.result == "pass") {
                let id = &field.authserv_id;
                match r.method.as_str() {
                    "dmarc"
                        if r.property("header.from")
                            .is_none_or(|d| d.eq_ignore_ascii_case(domain)) =>
                    {
                        return Some(format!("dmarc=pass from {id}"));
                    }
                    "dkim" => {
                        if let Some(d) = r.property("header.d").filter(|d| aligned(d, domain)) {
                            return Some(format!("dkim=pass header.d={d} from {id}"));
                        }
                    }
                    "arc" if self.trust_arc => return Some(format!("arc=pass from {id}")),
                    _ => {}
                }
            }
        }
        None
    }

    /// Verifies the message's DKIM signatures: one that passes and is aligned with
    /// `domain` authenticates it.
    async fn verify_dkim(&self, raw: &[u8], domain: &str) -> SenderCheck {
        let Some(resolver) = self.resolver() else {
            return SenderCheck::unverified("no DNS resolver to look the signing key up");
        };
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return SenderCheck::unverified("the message's headers cannot be read for DKIM");
        };
        let checking = resolver.verify_dkim(Parameters::new(&message).with_txt_cache(&self.cache));
        let Ok(outputs) = tokio::time::timeout(self.timeout, checking).await else {
            return SenderCheck::unverified(format!(
                "the DNS lookups of the DKIM check took over {:?}",
                self.timeout
            ));
        };
        let mut seen = Vec::new();
        for output in &outputs {
            let Some(signature) = output.signature() else {
                continue;
            };
            match output.result() {
                DkimResult::Pass if aligned(&signature.d, domain) => {
                    return SenderCheck::verified(format!(
                        "DKIM signature of {} verified",
                        signature.d
                    ));
                }
                DkimResult::Pass => seen.push(format!("{}: pass, not aligned", signature.d)),
                other => seen.push(format!("{}: {}", signature.d, describe(other))),
            }
        }
        if seen.is_empty() {
            return SenderCheck::unverified("no DKIM signature could be read");
        }
        SenderCheck::unverified(format!("DKIM {}", seen.join("; ")))
    }

    fn resolver(&self) -> Option<&MessageAuthenticator> {
        self.resolver
            .get_or_init(|| match MessageAuthenticator::new_system_conf() {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "no DNS resolver: DKIM signatures cannot be verified");
                    None
                }
            })
            .as_ref()
    }
}

/// A failed result in words.
fn describe(result: &DkimResult) -> String {
    match result {
        DkimResult::Pass => "pass".into(),
        DkimResult::Neutral(e) => format!("neutral ({e})"),
        DkimResult::Fail(e) => format!("fail ({e})"),
        DkimResult::PermError(e) => format!("permanent error ({e})"),
        DkimResult::TempError(e) => format!("temporary error ({e})"),
        DkimResult::None => "none".into(),
    }
}

/// Whether a signature of domain `d` vouches for the From domain `domain` (DMARC's relaxed
/// alignment: the same domain, or one under the other).
fn aligned(d: &str, domain: &str) -> bool {
    let (d, domain) = (d.to_ascii_lowercase(), domain.to_ascii_lowercase());
    let d = d.trim_end_matches('.');
    let under =
        |child: &str, parent: &str| parent.contains('.') && child.ends_with(&format!(".{parent}"));
    d == domain || under(&domain, d) || under(d, &domain)
}

/// A DKIM public key record as DNS would answer it (`v=DKIM1; k=ed25519; p=…`), for the
/// DNS cache.
pub fn domain_key_record(record: &str) -> Result<mail_auth::Txt, mail_auth::Error> {
    let key = mail_auth::common::verify::DomainKey::parse(record.as_bytes())?;
    Ok(mail_auth::Txt::DomainKey(std::sync::Arc::new(key)))
}

#[cfg(test)]
mod tests {
    use super::aligned;

    #[test]
    fn alignment_is_relaxed_but_not_loose() {
        assert!(aligned("acme.example", "acme.example"));
        assert!(aligned("acme.example", "mail.acme.example"));
        assert!(aligned("mail.acme.example", "acme.example"));
        assert!(aligned("ACME.example.", "acme.example"));
        assert!(!aligned("evil.example", "acme.example"));
        assert!(!aligned("example", "acme.example"));
        assert!(!aligned("cme.example", "acme.example"));
    }
}
