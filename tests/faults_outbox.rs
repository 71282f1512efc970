//! Faults on the sending side: an SMTP server down for a long time, an auto-responder
//! that answers every notification, a storm of delivery reports.
