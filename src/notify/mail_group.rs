//! The mail lane through a backlog: it claims the due mail rows a group at a time, sends
//! the group over several SMTP connections at once, and records what the server accepted
//! in one transaction.
//!
//! Claimed and recorded one at a time, each notification cost two write transactions: on
//! SQLite, each waited its turn behind the intake's batches, so that a burst of mail got
//! its acknowledgements only after the burst. A group costs two writes whatever its size.
//! The rows of one ticket go out in the order they were queued, over one connection; so do
//! the mails about no ticket to one address. Each connection takes the next such chain as
//! soon as it is free, so that one busy ticket does not keep the others waiting.
//!
//! The price: a process that dies in the middle of a group has sent some of its mails
//! without recording them. They are sent again when the instance restarts (or when their
//! claim runs out), with the same Message-ID, as a single notification could already be.

use std::collections::{HashMap, VecDeque};

use super::compose::MailReads;
use super::counted::{Counting, RecordedCounts};
use super::outbox_worker::{LEASE, OutboxWorker};
use super::unrecorded::UnrecordedSends;
use crate::domain::{EmailAddress, Ticket};
use crate::store::{Channel, Claimed, Contact, OutboxJob, StoreError, Unreadable};

/// How many due mail rows the lane claims at once: enough that the two writes of a group
/// are a small share of its cost, few enough that a group is through in a fraction of a
/// second on a local relay.
pub(super) const GROUP: u32 = 64;

/// How many SMTP connections a group goes out over at once: a relay answers each message
/// after its own work (and a remote one after a network round trip); meanwhile the next
/// ones are written and sent on the other connections.
pub(super) const CONNECTIONS: usize = 4;

impl OutboxWorker {
    /// Claims up to [`GROUP`] due mail rows, sends them over up to [`CONNECTIONS`]
    /// connections at once, and records the sent ones in one transaction. Says how many
    /// rows it claimed (none: nothing is due).
    ///
    /// A store error on one row does not stop the others; the first one is returned once
    /// the rest of the group is through and recorded.
    pub(super) async fn deliver_mail_group(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_group(now, LEASE, self.instance.holder(), Channel::Email, GROUP)
            .await?;
        let handled = claimed.len();
        let mut first_error = None;
        let mut in_hand = Vec::with_capacity(handled);
        let mut chains = Chains::default();
        for row in claimed {
            let row = match row {
                Ok(row) => row,
                Err(unreadable) => {
                    if let Err(e) = self.give_up_unreadable(unreadable).await {
                        first_error.get_or_insert(e);
                    }
                    continue;
                }
            };
            let Some(guard) = self.take_in_hand(&row) else {
                continue;
            };
            in_hand.push(guard);
            chains.add(row);
        }
        let unrecorded = UnrecordedSends::default();
        let known = match self.read_for(&chains, now).await {
            Ok(known) => known,
            Err(e) => {
                // Each row reads what it needs on its own, as a single one does.
                tracing::warn!(error = %e, "cannot read what the group's notifications need at once; each reads its own");
                GroupReads::default()
            }
        };
        let chains = std::sync::Mutex::new(chains.0);
        let senders =
            (0..CONNECTIONS).map(|_| self.deliver_chains(&chains, now, &known, &unrecorded));
        let errors = futures::future::join_all(senders).await;
        let recorded = self.record(&unrecorded).await;
        drop(in_hand);
        recorded?;
        match first_error.or(errors.into_iter().flatten().next()) {
            Some(e) => Err(e),
            None => Ok(handled),
        }
    }

    /// Takes the next chain of rows from `chains` and delivers its rows one after the
    /// other, until none is left; the first store error, if any.
    async fn deliver_chains(
        &self,
        chains: &std::sync::Mutex<VecDeque<Vec<Claimed>>>,
        now: chrono::DateTime<chrono::Utc>,
        known: &GroupReads,
        unrecorded: &UnrecordedSends,
    ) -> Option<StoreError> {
        let mut first_error = None;
        loop {
            let next = chains.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let Some(chain) = next else {
                return first_error;
            };
            for row in chain {
                if let Err(e) = self.deliver_claimed(row, now, known, unrecorded).await {
                    first_error.get_or_insert(e);
                }
            }
        }
    }

