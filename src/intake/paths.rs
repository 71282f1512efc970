//! `ticketgate ingest PATH...`: files, Maildir folders and standard input, each read once
//! and run through the intake driver, each report given back once its batch is committed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::maildir::Maildir;
use super::{Driver, Ended, Halt, Ingestor, Received, Report, Retry, Rules, Source};
use crate::backoff::Backoff;

/// Tries a message gets before it is given up: the command runs once, so its retries come
/// at once, with [`PAUSES`] in between.
const TRIES: u32 = 3;

/// The pauses between the tries of one message: 200 ms, then 400 ms.
const PAUSES: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(1));

/// One thing to read a message from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`, or no path at all).
    Stdin,
    /// One file holding one message.
    File(PathBuf),
}

impl Input {
    /// The name reports use.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "stdin".into(),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// Opens the input for reading.
    pub fn open(&self) -> std::io::Result<Box<dyn Read>> {
        Ok(match self {
            Input::Stdin => Box::new(std::io::stdin().lock()),
            Input::File(p) => Box::new(std::fs::File::open(p)?),
        })
    }

    /// Its size in bytes, when it is a file that says.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        }
    }
}

/// Why a path given to `ingest` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct PathError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Expands the paths of `ingest` into inputs: a file is one message; a Maildir gives the
/// files of its new/ and cur/; another directory gives its files, sorted by name.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<Input>, PathError> {
    if paths.is_empty() {
        return Ok(vec![Input::Stdin]);
    }
    let mut inputs = Vec::new();
    for path in paths {
        let err = |source| PathError {
            path: path.clone(),
            source,
        };
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let meta = std::fs::metadata(path).map_err(err)?;
        if !meta.is_dir() {
            inputs.push(Input::File(path.clone()));
        } else if Maildir::looks_like(path) {
            let maildir = Maildir::at(path);
            inputs.extend(
                maildir
                    .messages_in("new")
                    .map_err(err)?
                    .into_iter()
                    .map(Input::File),
            );
            inputs.extend(
                maildir
                    .messages_in("cur")
                    .map_err(err)?
                    .into_iter()
                    .map(Input::File),
            );
        } else {
            inputs.extend(files_in(path).map_err(err)?.into_iter().map(Input::File));
        }
    }
    Ok(inputs)
}

fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if entry.file_type()?.is_file() && !name.to_string_lossy().starts_with('.') {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// What `ingest` did with its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    /// Whether every input was handled: none quarantined, none unreadable.
    pub all_handled: bool,
}

/// Why `ingest` stopped before its last input: the mail must be delivered again later.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Standard input cannot be read.
    #[error(transparent)]
    Stdin(PathError),
    /// A message could be neither stored nor quarantined, or came with standard input.
    #[error(transparent)]
    Halted(Box<Halt>),
}

/// Runs `inputs` through `ingestor` in batches of one commit each, calling `each` in the
/// inputs' order with the report of every message once its batch is committed, or with why
/// an input cannot be read. A message that fails for a temporary reason is tried again at
/// once, with pauses; when its tries are spent it is quarantined, unless standard input is
/// among the inputs: then the MTA that piped it keeps it, and `ingest` stops with
/// [`IngestError`].
pub async fn ingest(
    ingestor: &Ingestor,
    inputs: Vec<Input>,
    each: impl FnMut(Result<&Report, &PathError>),
) -> Result<Ingested, IngestError> {
    let rules = Rules {
        budget: TRIES,
        retry: Retry::AtOnce(PAUSES),
        quarantine_when_spent: !inputs.contains(&Input::Stdin),
        intake: "cli",
    };
    let mut source = Inputs {
        inputs: inputs.into_iter().enumerate().peekable(),
        each,
        all_handled: true,
        stdin_unreadable: None,
    };
    let ended = Driver::new(ingestor.clone(), rules).run(&mut source).await;
    if let Some(e) = source.stdin_unreadable {
        return Err(IngestError::Stdin(e));
    }
    match ended {
        Ended::Halted(halt) => Err(IngestError::Halted(halt)),
        Ended::Drained | Ended::Blocked => Ok(Ingested {
            all_handled: source.all_handled,
        }),
    }
}

/// The inputs of one `ingest`, as a source for the driver; a message is known by its
/// input's position.
struct Inputs<F> {
    inputs: std::iter::Peekable<std::iter::Enumerate<std::vec::IntoIter<Input>>>,
    each: F,
    all_handled: bool,
    /// Standard input could not be read: no input after it is read.
    stdin_unreadable: Option<PathError>,
}

impl<F: FnMut(Result<&Report, &PathError>)> Source for Inputs<F> {
    type Key = usize;

    fn next(&mut self, ingestor: &Ingestor) -> Option<(usize, Received)> {
        for (position, input) in self.inputs.by_ref() {
            let name = input.name();
            match input
                .open()
                .and_then(|reader| ingestor.read_message(&name, reader, input.size()))
            {
                Ok(received) => return Some((position, received)),
                Err(source) => {
                    let error = PathError {
                        path: name.into(),
                        source,
                    };
                    if input == Input::Stdin {
                        self.stdin_unreadable = Some(error);
                        return None;
                    }
                    (self.each)(Err(&error));
                    self.all_handled = false;
                }
            }
        }
        None
    }

    fn next_size(&mut self) -> Option<u64> {
        self.inputs.peek().and_then(|(_, input)| input.size())
    }

    fn acknowledge(&mut self, _position: usize, report: &Report) {
        self.all_handled &= report.handled();
        (self.each)(Ok(report));
    }
}
