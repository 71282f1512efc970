//! A real headless Chromium, driven over WebDriver through a private `chromedriver`: pages
//! are loaded, measured with a script and photographed as a person's browser would show
//! them, or checked for accessibility with axe-core run inside the page. One browser serves
//! many pages, so that a test of fifty pages does not start fifty browsers.
//!
//! WebDriver is JSON over HTTP on loopback; the few requests needed are written here over
//! a plain socket rather than pulling in an HTTP client for the tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::require;

/// Where Debian puts them (packages chromium and chromium-driver).
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A browser session; the driver and the browser end with it.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A headless Chromium, or `None` (after one line, or a failure in CI) when Chromium or
    /// chromedriver is not installed.
    pub fn start() -> Option<Browser> {
        Self::start_with(None)
    }

    /// A headless Chromium whose requests ask for `language` (`en`, `fr`…) in
    /// `Accept-Language` whatever the machine's locale, or `None` as [`Browser::start`].
    pub fn start_in(language: &str) -> Option<Browser> {
        Self::start_with(Some(language))
    }

    fn start_with(language: Option<&str>) -> Option<Browser> {
        let chromium = std::env::var("TICKETGATE_TEST_CHROMIUM").unwrap_or(CHROMIUM.into());
        let driver = std::env::var("TICKETGATE_TEST_CHROMEDRIVER").unwrap_or(CHROMEDRIVER.into());
        if !Path::new(&chromium).exists() || !Path::new(&driver).exists() {
            require::missing(
                "Chromium and chromedriver",
                "sudo apt-get install chromium chromium-driver, or name them with \
                 TICKETGATE_TEST_CHROMIUM and TICKETGATE_TEST_CHROMEDRIVER",
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {driver}: {e}"));
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut browser = Browser {
            driver: child,
            port,
            session: String::new(),
            _profile: profile,
        };
        browser.wait_ready();
        // The flags this machine needs: no sandbox as root, and no background traffic to
        // hosts a closed network refuses.
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let mut options = json!({ "binary": chromium });
        if let Some(language) = language {
            // The interface's language, and what pages are asked for (the preference is
            // what sets `Accept-Language`).
            args.push(format!("--lang={language}"));
            options["prefs"] = json!({ "intl.accept_languages": language });
        }
        options["args"] = json!(args);
        let created = browser.call(
            "POST",
            "/session",
            Some(json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": options,
            }}})),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_string();
        Some(browser)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(status) = self.try_call("GET", "/status", None)
                && status["ready"] == true
            {
                return;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Shows the page at `url` in a window `width` by `height` CSS pixels.
    pub fn open(&self, url: &str, width: u32, height: u32) {
        self.session_call(
            "POST",
            "window/rect",
            json!({ "width": width, "height": height }),
        );
        self.session_call("POST", "url", json!({ "url": url }));
    }

    /// Shows the file at `path`.
    pub fn open_file(&self, path: &Path, width: u32, height: u32) {
        self.open(&format!("file://{}", path.display()), width, height);
    }

    /// The value of `script` (a function body: `return …`) run in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    /// What `script` (a function body whose last argument is the callback to call with the
    /// result) passes to that callback, waiting up to `seconds` for it.
    pub fn eval_async(&self, script: &str, seconds: u64) -> Value {
        self.session_call("POST", "timeouts", json!({ "script": seconds * 1000 }));
        self.session_call(
            "POST",
            "execute/async",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Runs axe-core (the text of `axe.min.js`, from [`axe_script`]) on the page shown, with
    /// the rules of [`AXE_TAGS`]: what it found. The script goes in through WebDriver's
    /// execute command, which the pages' Content-Security-Policy (no script at all) does
    /// not govern. Fails the test when axe does not load or does not run.
    pub fn audit(&self, axe: &str) -> Audit {
        let loaded = self.eval(&format!(
            "{axe}\n;return typeof window.axe === 'object' ? window.axe.version : null;"
        ));
        assert!(
            loaded.is_string(),
            "axe-core did not load on {}: {loaded}",
            self.url()
        );
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const target = t => Array.isArray(t) ? t.join(' >>> ') : String(t);
             window.axe.run(document, {{ runOnly: {{ type: 'tag', values: {tags} }} }}).then(
               r => done({{
                 passes: r.passes.length,
                 incomplete: r.incomplete.length,
                 violations: r.violations.map(v => ({{
                   id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                   nodes: v.nodes.map(n => ({{
                     target: n.target.map(target).join(' '),
                     html: n.html,
                     summary: n.failureSummary,
                   }})),
                 }})),
               }}),
               e => done({{ error: String((e && e.stack) || e) }}));",
            tags = json!(AXE_TAGS),
        );
        let found = self.eval_async(&script, 60);
        if let Some(error) = found.get("error") {
            panic!("axe-core failed on {}: {error}", self.url());
        }
        let count = |key: &str| {
            found[key]
                .as_u64()
                .unwrap_or_else(|| panic!("axe-core gave no {key} on {}: {found}", self.url()))
                as usize
        };
        let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_string();
        Audit {
            passes: count("passes"),
            incomplete: count("incomplete"),
            violations: found["violations"]
                .as_array()
                .unwrap_or_else(|| panic!("axe-core gave no violations on {}: {found}", self.url()))
                .iter()
                .map(|v| Violation {
                    id: text(v, "id"),
                    impact: text(v, "impact"),
                    help: text(v, "help"),
                    help_url: text(v, "helpUrl"),
                    nodes: v["nodes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|n| AxeNode {
                            target: text(n, "target"),
                            html: text(n, "html"),
                            summary: text(n, "summary"),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Types `text` into the first element `css` selects.
    pub fn fill(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.session_call(
            "POST",
            &format!("element/{element}/value"),
            json!({ "text": text }),
        );
    }

    /// Clicks the first element `css` selects (a link or a button: the browser then
    /// loads what it leads to before the next command).
    pub fn click(&self, css: &str) {
        let element = self.element(css);
        self.session_call("POST", &format!("element/{element}/click"), json!({}));
    }

    /// The address the window shows.
    pub fn url(&self) -> String {
        self.session_get("url")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The text the page shows (what a person reads, without markup).
    pub fn text(&self) -> String {
        self.eval("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the page shows `needle` (a click's navigation may still be loading when
    /// the click returns); the page's text, or a failure after `seconds`.
    pub fn wait_for_text(&self, needle: &str, seconds: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} not shown on {} after {seconds} s:\n{text}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The WebDriver id of the first element `css` selects; the test fails without one.
    fn element(&self, css: &str) -> String {
        let found = self.session_call(
            "POST",
            "element",
            json!({ "using": "css selector", "value": css }),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css:?} on {}", self.url()))
            .to_string()
    }

    /// Saves what the window shows as a PNG at `path`; its size in bytes.
    pub fn screenshot(&self, path: &Path) -> usize {
        let png = self.session_get("screenshot");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 screenshot"))
            .expect("a base64 screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshots folder");
        }
        std::fs::write(path, &bytes).expect("writing a screenshot");
        bytes.len()
    }

    fn session_get(&self, what: &str) -> Value {
        self.call("GET", &format!("/session/{}/{what}", self.session), None)
    }

    fn session_call(&self, method: &str, what: &str, body: Value) -> Value {
        self.call(
            method,
            &format!("/session/{}/{what}", self.session),
            Some(body),
        )
    }

    /// One WebDriver command; its `value`. A WebDriver error fails the test with it.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let value = self
            .try_call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        if let Some(error) = value.get("error") {
            panic!("WebDriver {method} {path}: {error}: {}", value["message"]);
        }
        value
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        // chromedriver keeps the connection open whatever we ask: read the head, then as
        // many bytes as it announces.
        let mut response = Vec::new();
        let mut chunk = [0_u8; 64 * 1024];
        let (head_len, body_len) = loop {
            let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the connection closed before an answer".into());
            }
            response.extend_from_slice(&chunk[..n]);
            if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| format!("no Content-Length in {head}"))?;
                break (end + 4, length);
            }
        };
        while response.len() < head_len + body_len {
            let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the connection closed in the middle of an answer".into());
            }
            response.extend_from_slice(&chunk[..n]);
        }
        let json = String::from_utf8_lossy(&response[head_len..head_len + body_len]);
        let parsed: Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
        Ok(parsed["value"].clone())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The axe-core rules run: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices.
pub const AXE_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/// Where `scripts/test.sh` installs axe-core (`npm ci --prefix tests/a11y`), unless
/// `TICKETGATE_TEST_AXE` names its `axe.min.js` elsewhere.
const AXE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/a11y/node_modules/axe-core/axe.min.js"
);

/// The text of axe-core's `axe.min.js`, or `None` (after one line, or a failure in CI)
/// when it is not installed.
pub fn axe_script() -> Option<String> {
    let path = std::env::var("TICKETGATE_TEST_AXE").unwrap_or(AXE.into());
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(e) => {
            require::missing(
                &format!("axe-core ({path}: {e})"),
                "npm ci --prefix tests/a11y, or name its axe.min.js with TICKETGATE_TEST_AXE",
            );
            None
        }
    }
}

/// What axe-core found on a page.
#[derive(Debug)]
pub struct Audit {
    /// How many rules the page passed (none means axe checked nothing).
    pub passes: usize,
    /// How many rules axe could not decide on, for a person to look at.
    pub incomplete: usize,
    pub violations: Vec<Violation>,
}

/// A rule the page breaks, and where.
#[derive(Debug)]
pub struct Violation {
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    pub help: String,
    pub help_url: String,
    pub nodes: Vec<AxeNode>,
}

/// An element that breaks a rule: its CSS selector, its markup, and axe's words on what
/// to fix.
#[derive(Debug)]
pub struct AxeNode {
    pub target: String,
    pub html: String,
    pub summary: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} ({}): {} <{}>",
            self.id, self.impact, self.help, self.help_url
        )?;
        for node in &self.nodes {
            writeln!(f, "    at {}: {}", node.target, node.html)?;
            for line in node.summary.lines() {
                writeln!(f, "      {line}")?;
            }
        }
        Ok(())
    }
}

/// Where a test keeps its screenshots for people to look at: beside the build, in
/// `target/tmp/screenshots/NAME`.
pub fn screenshots_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("screenshots")
        .join(name)
}
