#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: checks formatting and lints, then every
# unit and integration test (real SQLite files, the real binary, the shared corpus), then
# the PostgreSQL pass: the same tests on fresh databases of a PostgreSQL server.
# Installs what the tests need when it is missing.
#
# The PostgreSQL server is $TICKETGATE_TEST_POSTGRES (a URL without a database name, whose
# user may create databases), else postgres://postgres@127.0.0.1:5432. When that default
# does not answer, the pass is skipped with one line; a server named explicitly must answer,
# and so must the default in CI (CI=true) or with TICKETGATE_TEST_REQUIRE=all, where a
# missing Dovecot, aiosmtpd or corpus fails the run too instead of skipping its tests.
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

# Whether something the tests need that is missing (Dovecot, Exim, openssl, python3 with aiosmtpd,
# Chromium and chromedriver, axe-core, the shared corpus, the PostgreSQL server) fails the run instead of being skipped: in CI
# (CI set to anything but empty, false or 0; CI services set CI=true) or with
# TICKETGATE_TEST_REQUIRE=all. The tests decide the same way (tests/support/require.rs).
strict_because=
case "${TICKETGATE_TEST_REQUIRE:-}" in
    "") ;;
    [Aa][Ll][Ll]) strict_because="TICKETGATE_TEST_REQUIRE=$TICKETGATE_TEST_REQUIRE" ;;
    *)
        echo "TICKETGATE_TEST_REQUIRE=$TICKETGATE_TEST_REQUIRE: the only value understood is 'all'" >&2
        exit 1
        ;;
esac
if [ -z "$strict_because" ]; then
    case "$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')" in
        "" | false | 0) ;;
        *) strict_because="CI=$CI" ;;
    esac
fi

# Says that WHAT is missing, and HOW to install it: a failure when the run is strict, else
# one line saying that TESTS will be skipped.
missing() {
    local what=$1 how=$2 tests=$3
    if [ -n "$strict_because" ]; then
        echo "$what, and $strict_because does not allow skipping $tests: $how" >&2
        exit 1
    fi
    echo "$what: $tests will be skipped ($how)" >&2
}

# How to run a command as root: as we are, through sudo without a password, or not at all.
as_root=()
can_be_root=yes
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        can_be_root=no
    fi
fi

# Installs Debian packages; fails when that cannot be done here (not root, no apt-get).
apt_install() {
    [ "$can_be_root" = yes ] && command -v apt-get >/dev/null 2>&1 || return 1
    "${as_root[@]}" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null' sh "$@"
}

# The IMAP tests start private Dovecot instances of their own (tests/support/dovecot.rs).
# Debian keeps it in /usr/sbin, off a normal user's PATH. The package may start a system
# Dovecot on 143/993: stop it, the tests need none. openssl makes their self-signed
# certificates. TICKETGATE_TEST_DOVECOT names a binary elsewhere, which nothing installs.
has_dovecot() {
    if [ -n "${TICKETGATE_TEST_DOVECOT:-}" ]; then
        [ -f "$TICKETGATE_TEST_DOVECOT" ]
    else
        command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || [ -x /usr/local/sbin/dovecot ]
    fi
}
if ! has_dovecot || ! command -v openssl >/dev/null 2>&1; then
    if [ -z "${TICKETGATE_TEST_DOVECOT:-}" ] && apt_install dovecot-imapd openssl; then
        if [ -d /run/systemd/system ]; then
            "${as_root[@]}" systemctl stop dovecot.socket dovecot.service >/dev/null 2>&1 || true
        fi
        "${as_root[@]}" /usr/sbin/dovecot stop >/dev/null 2>&1 || true
    fi
    if ! has_dovecot || ! command -v openssl >/dev/null 2>&1; then
        missing "dovecot or openssl not found and not installed here" \
            "sudo apt-get install dovecot-imapd openssl" "the IMAP tests"
    fi
fi

