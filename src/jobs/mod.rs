//! When the periodic work runs: the scheduler inside `ticketgate run`, which fires each
//! job on its cron schedule and once at start. What each job does, and running one by
//! hand, is the service layer's ([`crate::service::Jobs`]): the scheduler is one more
//! front end calling it.

pub mod scheduler;
