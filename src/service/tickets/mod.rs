//! Operations on tickets, for every front end (the CLI, the HTTP side) and the scheduler.
//! Each change checks the move against the status machine, records an article, and queues
//! its notifications in the same transaction; nobody hears of their own action. Reading a
//! ticket back (lists, its history, its files, the mail an article came from) goes through
//! here too, whichever storage holds it.

mod approval;
mod comment;
mod edit;
mod error;
mod files;
mod open;
mod reads;

use std::sync::Arc;

pub use comment::{CommentInput, RefusedFile, Upload};
pub use edit::{Edited, FieldEdits};
pub use error::TicketError;
pub use open::OpeningInput;
pub use reads::TicketPage;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{
    Actor, Direction, EmailAddress, Event, EventContext, Status, TicketNumber, Visibility,
    with_context,
};
use crate::domain::{NewArticle, Ticket};
use crate::files::Files;
use crate::store::{ActionCommitted, Store, TicketAction};

/// Who carries out an operation.
#[derive(Debug, Clone)]
pub enum Acting {
    /// An agent, by name and address.
    Agent { name: String, email: EmailAddress },
    /// A customer, through a mail or a signed link.
    Customer(EmailAddress),
    /// ticketgate itself (the scheduler).
    System,
}

impl Acting {
    fn actor(&self) -> Actor<'_> {
        match self {
            Acting::Agent { email, .. } => Actor::Agent(email),
            Acting::Customer(email) => Actor::Customer(email),
            Acting::System => Actor::System,
        }
    }

    fn describe(&self) -> String {
        match self {
            Acting::Agent { name, .. } => name.clone(),
            Acting::Customer(email) => email.to_string(),
            Acting::System => "ticketgate".into(),
        }
    }

    fn author(&self, settings: &Settings) -> (EmailAddress, Option<String>) {
        match self {
            Acting::Agent { name, email } => (email.clone(), Some(name.clone())),
            Acting::Customer(email) => (email.clone(), None),
            Acting::System => (settings.sender_address(), Some("ticketgate".into())),
        }
    }
}

/// What an operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub ticket: TicketNumber,
    pub status: Status,
    /// How many notifications it queued.
    pub notifications: usize,
}

/// Carries out operations on tickets.
#[derive(Debug, Clone)]
pub struct TicketService {
    store: Store,
    /// Where attachments (and raw mail, read back) are kept.
    files: Files,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
}

