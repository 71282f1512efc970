//! A batch's mails parsed ahead, on the blocking pool: while the batch writes one mail
//! (statements that wait on SQLite's thread), the next ones are parsed on the other core,
//! so that parsing and the store stop taking turns.

use tokio::sync::mpsc;

use super::RawMessage;
use crate::domain::InboundMail;
use crate::pipeline::{Pipeline, ProcessError};

/// How many parsed mails may wait for their turn: enough to keep the parser busy through a
/// slow write, few enough to hold little memory.
const WAITING: usize = 4;

/// One parsed mail, or why it could not be.
type Parsed = Result<InboundMail<'static>, ProcessError>;

/// The parsed mails of a batch, in the batch's order.
pub(super) struct Ahead {
    parsed: mpsc::Receiver<Parsed>,
}

impl Ahead {
    /// Starts parsing `messages` (copies of their bytes: the copy costs microseconds, the
    /// parse far more) with `pipeline`'s settings. Dropped early (the batch stopped at a
    /// failure), it stops the parser at its next mail.
    pub(super) fn start(pipeline: &Pipeline, messages: &[(RawMessage, u32)]) -> Self {
        let (send, parsed) = mpsc::channel(WAITING);
        let raws: Vec<Vec<u8>> = messages.iter().map(|(m, _)| m.bytes.clone()).collect();
        let pipeline = pipeline.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            for raw in raws {
                if send.blocking_send(pipeline.prepare(&raw)).is_err() {
                    break;
                }
            }
        });
        Ahead { parsed }
    }

    /// The next mail of the batch, parsed; `None` only if the parser died, which it does not
    /// (a panic there is the caller's to see: it parses the mail itself then).
    pub(super) async fn next(&mut self) -> Option<Parsed> {
        self.parsed.recv().await
    }
}
