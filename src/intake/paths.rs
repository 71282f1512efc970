//! `ticketgate ingest PATH...`: files, Maildir folders and standard input.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::maildir::Maildir;

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
