//! Telling people what happened to their tickets: signed direct links and the bilingual
//! templates of every notification. The outbox worker and the SMTP transport come with
//! the rest of the notifications work.

pub mod links;
pub mod templates;
