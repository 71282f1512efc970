//! What customers do through the portal that the notifications' direct links open: trade
//! a link for a session, and read the tickets their address may see. The web side decodes
//! requests and renders pages; every rule is here.
//!
//! Who may see a ticket is who may write on it by mail (its requester, its observers, the
//! agents, the requester's organisation unless the ticket is private): the same function
//! decides both. A ticket the visitor may not see is "not found", exactly as one that does
//! not exist, so that numbers cannot be probed.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{Article, Direction, EmailAddress, Ticket, TicketNumber, Visibility};
use crate::files::Files;
use crate::pipeline::authorize::{Authorization, authorize};
use crate::signing::{LinkError, LinkKeyError, LinkSigner};
use crate::store::{Store, StoreError};

use super::TicketError;

mod actions;
mod fresh_links;
mod preferences;
mod sharing;
mod short_links;
mod throttle;

pub use actions::PortalFile;

/// Why a portal request gets no page of its own.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The link is damaged, altered or expired.
    #[error("this link cannot be opened: {0}")]
    Link(#[source] LinkError),
    /// The link is genuine but for another ticket than the address names.
    #[error("this link is for another ticket; open the link of the email about this one")]
    OtherTicket,
    /// No session, or one that ended.
    #[error("open the link in one of our emails to see your tickets")]
    NotSignedIn,
    /// Unknown, or not the visitor's to see: the same answer for both.
    #[error("there is no such ticket among yours")]
    NotFound,
    /// A form sent without the token of the session that sent it (another site's form).
    #[error("the form was not sent from this page; open the ticket again and resend it")]
    Forged,
    /// A choice the page does not offer (a language that is not ours).
    #[error("this choice is not one the page offers")]
    BadChoice,
    /// What was typed is no mail address.
    #[error("this is not an email address")]
    BadAddress,
    /// What was typed is no phone number SMS can reach, or SMS were chosen without one.
    #[error("this is not a phone number in international form")]
    BadPhone,
    /// The person named follows the ticket already (or opened it).
    #[error("this person follows the ticket already")]
    AlreadyFollows,
    /// A comment or a refusal with no words.
    #[error("write a message first")]
    EmptyMessage,
    /// The ticket is closed: a message must go by mail, which follows it up.
    #[error("the ticket is closed; write to us by email to follow it up")]
    Closed,
    /// Only the requester answers a solution.
    #[error("only the person who opened the ticket can answer its solution")]
    NotRequester,
    /// The solution was answered already, or the ticket moved on.
    #[error("there is no solution waiting for an answer: the ticket is {0}")]
    NoSolutionPending(crate::domain::Status),
    /// Too many links that did not open, or requests for fresh links, from this client or
    /// for this address.
    #[error("too many attempts; wait a while before trying again")]
    TooManyAttempts,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else the ticket service refused; our side's fault.
    #[error(transparent)]
    Tickets(TicketError),
}

impl From<TicketError> for PortalError {
    fn from(error: TicketError) -> Self {
        match error {
            TicketError::Closed(_) => PortalError::Closed,
            TicketError::NotRequester(_) => PortalError::NotRequester,
            TicketError::NoSolutionPending(_, status) => PortalError::NoSolutionPending(status),
            TicketError::NoTicket(_) => PortalError::NotFound,
            TicketError::Store(e) => PortalError::Store(e),
            other => PortalError::Tickets(other),
        }
    }
}

/// A session opened by a direct link: the cookie's value and when it ends.
#[derive(Debug, Clone)]
pub struct PortalSession {
    /// Secret: it opens the visitor's tickets. Never logged.
    pub cookie: String,
    pub expires: DateTime<Utc>,
    pub ticket: TicketNumber,
}

/// A ticket as its customer sees it: its fields and its public history.
#[derive(Debug, Clone)]
pub struct PortalTicket {
    pub ticket: Ticket,
    /// Public articles only, oldest first.
    pub articles: Vec<PortalArticle>,
    /// How the visitor stands to it.
    pub standing: Authorization,
    /// The people in copy as their mail's headers named them: `Marc Petit
    /// <marc@acme.example>`, or the address alone.
    pub observers: Vec<String>,
}

/// One public article, with who wrote it as a customer reads it.
#[derive(Debug, Clone)]
pub struct PortalArticle {
    pub article: Article,
    /// The writer's name (or address); the company's name for the team itself.
    pub author: String,
    /// Written by the support side (an agent, or the team).
    pub from_team: bool,
}

/// The portal's operations.
#[derive(Debug, Clone)]
pub struct PortalService {
    store: Store,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
    links: LinkSigner,
    files: Files,
    session_lifetime: chrono::Duration,
    throttles: Arc<Throttles>,
}

/// How often strangers may knock: the limits of `[http]`.
#[derive(Debug)]
struct Throttles {
    /// Links that did not open, per client.
    failed_links: throttle::Throttle,
    /// Requests for fresh links, per client and per address typed.
    fresh_links_by_client: throttle::Throttle,
    fresh_links_by_address: throttle::Throttle,
}

impl PortalService {
    /// The portal on `store`, signing with the link key the settings name.
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LinkKeyError> {
        let links = LinkSigner::from_settings(&settings)?;
        let session_lifetime = chrono::Duration::from_std(settings.http.session_lifetime)
            .unwrap_or(chrono::Duration::days(7));
        let http = &settings.http;
        let throttles = Arc::new(Throttles {
            failed_links: throttle::Throttle::new(http.failed_links_per_client),
            fresh_links_by_client: throttle::Throttle::new(http.fresh_links_per_client),
            fresh_links_by_address: throttle::Throttle::new(http.fresh_links_per_address),
        });
        Ok(Self {
            throttles,
            files: Files::new(&settings, &store),
            store,
            settings,
            clock,
            links,
            session_lifetime,
        })
    }