impl TicketService {
    pub fn new(store: Store, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            files: Files::new(&settings, &store),
            store,
            settings,
            clock,
        }
    }

    /// The agent named `who` (name or address, any case); without one (or a blank one),
    /// the team itself under the agents' (or our first) address.
    pub fn agent(&self, who: Option<&str>) -> Result<Acting, TicketError> {
        let s = &self.settings;
        let Some(who) = who.map(str::trim).filter(|w| !w.is_empty()) else {
            return Ok(Acting::Agent {
                name: "Support".into(),
                email: s
                    .agents_address
                    .clone()
                    .unwrap_or_else(|| s.sender_address()),
            });
        };
        self.configured_agent(who)
            .map(|a| Acting::Agent {
                name: a.name.clone(),
                email: a.email.clone(),
            })
            .ok_or_else(|| TicketError::UnknownAgent(who.to_string()))
    }

    /// The `[[agent]]` named `who` (name or address, in any case, accented letters
    /// included: `élodie` is Élodie).
    fn configured_agent(&self, who: &str) -> Option<&crate::config::Agent> {
        let who = who.trim();
        let wanted = who.to_lowercase();
        self.settings.agents.iter().find(|a| {
            a.name.to_lowercase() == wanted
                || EmailAddress::parse(who).is_ok_and(|e| e.same_mailbox(&a.email))
        })
    }

    /// Moves a ticket to `to`, telling people as the status machine names the move.
    /// Resolving needs a solution: see [`TicketService::resolve`].
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number, to = %to))]
    pub async fn change_status(
        &self,
        number: &TicketNumber,
        to: Status,
        acting: &Acting,
    ) -> Result<Done, TicketError> {
        if to == Status::Resolved {
            return Err(TicketError::SolutionRequired);
        }
        let ticket = self.ticket(number).await?;
        let event = ticket.status.move_to(to)?;
        let note = format!(
            "Status changed from {} to {to} by {}.",
            ticket.status,
            acting.describe()
        );
        self.moved(&ticket, to, event, acting, note).await
    }

    /// Proposes `solution` and marks the ticket resolved: the requester approves or
    /// refuses it, or it closes by itself after `auto_close_days`.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn resolve(
        &self,
        number: &TicketNumber,
        solution: &str,
        acting: &Acting,
    ) -> Result<Done, TicketError> {
        let ticket = self.ticket(number).await?;
        let event = ticket.status.move_to(Status::Resolved)?;
        let article = self.article(
            &ticket,
            acting,
            Direction::Outbound,
            Visibility::Public,
            solution,
        );
        self.moved_with(&ticket, Status::Resolved, event, acting, article)
            .await
    }

    /// Closes a ticket.
    pub async fn close(&self, number: &TicketNumber, acting: &Acting) -> Result<Done, TicketError> {
        self.change_status(number, Status::Closed, acting).await
    }

    /// Takes a resolved or closed ticket up again.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn reopen(
        &self,
        number: &TicketNumber,
        acting: &Acting,
    ) -> Result<Done, TicketError> {
        let ticket = self.ticket(number).await?;
        ticket.status.reopen()?;
        self.change_status(number, Status::InProgress, acting).await
    }

    /// Closes, as auto-closed, the resolved ticket `number` whose solution had no answer.
    /// `None` when it is no longer resolved (answered meanwhile, or closed by another run):
    /// a ticket is never closed twice.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn auto_close(&self, number: &TicketNumber) -> Result<Option<Done>, TicketError> {
        let ticket = self.ticket(number).await?;
        if ticket.status != Status::Resolved {
            return Ok(None);
        }
        let note = format!(
            "Closed automatically: the solution had no answer within {} days.",
            self.settings.auto_close_days
        );
        match self
            .moved(
                &ticket,
                Status::Closed,
                Event::TicketAutoClosed,
                &Acting::System,
                note,
            )
            .await
        {
            Ok(done) => Ok(Some(done)),
            Err(TicketError::Changed(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Auto-closes every resolved ticket whose solution waited `auto_close_days` or more
    /// without a customer reply, oldest first; what it closed.
    pub async fn auto_close_due(&self) -> Result<Vec<Done>, TicketError> {
        let days = i64::from(self.settings.auto_close_days);
        let due = self
            .store
            .due_for_auto_close(self.clock.now() - chrono::Duration::days(days), 10_000)
            .await?;
        let mut closed = Vec::new();
        for number in due {
            if let Some(done) = self.auto_close(&number).await? {
                closed.push(done);
            }
        }
        Ok(closed)
    }

    async fn moved(
        &self,
        ticket: &Ticket,
        to: Status,
        event: Event,
        acting: &Acting,
        note: String,
    ) -> Result<Done, TicketError> {
        let article = self.article(
            ticket,
            acting,
            Direction::System,
            Visibility::Internal,
            &note,
        );
        self.moved_with(ticket, to, event, acting, article).await
    }

    /// Moves `ticket` to `to` with `article`, telling its audience of `event` and of the
    /// status it left.
    async fn moved_with(
        &self,
        ticket: &Ticket,
        to: Status,
        event: Event,
        acting: &Acting,
        article: NewArticle,
    ) -> Result<Done, TicketError> {
        let context = EventContext {
            previous_status: Some(ticket.status),
            ..EventContext::default()
        };
        let notifications = self.audience_notifications(ticket, event, acting, &context);
        self.commit(ticket, Some(to), Some(article), notifications)
            .await
    }

    /// Ticket `number` without its history: what a check before a change reads.
    pub async fn ticket(&self, number: &TicketNumber) -> Result<Ticket, TicketError> {
        self.store
            .ticket_by_number(number)
            .await?
            .ok_or_else(|| TicketError::NoTicket(number.clone()))
    }

    fn audience_notifications(
        &self,
        ticket: &Ticket,
        event: Event,
        acting: &Acting,
        context: &EventContext,
    ) -> Vec<crate::domain::Notification> {
        let agents = ticket.agents_to_tell(self.settings.agents_address.as_ref());
        let audience = ticket.audience(agents.as_ref());
        with_context(audience.notifications(event, acting.actor()), context)
    }

    fn article(
        &self,
        ticket: &Ticket,
        acting: &Acting,
        direction: Direction,
        visibility: Visibility,
        body: &str,
    ) -> NewArticle {
        let (author, author_name) = acting.author(&self.settings);
        NewArticle::written(
            author,
            author_name,
            direction,
            visibility,
            &ticket.title,
            body,
        )
    }

    async fn commit(
        &self,
        ticket: &Ticket,
        new_status: Option<Status>,
        article: Option<NewArticle>,
        notifications: Vec<crate::domain::Notification>,
    ) -> Result<Done, TicketError> {
        let action = TicketAction {
            new_status,
            article,
            notifications,
            ..self.action(ticket)
        };
        self.commit_action(ticket, action).await
    }

    /// An action on `ticket` as read now, changing nothing yet.
    fn action(&self, ticket: &Ticket) -> TicketAction {
        TicketAction::new(ticket.id, ticket.status, self.clock.now())
    }

    /// Commits `action`, or reports that `ticket` changed since it was read.
    async fn commit_action(
        &self,
        ticket: &Ticket,
        action: TicketAction,
    ) -> Result<Done, TicketError> {
        let count = action.notifications.len();
        let new_status = action.new_status;
        match self.store.commit_action(&action).await? {
            ActionCommitted::Stale => Err(TicketError::Changed(ticket.number.clone())),
            ActionCommitted::Done { .. } => {
                let status = new_status.unwrap_or(ticket.status);
                tracing::info!(%status, notifications = count, "ticket updated");
                Ok(Done {
                    ticket: ticket.number.clone(),
                    status,
                    notifications: count,
                })
            }
        }
    }
}
