//! Mail in and out of an instance over IMAP, as a mail client would put it there and read it
//! back, rather than writing files behind Dovecot's back.

use std::time::Duration;

use async_imap::types::Fetch;
use async_imap::{Client, Session};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{Dovecot, HOST, IMAP_TIMEOUT};

impl Dovecot {
    /// APPENDs a message to `folder` of `user` over IMAP. The folder must exist: INBOX,
    /// Processed, or one the code under test created. Here and below, folders are named in
    /// full, with the namespace prefix if the instance has one ("INBOX.Processed"; see
    /// [`Dovecot::folder`]).
    pub async fn append(&self, user: &str, folder: &str, message: &[u8]) {
        let mut session = self.session(user).await;
        imap(
            format!("APPEND to {folder} of {user}"),
            session.append(folder, None, None, message),
        )
        .await;
        logout(session).await;
    }

    /// APPENDs `messages` in order over one session, `pause` apart: mail arriving while
    /// something else happens.
    pub async fn append_all(
        &self,
        user: &str,
        folder: &str,
        messages: &[Vec<u8>],
        pause: Duration,
    ) {
        let mut session = self.session(user).await;
        for message in messages {
            imap(
                format!("APPEND to {folder} of {user}"),
                session.append(folder, None, None, message),
            )
            .await;
            tokio::time::sleep(pause).await;
        }
        logout(session).await;
    }

    /// Deletes `folder` of `user` if it exists and creates it again: a new folder with a new
    /// UIDVALIDITY, as after a restore or a server migration.
    pub async fn recreate_folder(&self, user: &str, folder: &str) {
        let mut session = self.session(user).await;
        let _ = session.delete(folder).await;
        imap(format!("CREATE {folder} of {user}"), session.create(folder)).await;
        logout(session).await;
    }

    /// Number of messages in `folder` of `user`, from IMAP STATUS.
    pub async fn count(&self, user: &str, folder: &str) -> u32 {
        let mut session = self.session(user).await;
        let status = imap(
            format!("STATUS of {folder} of {user}"),
            session.status(folder, "(MESSAGES)"),
        )
        .await;
        logout(session).await;
        status.exists
    }

    /// The raw messages in `folder` of `user`, in UID order, fetched over IMAP without
    /// setting \Seen.
    pub async fn messages(&self, user: &str, folder: &str) -> Vec<Vec<u8>> {
        let mut session = self.session(user).await;
        let mailbox = imap(
            format!("EXAMINE {folder} of {user}"),
            session.examine(folder),
        )
        .await;
        let what = format!("UID FETCH in {folder} of {user}");
        let fetches: Vec<Fetch> = if mailbox.exists == 0 {
            Vec::new()
        } else {
            imap(&what, async {
                session
                    .uid_fetch("1:*", "BODY.PEEK[]")
                    .await?
                    .try_collect()
                    .await
            })
            .await
        };
        let mut messages: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .map(|f| {
                let uid = f
                    .uid
                    .unwrap_or_else(|| panic!("{what}: a reply without UID"));
                let body = f
                    .body()
                    .unwrap_or_else(|| panic!("{what}: no body for {uid}"));
                (uid, body.to_vec())
            })
            .collect();
        messages.sort_by_key(|(uid, _)| *uid);
        logout(session).await;
        messages.into_iter().map(|(_, body)| body).collect()
    }

    /// A logged-in session of `user` over plain IMAP, for exchanges the helpers above do
    /// not cover (the benches time their own APPENDs on it).
    pub async fn session(&self, user: &str) -> Session<TcpStream> {
        self.session_at(user, self.port).await
    }

    /// A logged-in session of `user` through another port on 127.0.0.1 that leads to this
    /// instance: an `ImapProxy` in front of it.
    pub async fn session_at(&self, user: &str, port: u16) -> Session<TcpStream> {
        let password = self
            .users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
            .unwrap_or_else(|| panic!("{user} is not a user of this Dovecot"));
        let stream = imap(
            format!("connecting to {HOST}:{port}"),
            TcpStream::connect((HOST, port)),
        )
        .await;
        let client = greeted(Client::new(stream)).await;
        let login = tokio::time::timeout(IMAP_TIMEOUT, client.login(user, password));
        match login.await {
            Ok(Ok(session)) => session,
            Ok(Err((e, _))) => panic!("LOGIN of {user}: {e}\n{}", self.log()),
            Err(_) => panic!("LOGIN of {user}: no answer within {IMAP_TIMEOUT:?}"),
        }
    }
}

/// The client after reading the server's greeting, which `Client::new` does not read; without
/// this the greeting is taken as the answer to the first command.
pub(super) async fn greeted<T>(mut client: Client<T>) -> Client<T>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let greeting = imap("reading the greeting", client.read_response()).await;
    assert!(greeting.is_some(), "the server closed without a greeting");
    client
}

/// Awaits an IMAP exchange, panicking with `what` on an error or after the IMAP timeout.
pub(super) async fn imap<T, E: std::fmt::Display>(
    what: impl std::fmt::Display,
    exchange: impl Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(IMAP_TIMEOUT, exchange).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer within {IMAP_TIMEOUT:?}"),
    }
}

pub(super) async fn logout<T>(mut session: Session<T>)
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    imap("LOGOUT", session.logout()).await;
}
