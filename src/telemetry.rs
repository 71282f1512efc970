//! Logging: `tracing` to standard error, filtered by `TICKETGATE_LOG` (or `RUST_LOG`).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber; `default_level` applies when no filter is set in the
/// environment. Standard output stays free for command results.
pub fn init(default_level: &str) {
    let filter = std::env::var("TICKETGATE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("ticketgate={default_level},warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
