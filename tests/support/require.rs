//! What a test does when something it needs is not there (Dovecot, openssl, python3 with
//! aiosmtpd, the shared corpus): on a person's machine it says so in one line and passes by,
//! so that a partial setup still runs the rest; in CI it fails, so that a green run means the
//! servers and the corpus were really exercised.
//!
//! A run is strict when `CI` is set to anything but empty, `false` or `0` (CI services set
//! `CI=true`), or when `TICKETGATE_TEST_REQUIRE=all`.
//!
//! This file is the one place that decides. `dovecot.rs` and `smtp_sink.rs` include it with
//! `#[path]` (rather than reaching for `crate::support::require`), because the benches
//! include those two files on their own.

/// The variable that makes every missing server, tool or corpus a failure outside CI too.
const REQUIRE_ENV: &str = "TICKETGATE_TEST_REQUIRE";

/// Reports that `what` is missing. In a strict run, panics with `what` and
/// `how_to_install`, failing the test. Otherwise prints one line to standard error and
/// returns: the caller then returns early, and the test passes without having run.
#[track_caller]
pub fn missing(what: &str, how_to_install: &str) {
    if let Some(strict) = strict_because() {
        panic!("{what} is missing, and {strict} does not allow skipping: {how_to_install}");
    }
    eprintln!(
        "skipping: {what} is missing ({how_to_install}); with CI=true or {REQUIRE_ENV}=all this fails"
    );
}

/// The variable that makes this run strict, as `NAME=value`; `None` on a person's machine.
/// Panics on a value of [`REQUIRE_ENV`] other than `all`, so that a typo does not quietly
/// turn skipping back on.
fn strict_because() -> Option<String> {
    if let Ok(value) = std::env::var(REQUIRE_ENV) {
        match value.trim() {
            "" => {}
            v if v.eq_ignore_ascii_case("all") => return Some(format!("{REQUIRE_ENV}={value}")),
            _ => panic!("{REQUIRE_ENV}={value:?}: the only value understood is `all`"),
        }
    }
    let ci = std::env::var("CI").ok()?;
    let off = ["", "false", "0"].contains(&ci.trim().to_ascii_lowercase().as_str());
    (!off).then(|| format!("CI={ci}"))
}
