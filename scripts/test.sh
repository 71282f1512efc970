#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: checks formatting and lints, then every
# unit and integration test (real SQLite files, the real binary, the shared corpus).
# Installs what the tests need when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (https://rustup.rs) and run this again" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        rustup component add "$component"
    fi
done

# The IMAP tests start private Dovecot instances of their own (tests/dovecot.rs) and skip
# when Dovecot is missing. Debian keeps it in /usr/sbin, off a normal user's PATH. The
# package may start a system Dovecot on 143/993: stop it, the tests need none.
# openssl makes their self-signed certificates.
if { ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; } || ! command -v openssl >/dev/null 2>&1; then
    as_root=()
    can_install=yes
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            can_install=no
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || can_install=no
    if [ "$can_install" = no ]; then
        echo "dovecot or openssl not found: the IMAP tests will be skipped (install them with: sudo apt-get install dovecot-imapd openssl)" >&2
    elif "${as_root[@]}" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd openssl >/dev/null'; then
        if [ -d /run/systemd/system ]; then
            "${as_root[@]}" systemctl stop dovecot.socket dovecot.service >/dev/null 2>&1 || true
        fi
        "${as_root[@]}" /usr/sbin/dovecot stop >/dev/null 2>&1 || true
    else
        echo "installing dovecot-imapd failed: the IMAP tests will be skipped" >&2
    fi
fi

# The SMTP tests run a real SMTP server written with aiosmtpd (tests/support/smtp_sink.py).
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import aiosmtpd" 2>/dev/null; then
    python3 -m pip install --quiet aiosmtpd 2>/dev/null \
        || python3 -m pip install --quiet --user aiosmtpd 2>/dev/null \
        || echo "aiosmtpd could not be installed: the SMTP tests will be skipped (pip install aiosmtpd)" >&2
fi

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
