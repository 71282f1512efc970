//! An IMAP proxy on loopback that makes a private Dovecot look like the servers people run:
//! without some capabilities (IDLE, MOVE, UIDPLUS), or, like Courier-IMAP, telling a client
//! of new mail only when it sends NOOP. Dovecot cannot be configured into either, and the
//! servers themselves are not installable here; rewriting the conversation is enough, since
//! a client knows a server only by what it says.
//!
//! It also records every command the clients sent, so that a test can tell which messages a
//! client fetched and how often, and how many times it connected.
//!
//! Plain IMAP only. Each proxy runs on a thread and runtime of its own, so that it keeps
//! answering while a test blocks its own runtime (`wait_for` sleeps on the test's thread);
//! dropping the proxy closes its port and every connection through it.

mod rules;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use rules::{Rules, Verdict};

const HOST: &str = "127.0.0.1";

/// What the proxy changes in the conversation. `ProxyOptions::default()` changes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProxyOptions {
    /// Capabilities taken out of every capability list the server sends (the greeting's,
    /// `* CAPABILITY`, and the one in LOGIN's tagged OK), compared without case. The
    /// commands they bring are then refused with BAD, as a server without them would:
    /// `IDLE` for IDLE, `MOVE` and `UID MOVE` for MOVE, `UID EXPUNGE` for UIDPLUS; and
    /// without UIDPLUS the `[APPENDUID …]` and `[COPYUID …]` response codes go too.
    pub remove_capabilities: &'static [&'static str],
    /// Courier's snapshot of the folder: messages that arrive after SELECT are not told
    /// to the client (`* N EXISTS`, `* N RECENT` and `* N FETCH` above what it was told
    /// are dropped, a FETCH with its literals) until it sends NOOP, whose answer then
    /// carries `* N EXISTS` for them. IDLE does not release them: remove IDLE as well,
    /// unless the test is about an IDLE that never reports. SEARCH answers are not
    /// filtered: they may name held messages.
    pub hold_new_mail_until_noop: bool,
}

