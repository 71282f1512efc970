//! Agents' edits of a ticket beyond its status and its comments: assignment, observers and
//! the fields set by hand (type, category, impact, urgency, private). Each is one
//! [`TicketAction`] that applies only if the ticket is still as read, and records an
//! article; the edits other than comments record an internal one saying what changed and
//! who changed it.

use super::{Acting, Done, TicketError, TicketService};
use crate::domain::{
    Direction, EmailAddress, Event, EventContext, Impact, Status, TicketNumber, TicketType,
    Urgency, Visibility, with_context,
};
use crate::domain::{Ticket, TicketFields};
use crate::store::{Change, TicketAction};

/// New values for a ticket's hand-set fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldEdits {
    /// What the customer asks for.
    pub ticket_type: Option<TicketType>,
    /// A free category name; `Some(None)` (or a blank name) clears it.
    pub category: Option<Option<String>>,
    /// How badly the service is affected; the priority follows.
    pub impact: Option<Impact>,
    /// How soon an answer is needed; the priority follows.
    pub urgency: Option<Urgency>,
    /// Whether the requester's organisation is kept off the ticket.
    pub private: Option<bool>,
}

impl FieldEdits {
    /// Whether no field is named at all.
    pub fn is_empty(&self) -> bool {
        *self == FieldEdits::default()
    }

    /// `fields` with these edits applied.
    fn apply(&self, fields: &TicketFields) -> TicketFields {
        let category = match &self.category {
            Some(c) => c
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            None => fields.category.clone(),
        };
        TicketFields {
            ticket_type: self.ticket_type.unwrap_or(fields.ticket_type),
            category,
            impact: self.impact.unwrap_or(fields.impact),
            urgency: self.urgency.unwrap_or(fields.urgency),
            private: self.private.unwrap_or(fields.private),
        }
    }
}

/// What an edit did: the operation's outcome, and the note it recorded on the ticket (what
/// changed, and who changed it), for the front end to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The ticket, its status and the notifications queued.
    pub done: Done,
    /// The internal note recorded, e.g. "Assigned to Camille by Dominique.".
    pub note: String,
}

impl TicketService {
    /// Gives the ticket to the configured agent `assignee` (name or address): customer
    /// activity on it is reported to them from then on. A new ticket moves to in_progress,
    /// told to the requester and observers as any status change; the agent is told by
    /// `ticket_assigned`, unless they took the ticket themselves.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn assign(
        &self,
        number: &TicketNumber,
        assignee: &str,
        acting: &Acting,
    ) -> Result<Edited, TicketError> {
        let agent = self
            .configured_agent(assignee)
            .ok_or_else(|| TicketError::UnknownAssignee(assignee.to_string()))?
            .clone();
        let ticket = self.open_ticket(number).await?;
        let current = ticket
            .assignee
            .as_deref()
            .and_then(|a| EmailAddress::parse(a).ok());
        if current.is_some_and(|c| c.same_mailbox(&agent.email)) {
            return Err(TicketError::AlreadyAssigned {
                ticket: ticket.number,
                agent: agent.name,
            });
        }
        let mut note = format!("Assigned to {} by {}.", agent.name, acting.describe());
        let audience = ticket.audience(Some(&agent.email));
        let mut action = TicketAction {
            assignee: Some(Change {
                from: ticket.assignee.clone(),
                to: Some(agent.email.as_str().to_string()),
            }),
            ..self.action(&ticket)
        };
        if ticket.status == Status::New {
            let event = ticket.status.move_to(Status::InProgress)?;
            note.push_str(&format!(
                " Status changed from {} to {}.",
                ticket.status,
                Status::InProgress
            ));
            let context = EventContext {
                previous_status: Some(ticket.status),
                ..EventContext::default()
            };
            action.new_status = Some(Status::InProgress);
            action.notifications =
                with_context(audience.notifications(event, acting.actor()), &context);
        }
        action
            .notifications
            .extend(audience.notifications(Event::TicketAssigned, acting.actor()));
        self.commit_note(&ticket, action, acting, note).await
    }

    /// Adds `email` as an observer of the ticket: from then on they hear of its updates and
    /// may write on it by mail. Someone who already is one, or the requester, is refused.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn add_observer(
        &self,
        number: &TicketNumber,
        email: &EmailAddress,
        acting: &Acting,
    ) -> Result<Edited, TicketError> {
        let ticket = self.open_ticket(number).await?;
        let key = email.key();
        if ticket.requester.key() == key {
            return Err(TicketError::RequesterAsObserver {
                ticket: ticket.number,
                email: key,
            });
        }
        if ticket.observers.iter().any(|o| o.key() == key) {
            return Err(TicketError::AlreadyObserver {
                ticket: ticket.number,
                email: key,
            });
        }
        let note = format!("Observer {key} added by {}.", acting.describe());
        let action = TicketAction {
            add_observers: vec![email.clone()],
            ..self.action(&ticket)
        };
        self.commit_note(&ticket, action, acting, note).await
    }

    /// Removes `email` from the ticket's observers: they hear of it no more, and their mail
    /// to it opens a ticket of their own unless something else allows them on it (being an
    /// agent, or of the requester's organisation).
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn remove_observer(
        &self,
        number: &TicketNumber,
        email: &EmailAddress,
        acting: &Acting,
    ) -> Result<Edited, TicketError> {
        let ticket = self.open_ticket(number).await?;
        let key = email.key();
        if !ticket.observers.iter().any(|o| o.key() == key) {
            return Err(TicketError::NotObserver {
                ticket: ticket.number,
                email: key,
            });
        }
        let note = format!("Observer {key} removed by {}.", acting.describe());
        let action = TicketAction {
            remove_observers: vec![email.clone()],
            ..self.action(&ticket)
        };
        self.commit_note(&ticket, action, acting, note).await
    }

    /// Sets the fields `edits` names; the priority follows from impact and urgency. The
    /// note lists each change as `old → new`. `None` when every value already was as
    /// asked: then nothing is written.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn set_fields(
        &self,
        number: &TicketNumber,
        edits: &FieldEdits,
        acting: &Acting,
    ) -> Result<Option<Edited>, TicketError> {
        if edits.is_empty() {
            return Err(TicketError::NothingToSet);
        }
        let ticket = self.open_ticket(number).await?;
        let from = ticket.fields();
        let to = edits.apply(&from);
        let changes = describe_changes(&from, &to);
        if changes.is_empty() {
            tracing::info!("every value already as asked: nothing changed");
            return Ok(None);
        }
        let note = format!("Changed by {}: {}.", acting.describe(), changes.join("; "));
        let action = TicketAction {
            fields: Some(Change { from, to }),
            ..self.action(&ticket)
        };
        self.commit_note(&ticket, action, acting, note)
            .await
            .map(Some)
    }

    /// The ticket `number`, refused when closed: a closed ticket is final until reopened.
    pub(super) async fn open_ticket(&self, number: &TicketNumber) -> Result<Ticket, TicketError> {
        let ticket = self.ticket(number).await?;
        if !ticket.status.is_open() {
            return Err(TicketError::Closed(ticket.number));
        }
        Ok(ticket)
    }

    /// Commits `action` with an internal note by `acting` saying what it did.
    async fn commit_note(
        &self,
        ticket: &Ticket,
        mut action: TicketAction,
        acting: &Acting,
        note: String,
    ) -> Result<Edited, TicketError> {
        action.article = Some(self.article(
            ticket,
            acting,
            Direction::System,
            Visibility::Internal,
            &note,
        ));
        let done = self.commit_action(ticket, action).await?;
        Ok(Edited { done, note })
    }
}

