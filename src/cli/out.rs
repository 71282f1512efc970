//! Standard output for every command. A reader that stops early (`ticketgate tickets list |
//! head -1`) closes the pipe, and `println!` would then panic with status 101. Commands
//! write through [`outln!`] instead, whose error travels back like any other; [`super::run`]
//! ends quietly with status 0 when it is that closed pipe: the reader had what it wanted.

use std::fmt;
use std::io::{self, Write};

/// Writes one line to standard output; the error says when the reader went away.
pub fn line(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")
}

/// `println!` that returns the write's error instead of panicking on it.
macro_rules! outln {
    () => {
        $crate::cli::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::line(format_args!($($arg)*))
    };
}

pub(crate) use outln;

/// Whether `error`, or an error it was caused by, is standard output closed by its reader.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_closed_pipe_is_recognised_under_context() {
        let closed: Result<(), io::Error> = Err(io::ErrorKind::BrokenPipe.into());
        let error = closed
            .context("cannot write to standard output")
            .unwrap_err();
        assert!(is_closed_pipe(&error));
        let other: Result<(), io::Error> = Err(io::ErrorKind::PermissionDenied.into());
        assert!(!is_closed_pipe(&other.context("x").unwrap_err()));
    }
}