/// A running proxy: 127.0.0.1 on [`ImapProxy::port`], in front of one IMAP server.
pub struct ImapProxy {
    port: u16,
    log: Arc<Mutex<Log>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the clients did, over all connections.
#[derive(Default)]
struct Log {
    connections: usize,
    /// Commands in the order they arrived, each with the index of its connection.
    commands: Vec<(usize, String)>,
}

impl ImapProxy {
    /// Listens on a free 127.0.0.1 port and relays each connection to the server at
    /// `upstream_host:upstream_port`, which it connects to only when a client connects (so
    /// the proxy can outlive a restart of the server; while the server is down, a client
    /// connection is accepted and closed at once).
    pub fn start(upstream_host: &str, upstream_port: u16, options: ProxyOptions) -> ImapProxy {
        let listener = std::net::TcpListener::bind((HOST, 0)).expect("binding 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Log::default()));
        let (stop, stopped) = oneshot::channel();
        let upstream = (upstream_host.to_string(), upstream_port);
        let serving = serve(listener, upstream, options, Arc::clone(&log));
        let thread = std::thread::Builder::new()
            .name(format!("imap-proxy-{port}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the IMAP proxy");
                // Leaving `block_on` drops the runtime, and with it every connection's task.
                runtime.block_on(async move {
                    tokio::select! {
                        _ = stopped => {}
                        () = serving => {}
                    }
                });
            })
            .expect("a thread for the IMAP proxy");
        ImapProxy {
            port,
            log,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// "127.0.0.1".
    pub fn host(&self) -> &str {
        HOST
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many connections clients made so far.
    pub fn connections(&self) -> usize {
        self.log.lock().unwrap().connections
    }

    /// Every command of every connection, in the order they arrived, without tags:
    /// `UID FETCH 3:5 (UID BODY.PEEK[])`, `DONE` after IDLE. A command with literals has
    /// them left out, their `{N}` markers kept: `APPEND INBOX {312}`.
    pub fn commands(&self) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.commands.iter().map(|(_, c)| c.clone()).collect()
    }

    /// The commands of one connection (0 for the first), as [`ImapProxy::commands`].
    pub fn commands_of(&self, connection: usize) -> Vec<String> {
        let log = self.log.lock().unwrap();
        let commands = log.commands.iter().filter(|(n, _)| *n == connection);
        commands.map(|(_, c)| c.clone()).collect()
    }

    /// How many times each UID had its whole body fetched (`UID FETCH set …BODY.PEEK[]…`
    /// or `BODY[]`), over all connections; sets like `3:5,7` are counted per UID. Panics on
    /// a set with `*`, whose UIDs the command alone does not tell.
    pub fn body_fetch_counts(&self) -> HashMap<u32, usize> {
        let mut counts = HashMap::new();
        for command in self.commands() {
            let words: Vec<&str> = command.split_whitespace().collect();
            let [uid, fetch, set, items @ ..] = words.as_slice() else {
                continue;
            };
            let items = items.join(" ").to_ascii_uppercase();
            if uid.eq_ignore_ascii_case("UID")
                && fetch.eq_ignore_ascii_case("FETCH")
                && (items.contains("BODY.PEEK[]") || items.contains("BODY[]"))
            {
                for uid in uids(set, &command) {
                    *counts.entry(uid).or_default() += 1;
                }
            }
        }
        counts
    }
}

impl Drop for ImapProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The UIDs of a set such as `3:5,7`.
fn uids(set: &str, command: &str) -> Vec<u32> {
    let number = |n: &str| {
        n.parse::<u32>().unwrap_or_else(|_| {
            panic!("{command:?}: cannot count the UIDs of {set:?} from the command alone")
        })
    };
    let mut uids = Vec::new();
    for part in set.split(',') {
        let (first, last) = part.split_once(':').unwrap_or((part, part));
        let (first, last) = (number(first), number(last));
        uids.extend(first.min(last)..=first.max(last));
    }
    uids
}

/// Accepts clients until the proxy is dropped, a task for each.
async fn serve(
    listener: std::net::TcpListener,
    upstream: (String, u16),
    options: ProxyOptions,
    log: Arc<Mutex<Log>>,
) {
    let listener = TcpListener::from_std(listener).expect("the proxy's listener");
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let index = {
            let mut log = log.lock().unwrap();
            log.connections += 1;
            log.connections - 1
        };
        let (upstream, log) = (upstream.clone(), Arc::clone(&log));
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)).await else {
                return; // The client sees the connection close, as when the server is down.
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            let connection = Connection {
                rules: Mutex::new(Rules::new(options)),
                literal: Mutex::new(None),
                to_client: tokio::sync::Mutex::new(client_write),
                log,
                index,
            };
            // Both directions at once (a client may wait for `+` before a literal); when
            // one side closes, both are closed.
            tokio::select! {
                _ = connection.commands(BufReader::new(client_read), server_write) => {}
                _ = connection.responses(BufReader::new(server_read)) => {}
            }
        });
    }
}

/// What the two directions of one connection share.
struct Connection {
    rules: Mutex<Rules>,
    /// The tag of the command whose `{N}` literal waits for the server's answer (`+`, or
    /// the tagged answer that refuses it), and where to say which came.
    literal: Mutex<Option<(String, oneshot::Sender<bool>)>>,
    /// Responses, and commands answered in the server's place, go out one at a time.
    to_client: tokio::sync::Mutex<OwnedWriteHalf>,
    log: Arc<Mutex<Log>>,
    index: usize,
}

