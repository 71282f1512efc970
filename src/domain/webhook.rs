//! What webhooks hear: the notification events, plus a mail set aside in the quarantine,
//! and which configured webhook hears which. One outbox row per webhook per event, however
//! many people the event's mail goes to.

use std::collections::BTreeSet;
use std::str::FromStr;

use super::Event;

/// An event a webhook can subscribe to, named in `[[webhook]] events` as in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebhookEvent {
    /// One of the events people are told about by mail.
    Notification(Event),
    /// A mail could not be handled and was set aside in the quarantine (no ticket).
    MailQuarantined,
}

impl WebhookEvent {
    /// Every event a webhook may name: the notification events, then `mail_quarantined`.
    pub fn all() -> impl Iterator<Item = WebhookEvent> {
        Event::ALL
            .iter()
            .copied()
            .map(WebhookEvent::Notification)
            .chain(std::iter::once(WebhookEvent::MailQuarantined))
    }

    /// The name stored in the outbox and written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::Notification(e) => e.as_str(),
            WebhookEvent::MailQuarantined => "mail_quarantined",
        }
    }

    /// The payload's `type`: `ticket.opened`, `mail.quarantined`, `ticket.customer_comment`…
    /// The ticket's events are grouped under `ticket.`, so a receiver can route by prefix.
    pub fn payload_type(self) -> String {
        match self {
            WebhookEvent::MailQuarantined => "mail.quarantined".to_string(),
            WebhookEvent::Notification(e) => {
                let name = e.as_str();
                format!("ticket.{}", name.strip_prefix("ticket_").unwrap_or(name))
            }
        }
    }
}

impl FromStr for WebhookEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WebhookEvent::all().find(|e| e.as_str() == s).ok_or_else(|| {
            format!("`{s}` is not an event a webhook can hear; use a notification event (ticket_opened, agent_comment…) or mail_quarantined")
        })
    }
}

impl std::fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One webhook's name (its outbox rows' recipient) and the events it hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub name: String,
    pub events: BTreeSet<WebhookEvent>,
}

/// Who hears what, for the store to queue a row per webhook per event in the operation's
/// own transaction, and whether an SMS gateway takes texts for the contacts who want them.
/// Empty when neither is configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions(Vec<Subscription>, bool);

impl Subscriptions {
    pub fn new(subscriptions: Vec<Subscription>) -> Self {
        Self(subscriptions, false)
    }

    /// The same, with SMS queued for the contacts who chose them when `gateway` is true.
    pub fn with_sms(self, gateway: bool) -> Self {
        Self(self.0, gateway)
    }

    /// Whether SMS are queued: an `[sms]` gateway is configured.
    pub fn sms(&self) -> bool {
        self.1
    }

    /// The names of the webhooks that hear `event`, in the configuration's order.
    pub fn hearing(&self, event: WebhookEvent) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |s| s.events.contains(&event))
            .map(|s| s.name.as_str())
    }

    /// Whether no webhook is configured: the usual case, which costs nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A webhook's signing key, written `whsec_<base64 of the key's bytes>` as the Standard
/// Webhooks specification has it. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookKey(Vec<u8>);

impl WebhookKey {
    /// The key `text` writes: `whsec_` then standard base64 of at least one byte.
    pub fn parse(text: &str) -> Result<Self, String> {
        use base64::Engine;
        let encoded = text.trim().strip_prefix("whsec_").ok_or(
            "a webhook secret is written whsec_<base64>; generate one with `echo whsec_$(head -c 32 /dev/urandom | base64)`",
        )?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("the part after whsec_ is not base64: {e}"))?;
        if bytes.is_empty() {
            return Err("the secret after whsec_ is empty".into());
        }
        Ok(Self(bytes))
    }

    /// The key's bytes, for the HMAC.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_types_group_ticket_events() {
        for e in WebhookEvent::all() {
            assert_eq!(e.as_str().parse::<WebhookEvent>().unwrap(), e);
        }
        assert_eq!(
            WebhookEvent::Notification(Event::TicketOpened).payload_type(),
            "ticket.opened"
        );
        assert_eq!(
            WebhookEvent::Notification(Event::AgentComment).payload_type(),
            "ticket.agent_comment"
        );
        assert_eq!(
            WebhookEvent::MailQuarantined.payload_type(),
            "mail.quarantined"
        );
        assert!("ticket_exploded".parse::<WebhookEvent>().is_err());
    }

    #[test]
    fn keys_are_whsec_and_base64_and_stay_out_of_logs() {
        let key = WebhookKey::parse("whsec_c2VjcmV0").unwrap();
        assert_eq!(key.bytes(), b"secret");
        assert_eq!(format!("{key:?}"), "WebhookKey(***)");
        assert!(WebhookKey::parse("c2VjcmV0").is_err());
        assert!(WebhookKey::parse("whsec_not base64!").is_err());
        assert!(WebhookKey::parse("whsec_").is_err());
    }

    #[test]
    fn only_subscribed_webhooks_hear_an_event() {
        let subs = Subscriptions::new(vec![
            Subscription {
                name: "chat".into(),
                events: [WebhookEvent::Notification(Event::TicketOpened)].into(),
            },
            Subscription {
                name: "ops".into(),
                events: [WebhookEvent::MailQuarantined].into(),
            },
        ]);
        let opened: Vec<_> = subs
            .hearing(WebhookEvent::Notification(Event::TicketOpened))
            .collect();
        assert_eq!(opened, ["chat"]);
        let quarantined: Vec<_> = subs.hearing(WebhookEvent::MailQuarantined).collect();
        assert_eq!(quarantined, ["ops"]);
    }
}