    /// What the group's mail rows need (tickets, preferences, what the governor's limits
    /// count, what their texts quote), read at once rather than row by row: eight reads
    /// per group, eight per row before.
    async fn read_for(
        &self,
        chains: &Chains,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<GroupReads, StoreError> {
        let rows = || chains.0.iter().flatten();
        let jobs: Vec<&OutboxJob> = rows()
            .filter_map(|row| match row {
                Claimed::Email(job) => Some(job),
                _ => None,
            })
            .collect();
        let mut ids: Vec<i64> = jobs.iter().map(|job| job.ticket_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let recipients: Vec<&EmailAddress> = rows()
            .filter_map(|row| match row {
                Claimed::Email(job) => Some(&job.recipient),
                Claimed::Personal(job) => Some(&job.recipient),
                _ => None,
            })
            .collect();
        let mut articles: Vec<i64> = jobs.iter().filter_map(|job| job.article_id).collect();
        articles.sort_unstable();
        articles.dedup();
        Ok(GroupReads {
            tickets: self.store.tickets_by_ids(&ids).await?,
            contacts: self.store.contacts_of(&recipients).await?,
            counts: self
                .governor
                .read_counts(&self.store, &recipients, &ids, now)
                .await?,
            mail: MailReads::read(&self.store, &ids, &articles).await?,
        })
    }

    /// Gives up a claimed row that cannot be read back: trying again would read the same.
    async fn give_up_unreadable(&self, unreadable: Unreadable) -> Result<(), StoreError> {
        tracing::error!(error = %unreadable, "notification marked failed");
        self.store
            .fail_notification(unreadable.id, &unreadable.error.to_string())
            .await
    }
}

/// What the mail rows of a group need, read once for the group: their tickets, by id,
/// their recipients' preferences, by address key, what the governor's limits count, and
/// what their texts quote. A row finds its own here, or reads it.
#[derive(Debug, Default)]
pub(super) struct GroupReads {
    pub tickets: HashMap<i64, Ticket>,
    pub contacts: HashMap<String, Contact>,
    pub counts: RecordedCounts,
    pub mail: MailReads,
}

impl GroupReads {
    /// `recipient`'s preferences: the group's read of them, else read now.
    pub async fn contact(
        &self,
        store: &crate::store::Store,
        recipient: &EmailAddress,
    ) -> Result<Contact, StoreError> {
        match self.contacts.get(&recipient.key()) {
            Some(contact) => Ok(contact.clone()),
            None => store.contact(recipient).await,
        }
    }

    /// What the governor counts for a mail of this group, with the group's sends not
    /// recorded yet (`unrecorded`).
    pub fn counting<'a>(&'a self, unrecorded: &'a UnrecordedSends) -> Counting<'a> {
        Counting {
            recorded: &self.counts,
            unrecorded,
        }
    }
}

/// A group's rows as chains to deliver in order, one chain per ticket (or per address, for
/// the mails about no ticket), in the order of their first rows. A connection takes a
/// whole chain: each one's mails keep their order, while the chains are shared out among
/// the connections as each is free.
#[derive(Debug, Default)]
struct Chains(VecDeque<Vec<Claimed>>, HashMap<ChainKey, usize>);

#[derive(Debug, PartialEq, Eq, Hash)]
enum ChainKey {
    Ticket(i64),
    Address(String),
    Row(i64),
}

impl Chains {
    fn add(&mut self, row: Claimed) {
        let key = match &row {
            Claimed::Email(job) | Claimed::Sms(job) => ChainKey::Ticket(job.ticket_id),
            Claimed::Personal(job) => ChainKey::Address(job.recipient.key()),
            Claimed::Webhook(job) => ChainKey::Row(job.id),
        };
        match self.1.get(&key) {
            Some(&place) => self.0[place].push(row),
            None => {
                self.1.insert(key, self.0.len());
                self.0.push_back(vec![row]);
            }
        }
    }
}
