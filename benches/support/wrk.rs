//! Loading the daemon's HTTP server with wrk (Debian's wrk 4) and reading what it
//! measured; finding the port the daemon's log names, and single requests to check what a
//! run will ask for before it asks.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Panics with how to install wrk when it is missing.
pub fn require() {
    assert!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "wrk is needed: apt-get install wrk"
    );
}

/// wrk's Lua script: each request asks for one of `paths`, drawn at random, so that a run
/// is not one hot row served from the cache.
pub fn write_script(path: &Path, paths: &[String]) {
    let list: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
    let script = format!(
        "local paths = {{{}}}\n\
         math.randomseed(os.time())\n\
         request = function()\n  \
           return wrk.format(\"GET\", paths[math.random(#paths)])\n\
         end\n",
        list.join(",")
    );
    std::fs::write(path, script).expect("cannot write the wrk script");
}

/// How one wrk run loads the server.
pub struct Load<'a> {
    pub port: u16,
    pub script: &'a Path,
    pub threads: usize,
    pub connections: usize,
    pub seconds: u64,
    /// Headers sent with every request, each `Name: value`.
    pub headers: &'a [String],
}

/// Runs wrk `--latency` with `load`; panics when wrk fails or any answer was not 2xx or
/// 3xx, or a socket error occurred. wrk's report comes back beside the figures.
pub fn run(load: &Load<'_>) -> (Measured, String) {
    let mut command = Command::new("wrk");
    command.args([
        format!("-t{}", load.threads),
        format!("-c{}", load.connections),
        format!("-d{}s", load.seconds),
        "--latency".into(),
        "-s".into(),
        load.script.display().to_string(),
    ]);
    for header in load.headers {
        command.args(["-H", header]);
    }
    let out = command
        .arg(format!("http://127.0.0.1:{}/", load.port))
        .output()
        .expect("cannot run wrk");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx or 3xx responses") && !text.contains("Socket errors"),
        "some requests failed: {text}"
    );
    let measured = Measured {
        requests_per_sec: field(&text, "Requests/sec:"),
        p50_ms: latency(&text, "50%"),
        p99_ms: latency(&text, "99%"),
    };
    (measured, text)
}

/// The port the daemon's log says its portal (and the API beside it) listens on.
pub fn wait_for_port(log: &Path) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(port) = text
            .split("portal listening address=127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
        {
            return port;
        }
        assert!(
            Instant::now() < deadline,
            "the portal did not start; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One GET over a fresh connection, with `headers` (each `Name: value`): its status and
/// the whole answer, headers included.
pub fn get(port: u16, path: &str, headers: &[String]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("cannot reach the portal");
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n"
    )
    .expect("cannot send a request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("cannot read the answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// The number after `label` in wrk's output.
fn field(text: &str, label: &str) -> f64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label} in wrk's output: {text}"))
}

/// A percentile of wrk's latency distribution (`99%   12.34ms`), in milliseconds.
fn latency(text: &str, percentile: &str) -> f64 {
    let value = text
        .lines()
        .skip_while(|l| !l.contains("Latency Distribution"))
        .find_map(|l| l.trim().strip_prefix(percentile).map(str::trim))
        .unwrap_or_else(|| panic!("no {percentile} latency in wrk's output: {text}"));
    let (number, factor) = if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (value, 1.0)
    };
    number.parse::<f64>().expect("a latency") * factor
}
