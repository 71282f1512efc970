//! Telling people what happened to their tickets: templates, signed links, composing
//! the MIME message, the loop governor, the transport, and the outbox worker, the only
//! code that sends mail.

pub mod compose;
pub mod governor;
pub mod links;
pub mod outbox_worker;
mod setup;
pub mod smtp;
pub mod templates;
pub mod transport;

pub use setup::SetupError;
