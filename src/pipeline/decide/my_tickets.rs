//! A mail that asks for one's tickets instead of opening one ("my tickets", seeds 001, 003
//! and 004 list them on the portal): its subject is one of `[mail] my_tickets_subjects`,
//! or it was sent to our address with the `[mail] my_tickets_tag` plus-address
//! (`support+tickets@`). Its sender is answered with the tickets they may follow, or,
//! when they have none, told so and nothing more.

use super::Pipeline;
use crate::domain::{EmailAddress, InboundMail, fold_label};
use crate::pipeline::language;

impl Pipeline {
    /// Why `mail` asks for its sender's tickets, when it does.
    pub(super) fn asks_for_tickets(&self, mail: &InboundMail<'_>) -> Option<String> {
        let request = &self.settings.my_tickets;
        let subject = fold_label(mail.subject.trim().trim_end_matches(['?', '!', '.']));
        if request.subjects.contains(&subject) {
            return Some(format!(
                "the subject {:?} asks for the sender's tickets",
                mail.subject
            ));
        }
        let tag = request.tag.as_deref()?;
        let to_tag = mail
            .recipients()
            .find(|m| self.is_ours_with_tag(&m.address, tag))?;
        Some(format!(
            "sent to {}, which asks for the sender's tickets",
            to_tag.address
        ))
    }

    /// Whether `address` is one of our addresses with `+tag` after its local part.
    fn is_ours_with_tag(&self, address: &EmailAddress, tag: &str) -> bool {
        let Some((local, domain)) = address.as_str().rsplit_once('@') else {
            return false;
        };
        let Some((base, plus)) = local.rsplit_once('+') else {
            return false;
        };
        if !plus.eq_ignore_ascii_case(tag) {
            return false;
        }
        let Ok(plain) = EmailAddress::parse(&format!("{base}@{domain}")) else {
            return false;
        };
        self.settings
            .own_addresses
            .iter()
            .any(|own| own.same_mailbox(&plain))
    }

    /// The language the answer is written in: the mail's, else the one of the words the
    /// subject matched (`mes tickets`, `état`), else the intake's or the configuration's.
    pub(super) fn request_language(&self, mail: &InboundMail<'_>) -> String {
        let subject = fold_label(&mail.subject);
        let french_subject = ["mes tickets", "etat", "mes demandes"].contains(&subject.as_str());
        language::detect(&mail.subject, &mail.text)
            .or(french_subject.then_some("fr"))
            .or(self.defaults.language.as_deref())
            .unwrap_or(&self.settings.ticket_defaults.language)
            .to_string()
    }
}
