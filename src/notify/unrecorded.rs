//! Mails of a group that the store does not record as sent yet: the mail lane records a
//! group's sends in one transaction once the group is through, and meanwhile the governor
//! counts them with the recorded ones, so that its limits hold within a group as across
//! groups. A group's connections send side by side, so a mail is counted from the moment
//! the governor lets it go (its place is reserved, in turn with the other connections)
//! until it is recorded, or until it did not go after all.

use std::collections::HashMap;
use std::sync::Mutex;

use super::governor::Verdict;
use crate::domain::EmailAddress;
use crate::store::SentMail;

/// The sends of a group not yet recorded, and how many went to each address and about
/// each ticket.
#[derive(Debug, Default)]
pub struct UnrecordedSends {
    tally: Mutex<Tally>,
    /// Held from the governor's reads to the reservation of the place it gave
    /// ([`UnrecordedSends::admit`]).
    judging: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Tally {
    sent: Vec<SentMail>,
    /// By the recipient's key ([`EmailAddress::key`]), as the store counts them.
    to: HashMap<String, u32>,
    about: HashMap<i64, u32>,
    /// Sent and recorded on their own (mails about no ticket), by recipient's key: the
    /// group's counts, read before, do not hold them.
    alone: HashMap<String, u32>,
}

impl UnrecordedSends {
    /// Awaits the governor's `judging` of a mail to `recipient`, about `ticket_id` if any,
    /// in its turn, and when it says send, reserves the mail's place before the next mail
    /// is judged: two connections never both take the last place under a limit. The
    /// verdict, and the place when there is one.
    pub async fn admit<E>(
        &self,
        recipient: &EmailAddress,
        ticket_id: Option<i64>,
        judging: impl std::future::Future<Output = Result<Verdict, E>>,
    ) -> Result<(Verdict, Option<Reserved<'_>>), E> {
        let _turn = self.judging.lock().await;
        let verdict = judging.await?;
        let place = (verdict == Verdict::Send).then(|| self.reserve(recipient, ticket_id));
        Ok((verdict, place))
    }

    /// Counts a mail to `recipient`, about `ticket_id` if any, that the governor let go:
    /// until it is recorded ([`Reserved::sent`]), or no longer when the reservation is
    /// dropped (it did not go, or it was recorded on its own).
    fn reserve(&self, recipient: &EmailAddress, ticket_id: Option<i64>) -> Reserved<'_> {
        let to = recipient.key();
        let mut tally = self.lock();
        *tally.to.entry(to.clone()).or_default() += 1;
        if let Some(id) = ticket_id {
            *tally.about.entry(id).or_default() += 1;
        }
        Reserved {
            sends: self,
            to,
            about: ticket_id,
            kept: false,
        }
    }

    /// How many of these went to `recipient`; with `and_recorded_alone`, also the mails
    /// of the group to it that were recorded on their own since the group's counts were
    /// read ([`Reserved::recorded_alone`]).
    pub fn to(&self, recipient: &EmailAddress, and_recorded_alone: bool) -> u32 {
        let key = recipient.key();
        let tally = self.lock();
        let alone = match and_recorded_alone {
            true => tally.alone.get(&key).copied().unwrap_or(0),
            false => 0,
        };
        tally.to.get(&key).copied().unwrap_or(0) + alone
    }

    /// How many of these were about ticket `ticket_id`.
    pub fn about(&self, ticket_id: i64) -> u32 {
        self.lock().about.get(&ticket_id).copied().unwrap_or(0)
    }

    /// The sends to record, in the order they were accepted; the tally starts again.
    pub fn take(&self) -> Vec<SentMail> {
        std::mem::take(&mut *self.lock()).sent
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A mail's place among the group's sends, counted by the limits while it is held.
#[derive(Debug)]
pub struct Reserved<'a> {
    sends: &'a UnrecordedSends,
    to: String,
    about: Option<i64>,
    /// Whether the mail went and waits to be recorded with the group.
    kept: bool,
}

impl Reserved<'_> {
    /// The server accepted the mail: it is recorded with the group's sends.
    pub fn sent(mut self, mail: SentMail) {
        self.sends.lock().sent.push(mail);
        self.kept = true;
    }

    /// The mail went and was recorded on its own: it is counted where the group's counts,
    /// read before, are used.
    pub fn recorded_alone(mut self) {
        let mut tally = self.sends.lock();
        self.uncount(&mut tally);
        *tally.alone.entry(self.to.clone()).or_default() += 1;
        self.kept = true;
    }

    /// No longer counts this mail among the group's sends not recorded.
    fn uncount(&self, tally: &mut Tally) {
        if let Some(n) = tally.to.get_mut(&self.to) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = self.about.and_then(|id| tally.about.get_mut(&id)) {
            *n = n.saturating_sub(1);
        }
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if !self.kept {
            let mut tally = self.sends.lock();
            self.uncount(&mut tally);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(id: i64) -> SentMail {
        SentMail {
            id,
            message_id: format!("n{id}@ours.test"),
        }
    }

    #[test]
    fn counts_by_recipient_whatever_the_case_and_by_ticket_until_taken() {
        let sends = UnrecordedSends::default();
        let alice = EmailAddress::parse("Alice@Acme.example").unwrap();
        let bob = EmailAddress::parse("bob@acme.example").unwrap();
        sends.reserve(&alice, Some(10)).sent(mail(1));
        let lower = EmailAddress::parse("alice@acme.example").unwrap();
        sends.reserve(&lower, Some(11)).sent(mail(2));
        let in_flight = sends.reserve(&bob, Some(10));
        assert_eq!(sends.to(&alice, false), 2);
        assert_eq!(sends.to(&bob, false), 1);
        assert_eq!(sends.about(10), 2);
        assert_eq!(sends.about(12), 0);
        drop(in_flight);
        assert_eq!(
            sends.to(&bob, false),
            0,
            "a mail that did not go is no longer counted"
        );
        assert_eq!(sends.about(10), 1);
        let taken: Vec<i64> = sends.take().iter().map(|m| m.id).collect();
        assert_eq!(taken, [1, 2]);
        assert_eq!(sends.to(&alice, false), 0);
        assert!(sends.take().is_empty());
    }

    #[test]
    fn a_mail_recorded_alone_counts_only_against_counts_read_before_it() {
        let sends = UnrecordedSends::default();
        let alice = EmailAddress::parse("alice@acme.example").unwrap();
        sends.reserve(&alice, None).recorded_alone();
        assert_eq!(sends.to(&alice, false), 0, "a read after it counts it");
        assert_eq!(sends.to(&alice, true), 1, "the group's read did not");
        sends.reserve(&alice, Some(3)).sent(mail(4));
        assert_eq!(sends.to(&alice, true), 2);
        assert_eq!(sends.about(3), 1);
        assert!(sends.take().len() == 1);
    }
}
