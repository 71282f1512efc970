//! Telling people what happened to their tickets: templates, composing the MIME message
//! (with the links [`crate::signing`] signs), the loop governor, the transport, and the outbox worker, the only
//! code that sends mail.

pub mod compose;
pub mod counted;
pub mod governor;
mod in_hand;
mod mail_delivery;
mod mail_group;
pub mod outbox_worker;
mod personal_delivery;
mod send_error;
mod setup;
mod sms_delivery;
pub mod smtp;
pub mod templates;
mod test_delivery;
pub mod transport;
mod unreachable;
pub mod unrecorded;
pub mod webhook;
mod webhook_delivery;

pub use setup::SetupError;
pub use test_delivery::{TestMailError, TestSent};
