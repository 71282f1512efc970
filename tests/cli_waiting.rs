//! `tickets list --waiting-on-us` (issue 17, point 5): open tickets whose latest public
//! message is the customer's, on SQLite and, in the PostgreSQL pass, on PostgreSQL.

use crate::cli::{ok, ticket_of, with_agents_and_a_ticket};
use crate::support::helpers::{Cli, fixture};

fn numbers(list: &str) -> Vec<String> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(list).unwrap();
    rows.iter()
        .map(|t| t["number"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn waiting_on_us_lists_tickets_whose_customer_spoke_last() {
    let cli = Cli::new();
    // Answered by an agent: the customer's turn.
    let answered = with_agents_and_a_ticket(&cli);
    // Answered, then the customer wrote again: ours.
    let mail = "From: Dana <dana@globex.example>\r\nTo: support@localhost\r\n\
         Subject: Badge reader broken\r\nMessage-ID: <badge-1@globex.example>\r\n\
         Date: Tue, 24 Nov 2026 11:00:00 +0000\r\n\r\nThe badge reader at the door is dead.\r\n";
    let file = cli.write("badge.eml", mail.as_bytes());
    let commented = ticket_of(&ok(&cli, &["ingest", &file]));
    for n in [&answered, &commented] {
        ok(
            &cli,
            &[
                "tickets",
                "comment",
                n.as_str(),
                "--body",
                "Looking into it.",
                "--as",
                "camille",
            ],
        );
    }
    let reply = format!(
        "From: Dana <dana@globex.example>\r\nTo: support@localhost\r\n\
         Subject: RE: [#{commented}] Badge reader broken\r\nMessage-ID: <badge-2@globex.example>\r\n\
         Date: Tue, 24 Nov 2026 12:00:00 +0000\r\n\r\nStill dead this afternoon.\r\n"
    );
    let file = cli.write("badge-reply.eml", reply.as_bytes());
    ok(&cli, &["ingest", &file]);
    // An internal note after the customer's reply does not answer them.
    ok(
        &cli,
        &[
            "tickets",
            "comment",
            commented.as_str(),
            "--body",
            "Asked facilities.",
            "--internal",
        ],
    );
    // Closed tickets owe nothing, whoever spoke last.
    let closed = ticket_of(&ok(
        &cli,
        &[
            "ingest",
            &cli.write("closed.eml", &fixture("html_only.eml", None)),
        ],
    ));
    ok(&cli, &["tickets", "close", closed.as_str()]);

    let waiting = numbers(&ok(&cli, &["tickets", "list", "--waiting-on-us", "--json"]));
    assert_eq!(waiting, [commented.to_string()]);
    let all = numbers(&ok(&cli, &["tickets", "list", "--json"]));
    assert_eq!(all.len(), 3);
    let plain = ok(&cli, &["tickets", "list", "--waiting-on-us"]);
    assert_eq!(plain.lines().count(), 1, "{plain}");
    assert!(plain.starts_with(commented.as_str()), "{plain}");
}
