//! Pure types and rules of the ticketing domain: no I/O, no database, no clock.
//! Everything here is parsed once at the edge and trusted afterwards.

mod address;
mod article;
mod audience;
mod body_field;
mod fields;
mod filename;
mod mail;
mod notification;
mod phone;
mod routing;
mod size;
mod status;
mod ticket;
mod ticket_number;
mod title;
mod webhook;

pub use address::{AddressError, EmailAddress};
pub use article::{Article, ArticleExcerpt, Attachment, NewArticle};
pub use audience::{Actor, Audience, with_context};
pub use body_field::{
    BodyField, FieldLabels, FieldsNotice, GivenField, IncidentDetails, LabelClash, fold_label,
};
pub use fields::{Direction, Impact, Priority, TicketType, UnknownValue, Urgency, Visibility};
pub use filename::{content_type_from_name, sanitize_filename};
pub use mail::{
    AutomationHeaders, EmbeddedHeaders, InboundMail, MailAttachment, Mailbox, TraceHeader,
};
pub use notification::{
    CommandRefusal, CommandRefusalReason, Event, EventCategory, EventContext, MailRefusal,
    Notification, RefusalReason,
};
pub use phone::{PhoneError, PhoneNumber};
pub use routing::{RoutingEffect, RoutingRule, RoutingRuleError, RoutingRuleSpec};
pub use size::ByteSize;
pub use status::{InvalidMove, Status};
pub use ticket::{NewTicket, Ticket, TicketDetails, TicketFields, TicketSummary};
pub use ticket_number::{SubjectTag, SubjectTagError, TicketNumber, TicketNumberError};
pub use title::title_from_subject;
pub use webhook::{Subscription, Subscriptions, WebhookEvent, WebhookKey};
