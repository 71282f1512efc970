//! Who really sent the mail, found once per mail and only when something rests on it: a
//! From naming one of our addresses, an agent's address, a customer's mail on a ticket
//! under a policy that asks. What the policies make of it is decided here too.

use super::super::authenticate::SenderCheck;
use super::super::authorize::{self, Authorization};
use super::super::trace::Trace;
use super::Pipeline;
use crate::config::{AgentPolicy, CustomerPolicy};
use crate::domain::{EmailAddress, InboundMail, Ticket};

/// The mail's raw bytes (a DKIM signature is checked over them) and the check once made.
pub(super) struct Identity<'r> {
    raw: &'r [u8],
    checked: Option<SenderCheck>,
}

impl<'r> Identity<'r> {
    pub(super) fn new(raw: &'r [u8]) -> Self {
        Self { raw, checked: None }
    }

    /// The check, if one was made.
    pub(super) fn checked(&self) -> Option<&SenderCheck> {
        self.checked.as_ref()
    }
}

/// What the policies allow a mail on a ticket.
pub(super) struct Admitted {
    pub authorization: Authorization,
    /// An agent's address that could not be authenticated: it writes as a customer.
    pub demoted: bool,
    /// A customer that must be authenticated and is not: a ticket of their own instead.
    pub refused: bool,
}

impl Pipeline {
    /// Whether `sender` is authenticated, checked at the first need and noted in `trace`.
    pub(super) async fn check_sender(
        &self,
        mail: &InboundMail<'_>,
        sender: &EmailAddress,
        identity: &mut Identity<'_>,
        trace: &mut Trace,
    ) -> SenderCheck {
        if let Some(checked) = &identity.checked {
            return checked.clone();
        }
        let check = self.authenticator.check(mail, identity.raw, sender).await;
        trace.note(
            "authenticate",
            format!(
                "{sender}: {} ({})",
                if check.verified {
                    "authenticated"
                } else {
                    "not authenticated"
                },
                check.how
            ),
        );
        identity.checked = Some(check.clone());
        check
    }

    /// Who `sender` is on `ticket` once the policies have their say: an agent's address
    /// counts as an agent only when authenticated (the agents' team address always asks),
    /// and a customer who must be authenticated and is not is refused.
    pub(super) async fn admit(
        &self,
        mail: &InboundMail<'_>,
        sender: &EmailAddress,
        ticket: &Ticket,
        identity: &mut Identity<'_>,
        trace: &mut Trace,
    ) -> Admitted {
        let s = &self.settings;
        let policy = self.policy();
        let team = s.agents_address.as_ref();
        let mut authorization =
            authorize::authorize(sender, ticket, &s.agents, team, &s.public_domains);
        let mut demoted = false;
        if let Authorization::Agent(_) = &authorization {
            let team_address = team.is_some_and(|t| t.same_mailbox(sender));
            if (policy.agents == AgentPolicy::Require || team_address)
                && !self
                    .check_sender(mail, sender, identity, trace)
                    .await
                    .verified
            {
                tracing::warn!(%sender, ticket = %ticket.number, "mail from an agent's address that is not authenticated: it writes as a customer, no command applies");
                authorization = authorize::authorize(sender, ticket, &[], None, &s.public_domains);
                demoted = true;
                trace.note(
                    "authorize",
                    format!(
                        "{sender} is an agent's address but not authenticated: a customer here"
                    ),
                );
            }
        }
        let mut refused = false;
        if authorization.allowed()
            && !matches!(authorization, Authorization::Agent(_))
            && policy.customers != CustomerPolicy::Off
        {
            let verified = self
                .check_sender(mail, sender, identity, trace)
                .await
                .verified;
            refused = !verified && policy.customers == CustomerPolicy::Require;
        }
        Admitted {
            authorization,
            demoted,
            refused,
        }
    }
}