    /// Trades the direct link of ticket `number` for a session of its recipient. The
    /// token must be genuine, unexpired, and for that very ticket. A `client` whose links
    /// failed too often lately is turned away before its token is even read.
    pub fn open_link(
        &self,
        number: &str,
        token: &str,
        client: IpAddr,
    ) -> Result<PortalSession, PortalError> {
        let now = self.clock.now();
        let client = self.link_client(client, now)?;
        let checked = self
            .links
            .verify(token, now)
            .map_err(PortalError::Link)
            .and_then(|grant| {
                if grant.ticket.as_str() == number {
                    Ok(grant)
                } else {
                    Err(PortalError::OtherTicket)
                }
            });
        self.session_for(checked, &client, now)
    }

    /// The key `client`'s failed links are counted under; refused when they failed too
    /// often lately, before anything of the link is read.
    fn link_client(&self, client: IpAddr, now: DateTime<Utc>) -> Result<String, PortalError> {
        let client = throttle::client_key(client);
        if self.throttles.failed_links.exhausted(&client, now) {
            return Err(PortalError::TooManyAttempts);
        }
        Ok(client)
    }

    /// A session from now for the person `checked` grants; a link that did not check out
    /// counts against `client`.
    fn session_for(
        &self,
        checked: Result<crate::signing::LinkGrant, PortalError>,
        client: &str,
        now: DateTime<Utc>,
    ) -> Result<PortalSession, PortalError> {
        let grant = checked.inspect_err(|_| {
            self.throttles.failed_links.admit(client, now);
        })?;
        let expires = now + self.session_lifetime;
        Ok(PortalSession {
            cookie: self.links.session(&grant.recipient, expires),
            expires,
            ticket: grant.ticket,
        })
    }

    /// Whose session `cookie` is.
    pub fn visitor(&self, cookie: &str) -> Result<EmailAddress, PortalError> {
        self.links
            .verify_session(cookie, self.clock.now())
            .map_err(|_| PortalError::NotSignedIn)
    }

    /// Ticket `number` as `visitor` may see it.
    pub async fn ticket(
        &self,
        visitor: &EmailAddress,
        number: &str,
    ) -> Result<PortalTicket, PortalError> {
        let number: TicketNumber = number.parse().map_err(|_| PortalError::NotFound)?;
        let details = self
            .store
            .ticket_details(&number)
            .await?
            .ok_or(PortalError::NotFound)?;
        let standing = self.standing(visitor, &details.ticket)?;
        let articles = details
            .articles
            .into_iter()
            .filter(|a| a.visibility == Visibility::Public)
            .map(|a| self.as_read(a, &details.ticket))
            .collect();
        let names = self.store.observer_names(details.ticket.id).await?;
        let observers = details
            .ticket
            .observers
            .iter()
            .map(|o| match names.get(&o.key()) {
                Some(name) => format!("{name} <{o}>"),
                None => o.to_string(),
            })
            .collect();
        Ok(PortalTicket {
            ticket: details.ticket,
            articles,
            standing,
            observers,
        })
    }

    /// Ticket `number`, without its history, if `visitor` may see it: what an action
    /// checks before the ticket service runs it.
    async fn admitted(&self, visitor: &EmailAddress, number: &str) -> Result<Ticket, PortalError> {
        let number: TicketNumber = number.parse().map_err(|_| PortalError::NotFound)?;
        let ticket = self
            .store
            .ticket_by_number(&number)
            .await?
            .ok_or(PortalError::NotFound)?;
        self.standing(visitor, &ticket)?;
        Ok(ticket)
    }

    /// How `visitor` stands to `ticket`; "not found" when they may not see it.
    fn standing(
        &self,
        visitor: &EmailAddress,
        ticket: &Ticket,
    ) -> Result<Authorization, PortalError> {
        let s = &self.settings;
        let standing = authorize(
            visitor,
            ticket,
            &s.agents,
            s.agents_address.as_ref(),
            &s.public_domains,
        );
        if standing.allowed() {
            Ok(standing)
        } else {
            Err(PortalError::NotFound)
        }
    }

    /// `article` with its writer as a customer reads it: a person by name (the requester
    /// by the name their mail gave, also on what they wrote from the portal), the team
    /// (our own or the agents' address, no agent named) by the company's name.
    fn as_read(&self, article: Article, ticket: &Ticket) -> PortalArticle {
        let s = &self.settings;
        let author = EmailAddress::parse(&article.author).ok();
        let agent = author
            .as_ref()
            .and_then(|a| s.agents.iter().find(|g| g.email.same_mailbox(a)));
        let team = author.as_ref().is_some_and(|a| {
            s.own_addresses
                .iter()
                .chain(s.agents_address.as_ref())
                .any(|t| t.same_mailbox(a))
        });
        let shown = match (agent, &article.author_name) {
            (Some(agent), _) => agent.name.clone(),
            (None, _) if team => s.company.clone(),
            (None, Some(name)) => name.clone(),
            (None, None) => author
                .as_ref()
                .filter(|a| a.same_mailbox(&ticket.requester))
                .and(ticket.requester_name.clone())
                .unwrap_or_else(|| article.author.clone()),
        };
        PortalArticle {
            from_team: article.direction == Direction::Outbound || agent.is_some() || team,
            author: shown,
            article,
        }
    }
}
