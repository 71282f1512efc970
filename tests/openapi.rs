//! The API's OpenAPI document against the API itself: served without a token, it names
//! every route the router answers, and schemathesis (from PyPI) drives the running daemon
//! from it with a write token: no answer is a 5xx, every answer (status, type, headers,
//! body) is one the document describes, every request the document forbids is refused,
//! and no operation works without the token.

use std::process::Command;

use serde_json::Value;

use crate::api::call;
use crate::portal::{ALICE, BOB, Portal, cli_with, ingest, run_ok};
use crate::support::http::request;
use crate::support::require;

const AGENT: &str = "[[agent]]\nname = \"Élodie\"\nemail = \"elodie@ours.test\"\n";

#[test]
fn the_document_names_every_route_and_nothing_else() {
    let cli = cli_with(AGENT);
    let n = ingest(&cli, ALICE);
    let token = run_ok(&cli, &["tokens", "create", "reader"])
        .trim()
        .to_string();
    let portal = Portal::start(cli);
    let served = request(portal.port, "GET", "/api/openapi.json", &[], b"");
    assert_eq!(served.status, 200, "served without a token: {served:?}");
    assert_eq!(served.header("content-type"), Some("application/json"));
    let document: Value = serde_json::from_str(&served.body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{number}", &n)
            .replace("{email}", "carol@client.example")
            .replace("{sha256}", "00")
            .replace("{id}", "1")
            .replace("{name}", "purge");
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            if !["GET", "POST", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            // A read token reads and is refused writes; either way the route exists.
            let answer = call(
                &portal,
                &method,
                &format!("/api{concrete}"),
                &token,
                Some("{}"),
                &[],
            );
            assert!(
                !answer.body.contains("no such API route") && answer.status != 405,
                "{method} {path} is documented but not routed: {answer:?}"
            );
        }
    }
    assert_eq!(operations, 19);
    // And a route the document does not name does not exist.
    let unknown = call(&portal, "GET", "/api/v1/agents", &token, None, &[]);
    assert_eq!(unknown.status, 404);
    portal.stop();
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_the_document_does_not_describe() {
    let program = std::env::var("TICKETGATE_TEST_SCHEMATHESIS").unwrap_or("schemathesis".into());
    if Command::new(&program).arg("--version").output().is_err() {
        require::missing(
            "schemathesis",
            "pip install schemathesis, or name it with TICKETGATE_TEST_SCHEMATHESIS",
        );
        return;
    }
    let cli = cli_with(AGENT);
    ingest(&cli, ALICE);
    ingest(&cli, BOB);
    // A quarantined message, so that the quarantine's operations have one to work on.
    let out = cli.run(
        &["ingest", "--on-quarantine", "bounce"],
        Some(b"From: support@ours.test\r\nTo: support@ours.test\r\nSubject: Hello\r\nMessage-ID: <q1@x.example>\r\n\r\nHi\r\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let token = run_ok(&cli, &["tokens", "create", "fuzz", "--scope", "write"])
        .trim()
        .to_string();
    let portal = Portal::start(cli);
    let out = Command::new(&program)
        // Its cache of examples goes in the test's folder, not in the source tree.
        .current_dir(portal.cli.dir.path())
        .args([
            "run",
            &format!("http://127.0.0.1:{}/api/openapi.json", portal.port),
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            "all",
            // Schema-valid requests the API still refuses (an agent name that is not
            // configured, a ticket that changed since If-Match, a cursor that is not one
            // of ours) are right to be refused.
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "25",
            "--seed",
            "20261206",
            "--workers",
            "2",
            "--no-color",
        ])
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log = portal.stop();
    assert!(out.status.success(), "{report}\n--- daemon log ---\n{log}");
    assert!(
        report.contains("Tested: 19"),
        "every operation was exercised: {report}"
    );
    assert!(!log.contains(&token), "the token reached the log");
    assert!(!log.contains("panicked"), "{log}");
}
