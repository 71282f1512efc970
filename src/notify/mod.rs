//! Telling people what happened to their tickets: signed direct links (this module so far);
//! templates, the outbox worker and the SMTP transport come with the notifications work.

pub mod links;
