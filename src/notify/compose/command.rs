//! What the answer to a refused customer command says: the command as written, one flag
//! per reason (so that a template words each case with `{{#if command.only_requester}}`),
//! and the commands there are.

use serde_json::{Value, json};

use crate::domain::{CommandRefusal, CommandRefusalReason};
use crate::pipeline::reply_effect::customer::CustomerCommand;

/// The `command` of the templates.
pub(super) fn command_data(refusal: Option<&CommandRefusal>) -> Value {
    let reason = refusal.map(|r| r.reason);
    json!({
        "line": refusal.map(|r| r.line.as_str()).unwrap_or(""),
        "not_understood": reason == Some(CommandRefusalReason::NotUnderstood),
        "only_requester": reason == Some(CommandRefusalReason::OnlyRequester),
        "only_requester_or_organisation":
            reason == Some(CommandRefusalReason::OnlyRequesterOrOrganisation),
        "unverified": reason == Some(CommandRefusalReason::Unverified),
        "nothing_to_change": reason == Some(CommandRefusalReason::NothingToChange),
        "known": CustomerCommand::WORDS,
    })
}