/// Each field that differs, as `name old → new`, the derived priority included.
fn describe_changes(from: &TicketFields, to: &TicketFields) -> Vec<String> {
    let mut changes = Vec::new();
    let mut compare = |name: &str, old: String, new: String| {
        if old != new {
            changes.push(format!("{name} {old} → {new}"));
        }
    };
    compare(
        "type",
        from.ticket_type.to_string(),
        to.ticket_type.to_string(),
    );
    let category = |c: &Option<String>| c.clone().unwrap_or_else(|| "(none)".into());
    compare("category", category(&from.category), category(&to.category));
    compare("impact", from.impact.to_string(), to.impact.to_string());
    compare("urgency", from.urgency.to_string(), to.urgency.to_string());
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    compare("private", yes_no(from.private), yes_no(to.private));
    compare(
        "priority",
        from.priority().label().to_string(),
        to.priority().label().to_string(),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> TicketFields {
        TicketFields {
            ticket_type: TicketType::Incident,
            category: None,
            impact: Impact::Degraded,
            urgency: Urgency::Medium,
            private: false,
        }
    }

    #[test]
    fn changes_name_old_and_new_values_and_the_derived_priority() {
        let edits = FieldEdits {
            impact: Some(Impact::Interrupted),
            urgency: Some(Urgency::High),
            category: Some(Some(" network ".into())),
            ..FieldEdits::default()
        };
        let to = edits.apply(&fields());
        assert_eq!(
            describe_changes(&fields(), &to),
            [
                "category (none) → network",
                "impact degraded → interrupted",
                "urgency medium → high",
                "priority P4 → P1"
            ]
        );
    }

    #[test]
    fn values_already_set_change_nothing_and_a_blank_category_clears_it() {
        let same = FieldEdits {
            ticket_type: Some(TicketType::Incident),
            impact: Some(Impact::Degraded),
            private: Some(false),
            ..FieldEdits::default()
        };
        assert!(describe_changes(&fields(), &same.apply(&fields())).is_empty());
        assert!(!same.is_empty() && FieldEdits::default().is_empty());

        let with_category = TicketFields {
            category: Some("network".into()),
            ..fields()
        };
        let clear = FieldEdits {
            category: Some(Some("  ".into())),
            ..FieldEdits::default()
        };
        assert_eq!(clear.apply(&with_category).category, None);
    }
}