impl Connection {
    /// Passes on each command, with its literals and the lines after them, recording it;
    /// or answers it in the server's place when [`Rules::command`] refuses it.
    async fn commands(
        &self,
        mut client: BufReader<OwnedReadHalf>,
        mut server: OwnedWriteHalf,
    ) -> std::io::Result<()> {
        let mut line = Vec::new();
        while read_line(&mut client, &mut line).await? {
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            // A command is `TAG COMMAND …`; DONE, and answers to AUTHENTICATE, have no tag.
            let (tag, command) = text.split_once(' ').unwrap_or(("", &text));
            let entry = {
                let mut log = self.log.lock().unwrap();
                log.commands.push((self.index, command.to_string()));
                log.commands.len() - 1
            };
            let refusal = self.rules.lock().unwrap().command(tag, command);
            if let Some(refusal) = refusal {
                let mut to_client = self.to_client.lock().await;
                to_client.write_all(refusal.as_bytes()).await?;
                continue;
            }
            loop {
                let literal = literal_len(&line);
                // Before a `{N}` literal the client waits for the server's `+`; if the
                // server answers the command instead, the literal never comes.
                let go_ahead = literal.filter(|(_, waits)| *waits).map(|_| {
                    let (tell, told) = oneshot::channel();
                    *self.literal.lock().unwrap() = Some((tag.to_string(), tell));
                    told
                });
                server.write_all(&line).await?;
                let Some((len, _)) = literal else { break };
                if let Some(go_ahead) = go_ahead
                    && !go_ahead.await.unwrap_or(false)
                {
                    break;
                }
                let copied = tokio::io::copy(&mut (&mut client).take(len), &mut server).await?;
                if copied < len || !read_line(&mut client, &mut line).await? {
                    return Ok(());
                }
                let rest = String::from_utf8_lossy(&line).trim_end().to_string();
                self.log.lock().unwrap().commands[entry].1 += &rest;
            }
        }
        Ok(())
    }

    /// Passes on the server's responses as [`Rules::response`] rewrites them. A response
    /// is read whole, literals and all, before it is passed on or dropped: a dropped FETCH
    /// takes its message body with it.
    async fn responses(&self, mut server: BufReader<OwnedReadHalf>) -> std::io::Result<()> {
        let mut line = Vec::new();
        while read_line(&mut server, &mut line).await? {
            let first = std::mem::take(&mut line);
            self.answer_literal(&first);
            let mut rest = Vec::new();
            let mut literal = literal_len(&first);
            while let Some((len, _)) = literal {
                let start = rest.len();
                rest.resize(start + len as usize, 0);
                server.read_exact(&mut rest[start..]).await?;
                if !read_line(&mut server, &mut line).await? {
                    return Ok(());
                }
                rest.extend_from_slice(&line);
                literal = literal_len(&line);
            }
            let verdict = self
                .rules
                .lock()
                .unwrap()
                .response(&String::from_utf8_lossy(&first));
            let first = match verdict {
                Verdict::Pass => first,
                Verdict::Replace(text) => text.into_bytes(),
                Verdict::Drop => continue,
            };
            let mut client = self.to_client.lock().await;
            client.write_all(&first).await?;
            client.write_all(&rest).await?;
        }
        Ok(())
    }

    /// Tells the command waiting with a `{N}` literal whether the server, by this response,
    /// let it come (`+`) or answered the command without it (its tagged answer).
    fn answer_literal(&self, response: &[u8]) {
        let mut waiting = self.literal.lock().unwrap();
        let Some((tag, _)) = &*waiting else { return };
        let go_ahead = response.starts_with(b"+");
        let tagged = response.strip_prefix(tag.as_bytes());
        if go_ahead || tagged.is_some_and(|rest| rest.starts_with(b" ")) {
            let (_, tell) = waiting.take().unwrap();
            let _ = tell.send(go_ahead);
        }
    }
}

/// Reads one line, CRLF included, into `line`; false at the end of the stream.
async fn read_line(
    reader: &mut BufReader<OwnedReadHalf>,
    line: &mut Vec<u8>,
) -> std::io::Result<bool> {
    line.clear();
    Ok(reader.read_until(b'\n', line).await? > 0)
}

/// The length of the literal a line announces at its end, and whether it is synchronizing
/// (`{N}`, sent after the server's `+`) rather than `{N+}` (LITERAL+); `~{N}` (BINARY) too.
/// Its N bytes follow the line, then the rest of the command or response.
fn literal_len(line: &[u8]) -> Option<(u64, bool)> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inside = line.strip_suffix(b"}")?;
    let len = std::str::from_utf8(&inside[inside.iter().rposition(|&b| b == b'{')? + 1..]).ok()?;
    match len.strip_suffix('+') {
        Some(len) => Some((len.parse().ok()?, false)),
        None => Some((len.parse().ok()?, true)),
    }
}