# The MTA test (tests/mta.rs) runs a private Exim of its own in front of the binary, from
# Debian's exim4-daemon-light (/usr/sbin/exim4). The package may start a system Exim on
# port 25: stop it, the test needs none. Exim and Postfix exclude each other in Debian:
# where Postfix is installed, nothing is installed over it.
has_exim() { [ -x /usr/sbin/exim4 ] || [ -x /usr/sbin/exim ]; }
if ! has_exim; then
    if [ ! -x /usr/sbin/postfix ] && apt_install exim4-daemon-light; then
        if [ -d /run/systemd/system ]; then
            "${as_root[@]}" systemctl stop exim4.service >/dev/null 2>&1 || true
        fi
        "${as_root[@]}" /etc/init.d/exim4 stop >/dev/null 2>&1 || true
    fi
    if ! has_exim; then
        missing "exim4 not found and not installed here (Postfix, if installed, excludes it)" \
            "sudo apt-get install exim4-daemon-light" "the MTA test"
    fi
fi

# The SMTP tests run a real SMTP server written with aiosmtpd (tests/support/smtp_sink.py).
# pip first (a virtualenv, or a system that lets pip install), then Debian's package.
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import aiosmtpd" 2>/dev/null; then
    if command -v python3 >/dev/null 2>&1; then
        python3 -m pip install --quiet aiosmtpd 2>/dev/null \
            || python3 -m pip install --quiet --user aiosmtpd 2>/dev/null \
            || apt_install python3-aiosmtpd \
            || true
    else
        apt_install python3 python3-aiosmtpd || true
    fi
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import aiosmtpd" 2>/dev/null; then
        missing "python3 with aiosmtpd not found and not installed here" \
            "sudo apt-get install python3-aiosmtpd, or pip install aiosmtpd" "the SMTP tests"
    fi
fi

# What people see is checked in a real headless Chromium driven over WebDriver
# (tests/support/browser.rs): Debian's chromium and chromium-driver.
# TICKETGATE_TEST_CHROMIUM and TICKETGATE_TEST_CHROMEDRIVER name binaries elsewhere.
chromium_bin=${TICKETGATE_TEST_CHROMIUM:-/usr/bin/chromium}
chromedriver_bin=${TICKETGATE_TEST_CHROMEDRIVER:-/usr/bin/chromedriver}
if [ ! -x "$chromium_bin" ] || [ ! -x "$chromedriver_bin" ]; then
    apt_install chromium chromium-driver || true
    if [ ! -x "$chromium_bin" ] || [ ! -x "$chromedriver_bin" ]; then
        missing "Chromium or chromedriver not found and not installed here" \
            "sudo apt-get install chromium chromium-driver" "the browser tests"
    fi
fi

# /metrics is checked with Prometheus's own promtool (tests/health.rs), from Debian's
# prometheus package. TICKETGATE_TEST_PROMTOOL names a binary elsewhere.
promtool_bin=${TICKETGATE_TEST_PROMTOOL:-promtool}
if ! command -v "$promtool_bin" >/dev/null 2>&1; then
    [ -n "${TICKETGATE_TEST_PROMTOOL:-}" ] || apt_install prometheus || true
    if ! command -v "$promtool_bin" >/dev/null 2>&1; then
        missing "promtool not found and not installed here" \
            "sudo apt-get install prometheus" "the metrics format check"
    fi
fi

# The Debian package (tests/package.rs): built by cargo-deb (crates.io), checked by lintian,
# then installed into a clean Debian root that debootstrap makes once (minbase and systemd,
# this machine's release, about 2 minutes) and that is kept outside the clone, in
# ${XDG_CACHE_HOME:-$HOME/.cache}/ticketgate-tests/debian-CODENAME, or where
# TICKETGATE_TEST_DEBIAN_ROOT says (the test finds the same path by itself: not exported, as
# the binary takes TICKETGATE_* variables for configuration keys).
# TICKETGATE_TEST_DEBIAN_MIRROR names another mirror.
if ! cargo deb --version >/dev/null 2>&1; then
    cargo install --locked --quiet cargo-deb >/dev/null 2>&1 || true
    if ! cargo deb --version >/dev/null 2>&1; then
        missing "cargo-deb not found and not installed here" "cargo install cargo-deb" \
            "the Debian package test"
    fi
fi
if ! command -v lintian >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    apt_install lintian debootstrap || true
    if ! command -v lintian >/dev/null 2>&1; then
        missing "lintian not found and not installed here" "sudo apt-get install lintian" \
            "the Debian package test"
    fi
