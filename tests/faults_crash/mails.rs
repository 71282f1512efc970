//! The mail of a run, made up as it goes: new tickets (a quarter with a colleague in Cc,
//! who becomes an observer), and replies from a requester that carry the tag of a ticket
//! opened earlier in the run, so that comments happen too. Each mail knows what it must
//! become and which notifications it must queue.

use std::collections::{BTreeMap, HashMap};

/// Where customer comments are reported (`[mail] agents_address`): each comment queues a
/// notification to it.
pub const AGENTS: &str = "agents@example.com";

/// The configuration every run shares: the mail server that authenticates the customers,
/// and the agents' address.
pub const CONFIG: &str = "[mail]\naddresses = [\"support@localhost\"]\nagents_address = \"agents@example.com\"\n\
    [authentication]\ntrusted_authserv_ids = [\"mx.test\"]\nverify = false\n";

/// One mail of the run.
pub struct Mail {
    pub message_id: String,
    pub bytes: Vec<u8>,
    pub kind: Kind,
}

/// What a mail must become.
pub enum Kind {
    /// A new ticket of `requester`, with `observer` (from Cc) when there is one.
    Opens {
        requester: String,
        observer: Option<String>,
    },
    /// A comment on the ticket that the mail with this Message-ID opened.
    Comments { on: String },
}

/// The mail of a run, pseudo-random from a seed.
pub struct Plan {
    rng: fastrand::Rng,
    pub mails: Vec<Mail>,
    /// Index in `mails` of each Message-ID.
    by_id: HashMap<String, usize>,
}

impl Plan {
    pub fn new(seed: u64) -> Self {
        Plan {
            rng: fastrand::Rng::with_seed(seed),
            mails: Vec::new(),
            by_id: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.mails.len()
    }

    /// Makes `n` more mails and returns them. About a third are replies to tickets of
    /// `opened` (the Message-ID of the mail that opened each ticket, with its number): those
    /// the daemon committed so far, so that their tags are known.
    pub fn more(&mut self, n: usize, opened: &HashMap<String, String>) -> &[Mail] {
        let mut open: Vec<(&String, &String)> = opened.iter().collect();
        open.sort(); // The map's order is not the seed's to decide.
        let first = self.mails.len();
        for i in first..first + n {
            let mail = if !open.is_empty() && self.rng.u8(..3) == 0 {
                let (on, number) = open[self.rng.usize(..open.len())];
                self.reply(i, on, number)
            } else {
                let cc = self.rng.u8(..4) == 0;
                opening(i, cc)
            };
            self.by_id.insert(mail.message_id.clone(), i);
            self.mails.push(mail);
        }
        &self.mails[first..]
    }

    fn reply(&self, i: usize, on: &str, number: &str) -> Mail {
        let Kind::Opens { requester, .. } = &self.mails[self.by_id[on]].kind else {
            unreachable!("only mails that open tickets are answered")
        };
        let message_id = format!("run-{i}@{}", domain(requester));
        let text = format!(
            "Authentication-Results: mx.test; dmarc=pass header.from={domain}\r\n\
             From: {requester}\r\nTo: support@localhost\r\nSubject: Re: [#{number}] Problem {i}\r\n\
             Message-ID: <{message_id}>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n\r\n\
             More about it: it happened again this morning ({i}).\r\n",
            domain = domain(requester),
        );
        Mail {
            message_id,
            bytes: text.into_bytes(),
            kind: Kind::Comments { on: on.to_string() },
        }
    }

    /// The notifications the run must have queued, each once: (Message-ID of the mail
    /// that caused it, event, recipient).
    pub fn notifications(&self) -> BTreeMap<(String, &'static str, String), usize> {
        let mut expected = BTreeMap::new();
        for mail in &self.mails {
            let (event, recipients) = match &mail.kind {
                Kind::Opens {
                    requester,
                    observer,
                } => {
                    let mut to = vec![requester.clone()];
                    to.extend(observer.clone());
                    ("ticket_opened", to)
                }
                Kind::Comments { on } => {
                    let Kind::Opens { observer, .. } = &self.mails[self.by_id[on]].kind else {
                        unreachable!()
                    };
                    let mut to = vec![AGENTS.to_string()];
                    to.extend(observer.clone());
                    ("customer_comment", to)
                }
            };
            for recipient in recipients {
                expected.insert((mail.message_id.clone(), event, recipient), 1);
            }
        }
        expected
    }

    /// The mail with this Message-ID.
    pub fn mail(&self, message_id: &str) -> Option<&Mail> {
        self.by_id.get(message_id).map(|&i| &self.mails[i])
    }
}

/// The `i`-th mail of the run, opening a ticket, with a colleague in Cc when `cc`.
fn opening(i: usize, cc: bool) -> Mail {
    let domain = format!("client{i}.example");
    let requester = format!("customer{i}@{domain}");
    let observer = cc.then(|| format!("colleague{i}@{domain}"));
    let message_id = format!("run-{i}@{domain}");
    let cc_line = observer
        .as_ref()
        .map(|o| format!("Cc: {o}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "Authentication-Results: mx.test; dmarc=pass header.from={domain}\r\n\
         From: Customer {i} <{requester}>\r\nTo: support@localhost\r\n{cc_line}\
         Subject: Problem {i}\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 07 Dec 2026 09:00:00 +0000\r\n\r\n\
         Hello, thing {i} is broken since this morning.\r\nThanks\r\n"
    );
    Mail {
        message_id,
        bytes: text.into_bytes(),
        kind: Kind::Opens {
            requester,
            observer,
        },
    }
}

fn domain(address: &str) -> &str {
    address.split('@').nth(1).unwrap_or_default()
}
