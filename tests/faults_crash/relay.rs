//! A relay between the daemon and Dovecot that cuts a FETCH of message bodies at a chosen
//! place, so that a failure lands inside the FETCH every time rather than when timing
//! allows: after a number of whole messages, in the middle of the next one's literal or
//! right after a whole one (where the stream ends cleanly between two responses). At a cut
//! the relay either closes both connections itself, as a network failure would, or holds
//! the rest of the response and tells the test, which then kills Dovecot: the daemon sees
//! its connection die with Dovecot in the middle of the FETCH.
//!
//! It records the UID sets of the body FETCHes, so that a test can tell which messages were
//! fetched again. Runs on a thread and runtime of its own, like the harness's `ImapProxy`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Where a body FETCH is cut, counted in the messages of its response.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    /// Messages passed whole before the cut.
    pub after: usize,
    /// Whether the next message's first line and half its literal go through too, so that
    /// the stream stops in the middle of a message rather than between two.
    pub mid_message: bool,
    pub how: CutBy,
}

/// Who ends the connection at a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutBy {
    /// The relay closes both sides.
    Relay,
    /// The relay holds the rest and waits for the server to die (see [`Relay::held`]).
    ServerDeath,
}

/// What the connections share with the test.
#[derive(Default)]
struct State {
    /// Cuts still to make, the next first; each body FETCH response takes at most one.
    cuts: VecDeque<Cut>,
    /// Cuts made so far.
    made: usize,
    /// Whether a response is held, waiting for the server to die.
    held: bool,
    /// The UID set of each body FETCH the clients sent, in order.
    body_fetches: Vec<String>,
}

/// A running relay: 127.0.0.1 on [`Relay::port`], in front of one IMAP server.
pub struct Relay {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    /// Relays each connection to 127.0.0.1:`upstream` (connected when a client connects,
    /// so the relay outlives a restart of the server), making `cuts` in order, one per body
    /// FETCH response long enough.
    pub fn start(upstream: u16, cuts: &[Cut]) -> Relay {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            cuts: cuts.iter().copied().collect(),
            ..State::default()
        }));
        let (stop, stopped) = oneshot::channel();
        let serving = serve(listener, upstream, Arc::clone(&state));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                tokio::select! {
                    _ = stopped => {}
                    () = serving => {}
                }
            });
        });
        Relay {
            port,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cuts made so far.
    pub fn cuts_made(&self) -> usize {
        self.state.lock().unwrap().made
    }

    /// Waits (at most `timeout`) until a response is held for a [`CutBy::ServerDeath`] cut;
    /// false if none was.
    pub async fn held(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.state.lock().unwrap().held {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// The UID sets of the body FETCHes sent so far (`1:100`, `3,4,9`), in order.
    pub fn body_fetches(&self) -> Vec<String> {
        self.state.lock().unwrap().body_fetches.clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: std::net::TcpListener, upstream: u16, state: Arc<Mutex<State>>) {
    let listener = TcpListener::from_std(listener).unwrap();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            // While the server is down, the client sees its connection close at once.
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                return;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::select! {
                _ = commands(BufReader::new(client_read), server_write, &state) => {}
                _ = responses(BufReader::new(server_read), client_write, &state) => {}
            }
        });
    }
}

/// Passes the client's commands on, recording the UID sets of body FETCHes.
async fn commands(
    mut client: BufReader<OwnedReadHalf>,
    mut server: OwnedWriteHalf,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    while read_line(&mut client, &mut line).await? {
        let text = String::from_utf8_lossy(&line).to_ascii_uppercase();
        let words: Vec<&str> = text.split_whitespace().collect();
        if let [_, "UID", "FETCH", set, ..] = words[..]
            && text.contains("BODY.PEEK[]")
        {
            state.lock().unwrap().body_fetches.push(set.to_string());
        }
        server.write_all(&line).await?;
        if let Some(len) = literal_len(&line) {
            tokio::io::copy(&mut (&mut client).take(len), &mut server).await?;
        }
    }
    Ok(())
}

/// Passes the server's responses on, a whole response (literals included) at a time,
/// until a cut ends the connection.
async fn responses(
    mut server: BufReader<OwnedReadHalf>,
    mut client: OwnedWriteHalf,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    // Messages of the current FETCH response passed whole.
    let mut passed = 0;
    while read_line(&mut server, &mut line).await? {
        // The response's parts: its first line, then each literal and the line after it.
        let mut parts = vec![std::mem::take(&mut line)];
        let message = parts[0].starts_with(b"* ") && literal_len(&parts[0]).is_some();
        while let Some(len) = literal_len(parts.last().unwrap()) {
            let mut literal = vec![0; len as usize];
            server.read_exact(&mut literal).await?;
            parts.push(literal);
            if !read_line(&mut server, &mut line).await? {
                return Ok(());
            }
            parts.push(std::mem::take(&mut line));
        }
        if !message {
            // A tagged answer ends the command: the next FETCH is counted anew.
            if !parts[0].starts_with(b"*") {
                passed = 0;
            }
            client.write_all(&parts.concat()).await?;
            continue;
        }
        let cut = {
            let mut state = state.lock().unwrap();
            let due = state.cuts.front().is_some_and(|c| c.after == passed);
            due.then(|| state.cuts.pop_front().unwrap())
        };
        if let Some(cut) = cut {
            if cut.mid_message {
                client.write_all(&parts[0]).await?;
                client.write_all(&parts[1][..parts[1].len() / 2]).await?;
            }
            client.flush().await?;
            return end(server, state, cut).await;
        }
        client.write_all(&parts.concat()).await?;
        passed += 1;
    }
    Ok(())
}

/// Ends the connection at `cut`: at once, or once the server is gone.
async fn end(
    mut server: BufReader<OwnedReadHalf>,
    state: &Mutex<State>,
    cut: Cut,
) -> std::io::Result<()> {
    {
        let mut state = state.lock().unwrap();
        state.made += 1;
        state.held = cut.how == CutBy::ServerDeath;
    }
    if cut.how == CutBy::ServerDeath {
        // Whatever else the server sends is dropped, until it dies.
        let mut sink = tokio::io::sink();
        let _ = tokio::io::copy(&mut server, &mut sink).await;
        state.lock().unwrap().held = false;
    }
    Ok(())
}

/// Reads one line, CRLF included; false at the end of the stream.
async fn read_line(
    reader: &mut BufReader<OwnedReadHalf>,
    line: &mut Vec<u8>,
) -> std::io::Result<bool> {
    line.clear();
    Ok(reader.read_until(b'\n', line).await? > 0)
}

/// The length of the `{N}` (or `{N+}`) literal a line announces at its end.
fn literal_len(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let inside = text.strip_suffix('}')?;
    let len = &inside[inside.rfind('{')? + 1..];
    len.trim_end_matches('+').parse().ok()
}