fi
debian_codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
debian_codename=${debian_codename:-bookworm}
debian_root=${TICKETGATE_TEST_DEBIAN_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/ticketgate-tests/debian-$debian_codename}
if [ ! -f "$debian_root/var/lib/dpkg/status" ]; then
    if [ "$can_be_root" = yes ] && command -v debootstrap >/dev/null 2>&1; then
        echo "making the Debian root of the package test in $debian_root (once)" >&2
        debian_partial=$debian_root.partial
        mkdir -p "$(dirname "$debian_root")"
        "${as_root[@]}" rm -rf "$debian_partial"
        if "${as_root[@]}" debootstrap --variant=minbase --include=systemd "$debian_codename" \
            "$debian_partial" "${TICKETGATE_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
            >"$(dirname "$debian_root")/debootstrap.log" 2>&1; then
            "${as_root[@]}" sh -c 'rm -f "$1"/var/cache/apt/archives/*.deb && mv "$1" "$2"' sh \
                "$debian_partial" "$debian_root"
        else
            "${as_root[@]}" rm -rf "$debian_partial"
        fi
    fi
    if [ ! -f "$debian_root/var/lib/dpkg/status" ]; then
        missing "no Debian root at $debian_root, and debootstrap could not make one (its log: $(dirname "$debian_root")/debootstrap.log)" \
            "as root: apt-get install debootstrap && debootstrap --variant=minbase --include=systemd $debian_codename $debian_root" \
            "the Debian package test"
    fi
fi

# The API is driven from its own OpenAPI document by schemathesis (tests/openapi.rs), from
# PyPI, at the version pinned here, in a virtualenv of its own under target/ (where pip
# cannot make one: into the user's site). TICKETGATE_TEST_SCHEMATHESIS names one elsewhere.
schemathesis_version=4.32.5
if [ -z "${TICKETGATE_TEST_SCHEMATHESIS:-}" ]; then
    schemathesis_venv=$PWD/target/test-tools/schemathesis-$schemathesis_version
    TICKETGATE_TEST_SCHEMATHESIS=$schemathesis_venv/bin/schemathesis
    if [ ! -x "$TICKETGATE_TEST_SCHEMATHESIS" ] && command -v python3 >/dev/null 2>&1; then
        { python3 -m venv "$schemathesis_venv" \
            && "$schemathesis_venv/bin/pip" install --quiet "schemathesis==$schemathesis_version"; } \
            >/dev/null 2>&1 || rm -rf "$schemathesis_venv"
    fi
    if [ ! -x "$TICKETGATE_TEST_SCHEMATHESIS" ] && command -v python3 >/dev/null 2>&1; then
        python3 -m pip install --quiet --user "schemathesis==$schemathesis_version" >/dev/null 2>&1 || true
        TICKETGATE_TEST_SCHEMATHESIS=$(python3 -m site --user-base)/bin/schemathesis
    fi
fi
if ! "$TICKETGATE_TEST_SCHEMATHESIS" --version >/dev/null 2>&1; then
    missing "schemathesis not found and not installed here" \
        "pip install schemathesis==$schemathesis_version" "the OpenAPI conformance run"
fi
export TICKETGATE_TEST_SCHEMATHESIS

# The portal's pages are checked with axe-core inside that Chromium
# (tests/portal_browser.rs): the npm package, at the version tests/a11y/package-lock.json
# pins, installed in tests/a11y/node_modules. TICKETGATE_TEST_AXE names an axe.min.js
# elsewhere, which nothing installs.
if [ -z "${TICKETGATE_TEST_AXE:-}" ]; then
    TICKETGATE_TEST_AXE=$PWD/tests/a11y/node_modules/axe-core/axe.min.js
    if [ ! -f "$TICKETGATE_TEST_AXE" ] && command -v npm >/dev/null 2>&1; then
        npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error >/dev/null || true
    fi
fi
if [ ! -f "$TICKETGATE_TEST_AXE" ]; then
    missing "axe-core not found at $TICKETGATE_TEST_AXE and not installed here" \
        "install Node.js with npm, then npm ci --prefix tests/a11y" "the accessibility checks"
fi
export TICKETGATE_TEST_AXE

# The corpus tests read the shared corpus beside this repository (or where
# TICKETGATE_TEST_CORPUS says); nothing installs it.
corpus=${TICKETGATE_TEST_CORPUS:-../shared/corpus}
if [ ! -f "$corpus/MANIFEST.tsv" ]; then
    missing "$corpus/MANIFEST.tsv not found" \
        "put the shared corpus beside this repository, or set TICKETGATE_TEST_CORPUS" \
        "the corpus tests"
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

