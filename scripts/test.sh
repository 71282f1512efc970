#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: checks formatting and lints, then every
# unit and integration test (real SQLite files, the real binary, the shared corpus), then
# the PostgreSQL pass: the same tests on fresh databases of a PostgreSQL server.
# Installs what the tests need when it is missing.
#
# The PostgreSQL server is $TICKETGATE_TEST_POSTGRES (a URL without a database name, whose
# user may create databases), else postgres://postgres@127.0.0.1:5432. When that default
# does not answer, the pass is skipped with one line; a server named explicitly must answer.
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

# The IMAP tests start private Dovecot instances of their own (tests/support/dovecot.rs) and skip
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

# Where the PostgreSQL pass runs, and whether it was asked for by name.
postgres_default=postgres://postgres@127.0.0.1:5432
postgres_url=${TICKETGATE_TEST_POSTGRES:-$postgres_default}
postgres_explicit=${TICKETGATE_TEST_POSTGRES:+yes}
unset TICKETGATE_TEST_POSTGRES
# The URL as printed: without its password.
postgres_shown=$(printf '%s' "$postgres_url" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#')

# Whether a server listens at the URL's host and port: a TCP connect through bash's
# /dev/tcp, so that neither psql nor pg_isready is needed. Whether it lets us in is for the
# tests to say (they fail with the server's answer).
postgres_answers() {
    local rest hostport host port
    rest=${1#*://}
    rest=${rest##*@}
    hostport=${rest%%[/?]*}
    case "$hostport" in
        \[*\]*) host=${hostport%%]*}; host=${host#[}; port=${hostport##*]}; port=${port#:} ;;
        *:*) host=${hostport%%:*}; port=${hostport##*:} ;;
        *) host=$hostport; port= ;;
    esac
    host=${host:-localhost}
    port=${port:-5432}
    local probe=(bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port")
    if command -v timeout >/dev/null 2>&1; then
        timeout 3 "${probe[@]}" 2>/dev/null
    else
        "${probe[@]}" 2>/dev/null
    fi
}

# Asked for by name, the server must answer: say so now rather than after the first pass.
postgres_pass=yes
if ! postgres_answers "$postgres_url"; then
    if [ -n "$postgres_explicit" ]; then
        echo "TICKETGATE_TEST_POSTGRES=$postgres_shown: no PostgreSQL server answers there; start it or unset the variable" >&2
        exit 1
    fi
    postgres_pass=no
fi

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked

if [ "$postgres_pass" = yes ]; then
    TICKETGATE_TEST_POSTGRES=$postgres_url cargo test --locked --lib --test integration
else
    echo "PostgreSQL pass skipped: no server at $postgres_shown (run it with TICKETGATE_TEST_POSTGRES=postgres://USER@HOST:PORT ./scripts/test.sh)" >&2
fi
