//! Pure types of the ticketing domain: no I/O, no database, no clock.
//! Everything here is parsed once at the edge and trusted afterwards.

mod address;
mod mail;
mod notification;
mod ticket;
mod ticket_number;

pub use address::{AddressError, EmailAddress};
pub use mail::{AutomationHeaders, EmbeddedHeaders, InboundMail, MailAttachment, Mailbox};
pub use notification::{
    Actor, Audience, Event, EventCategory, EventContext, MailRefusal, Notification, RefusalReason,
    with_context,
};
pub use ticket::{
    Direction, Impact, InvalidMove, Priority, Status, TicketType, UnknownValue, Urgency, Visibility,
};
pub use ticket_number::{SubjectTag, SubjectTagError, TicketNumber, TicketNumberError};