# Asked for by name, or in a strict run, the server must answer: say so now rather than
# after the first pass.
postgres_pass=yes
if ! postgres_answers "$postgres_url"; then
    if [ -n "$postgres_explicit" ]; then
        echo "TICKETGATE_TEST_POSTGRES=$postgres_shown: no PostgreSQL server answers there; start it or unset the variable" >&2
        exit 1
    fi
    if [ -n "$strict_because" ]; then
        missing "no PostgreSQL server at $postgres_shown" \
            "start one there, or name one with TICKETGATE_TEST_POSTGRES=postgres://USER@HOST:PORT" \
            "the PostgreSQL pass"
    fi
    postgres_pass=no
fi

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
# Most integration tests wait on processes (the daemon, Dovecot, the SMTP server,
# Chromium), not on the CPU: a third test thread on two cores takes a quarter off each
# pass. A value set by the caller wins.
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-3}
cargo test --locked

# The fuzz targets (fuzz/, README "Fuzzing"): with TICKETGATE_TEST_FUZZ_SECONDS=N and a
# nightly toolchain, each runs under libFuzzer for N seconds from its seeds (6 makes about
# 30 s in all), a crash failing the run; what it adds to its corpus is kept in
# target/fuzz-corpus/. Not by default: their first build (sanitized, release, the whole
# crate and its dependencies again) took 32 minutes on 2 shared cores. Either way the stable
# test above (tests/fuzz_seeds.rs) has run every target's check over the same seeds.
fuzz_seconds=${TICKETGATE_TEST_FUZZ_SECONDS:-0}
if [ "$fuzz_seconds" = 0 ]; then
    echo "fuzz runs skipped: their checks ran over the seeds only (tests/fuzz_seeds.rs); TICKETGATE_TEST_FUZZ_SECONDS=6 runs each target 6 s with a nightly toolchain" >&2
elif rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install --locked --quiet cargo-fuzz >/dev/null 2>&1 || true
    fi
    if cargo fuzz --version >/dev/null 2>&1; then
        # -O: release as shipped, without debug assertions: mail-parser's fire on malformed
        # mail that it handles (fuzz/regressions/mail/), which would stop every run at once.
        cargo +nightly fuzz build -O --fuzz-dir fuzz
        for target in $(cargo fuzz list --fuzz-dir fuzz); do
            case "$target" in
                mail) seeds=(tests/fixtures "$corpus") ;;
                reply_text) seeds=("$corpus/reply-parsing") ;;
                config) seeds=(config) ;;
                tnef) seeds=("$corpus/mime/mimekit/tnef") ;;
                customer_text) seeds=(tests/body_fields "$corpus/reply-parsing") ;;
                *) seeds=() ;;
            esac
            dirs=("target/fuzz-corpus/$target")
            for seed in "fuzz/corpus/$target" "fuzz/regressions/$target" "${seeds[@]}"; do
                [ -d "$seed" ] && dirs+=("$seed")
            done
            mkdir -p "target/fuzz-corpus/$target"
            log=target/fuzz-corpus/$target.log
            if ! cargo +nightly fuzz run -O --fuzz-dir fuzz "$target" "${dirs[@]}" -- \
                -max_total_time="$fuzz_seconds" -timeout=10 >"$log" 2>&1; then
                tail -n 40 "$log" >&2
                echo "fuzz target $target failed (its log: $log): the input is in fuzz/artifacts/$target/; fix it and keep the input in fuzz/regressions/$target/" >&2
                exit 1
            fi
            echo "fuzz target $target: $(grep -E '^#[0-9]+ +DONE' "$log" | tail -n 1)" >&2
        done
    else
        missing "cargo-fuzz not found and not installed here" "cargo install cargo-fuzz" \
            "the fuzz runs (the stable seed test ran their checks)"
    fi
else
    echo "no nightly toolchain: the fuzz targets ran over their seeds only (tests/fuzz_seeds.rs); rustup toolchain install nightly to fuzz them" >&2
fi

if [ "$postgres_pass" = yes ]; then
    TICKETGATE_TEST_POSTGRES=$postgres_url cargo test --locked --lib --test integration
else
    echo "PostgreSQL pass skipped: no server at $postgres_shown (run it with TICKETGATE_TEST_POSTGRES=postgres://USER@HOST:PORT ./scripts/test.sh)" >&2
fi
