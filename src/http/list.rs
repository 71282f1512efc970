//! `GET /tickets`: the tickets a person may see, filtered by state (open, waiting for
//! them, resolved, closed) and by words of the title or a number, a page at a time. The
//! filters are plain GET parameters, so a filtered list is a link like any other.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::Portal;
use crate::domain::Status;
use crate::notify::templates::{long_time, priority_label, status_label};
use crate::store::VisibleFilter;

/// Tickets shown on one page.
const PER_PAGE: u32 = 25;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    /// Read leniently: a hand-edited page number that is no number is the first page.
    #[serde(default)]
    page: String,
}

/// The states a person filters by, with the statuses each stands for.
const STATES: &[(&str, &[Status])] = &[
    ("all", &[]),
    ("open", &[Status::New, Status::InProgress]),
    ("waiting", &[Status::WaitingCustomer]),
    ("resolved", &[Status::Resolved]),
    ("closed", &[Status::Closed]),
];

pub async fn tickets(
    State(portal): State<Portal>,
    query: Result<Query<ListQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let lang = portal.language(&headers);
    let Ok(Query(query)) = query else {
        return portal.message(lang, super::messages::Problem::BadForm);
    };
    let (_, visitor) = match portal.signed_in(&headers, lang) {
        Ok(signed_in) => signed_in,
        Err(page) => return page,
    };
    let lang = portal.visitor_language(&visitor, &headers).await;
    // An unknown state is no filter, rather than an error page for a hand-edited link.
    let (state, statuses) = STATES
        .iter()
        .find(|(name, _)| *name == query.status)
        .copied()
        .unwrap_or(STATES[0]);
    let page = query.page.trim().parse::<u32>().unwrap_or(0).min(10_000);
    let filter = VisibleFilter {
        statuses: statuses.to_vec(),
        search: Some(query.q.clone()).filter(|q| !q.trim().is_empty()),
        page,
        per_page: PER_PAGE,
    };
    let (tickets, more) = match portal.service.list(&visitor, &filter).await {
        Ok(found) => found,
        Err(e) => return portal.problem(lang, &e),
    };
    let rows: Vec<_> = tickets
        .iter()
        .map(|t| {
            json!({
                "number": t.number.as_str(),
                "title": t.title,
                "status": t.status.as_str(),
                "status_label": status_label(t.status, lang),
                "priority_label": priority_label(t.priority, lang),
                "updated": long_time(t.updated_at, lang),
            })
        })
        .collect();
    let link = |page: u32| {
        let mut pairs = vec![format!("status={state}")];
        if !query.q.trim().is_empty() {
            pairs.push(format!("q={}", encode(query.q.trim())));
        }
        pairs.push(format!("page={page}"));
        format!("/tickets?{}", pairs.join("&"))
    };
    let data = json!({
        "lang": lang,
        "company": portal.company,
        "page_title": if lang == "fr" { "Vos tickets" } else { "Your tickets" },
        "visitor": visitor.as_str(),
        "states": STATES.iter().map(|(name, _)| json!({ "name": name, "selected": *name == state })).collect::<Vec<_>>(),
        "q": query.q,
        "tickets": rows,
        "previous": if page > 0 { link(page - 1) } else { String::new() },
        "next": if more { link(page + 1) } else { String::new() },
    });
    portal.page(StatusCode::OK, "list.html", lang, data)
}

/// `text` as a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
