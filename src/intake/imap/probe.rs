//! One login to a mailbox, for `ticketgate check-config --connect`: the same connection
//! code as the daemon's (TLS mode, `ca_file`, password or XOAUTH2), then a look at the
//! folder it reads, and a logout.

use std::time::Duration;

use super::connection::{open_session, tls_config};
use super::token::TokenProvider;
use super::{ImapError, protocol};
use crate::config::MailboxSettings;

/// How long the logout may take: the check has its answer already.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Logs in to `mailbox` and examines its folder (read-only: nothing is changed); says how
/// many messages the folder holds.
pub async fn check_login(mailbox: &MailboxSettings) -> Result<String, ImapError> {
    let tls = tls_config(mailbox)?;
    let tokens = TokenProvider::new(mailbox, tls.clone());
    let mut session = open_session(mailbox, &tls, &tokens).await?;
    let examined = session
        .examine(&mailbox.folder)
        .await
        .map_err(protocol("examining the folder"));
    let _ = tokio::time::timeout(LOGOUT_TIMEOUT, session.logout()).await;
    let folder = examined?;
    Ok(format!(
        "logged in as {}, folder {} holds {} message(s)",
        mailbox.username, mailbox.folder, folder.exists
    ))
}
