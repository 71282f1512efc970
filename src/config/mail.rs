//! `[mail]`: our own addresses, where agents hear of customer comments, and whom a mail is
//! from.

use serde::Deserialize;

use super::error::Errors;
use crate::domain::EmailAddress;

/// The `[mail]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawMail {
    /// Our own addresses: mail from them is a loop and is ignored; they never become
    /// observers. The first one sends notifications.
    addresses: Vec<String>,
    /// Where customer comments on unassigned tickets are reported (unset: nobody).
    agents_address: Option<String>,
    /// Take the sender from Reply-To instead of From, for web forms and relays that send
    /// on the customer's behalf.
    sender_from_reply_to: bool,
    /// Subjects of a mail that asks for one's tickets rather than opening one.
    my_tickets_subjects: Vec<String>,
    /// The plus-address tag that asks the same (`support+tickets@`); empty: none.
    my_tickets_tag: String,
}

impl Default for RawMail {
    fn default() -> Self {
        Self {
            addresses: vec!["support@localhost".into()],
            agents_address: None,
            sender_from_reply_to: false,
            my_tickets_subjects: ["my tickets", "mes tickets", "status", "état"]
                .map(String::from)
                .to_vec(),
            my_tickets_tag: "tickets".into(),
        }
    }
}

/// The validated `[mail]` section. The mailboxes' addresses join `own_addresses` later,
/// with the other sections.
#[derive(Debug)]
pub(super) struct MailSettings {
    /// Every address that parsed, in the order written.
    pub(super) own_addresses: Vec<EmailAddress>,
    pub(super) agents_address: Option<EmailAddress>,
    pub(super) sender_from_reply_to: bool,
    pub(super) my_tickets: MyTicketsRequest,
}

/// What makes a mail a request for one's tickets: its subject, folded
/// ([`crate::domain::fold_label`]), or the plus-address tag it was sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MyTicketsRequest {
    pub subjects: Vec<String>,
    pub tag: Option<String>,
}

impl RawMail {
    /// Validates `[mail]`, recording each address that does not parse with its key
    /// (`mail.addresses[1]`).
    pub(super) fn validate(self, errors: &mut Errors) -> MailSettings {
        let own_addresses = self
            .addresses
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                errors.check(format_args!("mail.addresses[{i}]"), EmailAddress::parse(a))
            })
            .collect();
        let agents_address = self
            .agents_address
            .as_deref()
            .and_then(|a| errors.check("mail.agents_address", EmailAddress::parse(a)));
        let tag = self.my_tickets_tag.trim().to_ascii_lowercase();
        if tag.contains(['@', '+', ' ']) {
            errors.push(
                "mail.my_tickets_tag",
                format_args!("`{tag}` is not a plus-address tag: write only what follows the +"),
            );
        }
        MailSettings {
            own_addresses,
            agents_address,
            sender_from_reply_to: self.sender_from_reply_to,
            my_tickets: MyTicketsRequest {
                subjects: self
                    .my_tickets_subjects
                    .iter()
                    .map(|s| crate::domain::fold_label(s))
                    .filter(|s| !s.is_empty())
                    .collect(),
                tag: (!tag.is_empty()).then_some(tag),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_address_is_named_by_its_place() {
        let mut errors = Errors::default();
        let mail = RawMail {
            addresses: vec!["help@example.com".into(), "nope".into()],
            agents_address: Some("agents@".into()),
            ..RawMail::default()
        }
        .validate(&mut errors);
        assert_eq!(mail.own_addresses.len(), 1);
        let errors = errors.into_messages();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("mail.addresses[1]: "), "{errors:?}");
        assert!(errors[1].starts_with("mail.agents_address: "), "{errors:?}");
    }

    #[test]
    fn my_tickets_subjects_are_folded_and_the_tag_is_only_a_tag() {
        let mut errors = Errors::default();
        let mail = RawMail::default().validate(&mut errors);
        assert_eq!(
            mail.my_tickets.subjects,
            ["my tickets", "mes tickets", "status", "etat"]
        );
        assert_eq!(mail.my_tickets.tag.as_deref(), Some("tickets"));
        let mail = RawMail {
            my_tickets_tag: "support+tickets@x".into(),
            ..RawMail::default()
        }
        .validate(&mut errors);
        assert!(mail.my_tickets.tag.is_some());
        assert_eq!(errors.count(), 1);
        let off = RawMail {
            my_tickets_tag: String::new(),
            ..RawMail::default()
        }
        .validate(&mut Errors::default());
        assert_eq!(off.my_tickets.tag, None);
    }
}
