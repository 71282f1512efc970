//! Agents' edits (assignment, fields, observers): each one applies only if the ticket is
//! still as the operation read it, and a stale one writes nothing.

use std::sync::Arc;

use ticketgate::clock::Clock;
use ticketgate::domain::{EmailAddress, Impact, Status, Urgency};
use ticketgate::service::{FieldEdits, TicketService};
use ticketgate::store::{ActionCommitted, Change, TicketAction};

use crate::support::helpers::{TestEnv, created};

const AGENTS: &str = "[[agent]]\nname = \"Camille\"\nemail = \"camille@ours.test\"\n\
                      [[agent]]\nname = \"Dominique\"\nemail = \"dominique@ours.test\"\n";

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

/// Each edit through the service, then the same edit decided on the ticket as first read:
/// stale, nothing written.
async fn edits_apply_only_to_the_ticket_as_read(env: &TestEnv) {
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let settings = Arc::new(env.pipeline().settings().clone());
    let service = TicketService::new(env.store().clone(), settings, env.clock.clone());
    let camille = service.agent(Some("camille")).unwrap();
    let store = env.store();
    let first_read = store.ticket_by_number(&n).await.unwrap().unwrap();

    service.assign(&n, "dominique", &camille).await.unwrap();
    let edits = FieldEdits {
        impact: Some(Impact::Interrupted),
        urgency: Some(Urgency::High),
        category: Some(Some("network".into())),
        ..FieldEdits::default()
    };
    service.set_fields(&n, &edits, &camille).await.unwrap();
    service
        .add_observer(&n, &addr("Carol@acme.example"), &camille)
        .await
        .unwrap();
    let now = store.ticket_by_number(&n).await.unwrap().unwrap();
    assert_eq!(now.status, Status::InProgress);
    assert_eq!(now.assignee.as_deref(), Some("dominique@ours.test"));
    assert_eq!(now.priority.label(), "P1");
    assert_eq!(now.category.as_deref(), Some("network"));
    let articles = env.details(&n).await.articles.len();

    // Same status as now, so that only the edited value can make the action stale.
    let on_first_read = || TicketAction::new(now.id, now.status, env.clock.now());
    let stale_assignee = TicketAction {
        assignee: Some(Change {
            from: first_read.assignee.clone(),
            to: Some("camille@ours.test".into()),
        }),
        ..on_first_read()
    };
    let mut stale_fields = TicketAction {
        fields: Some(Change {
            from: first_read.fields(),
            to: first_read.fields(),
        }),
        ..on_first_read()
    };
    if let Some(change) = &mut stale_fields.fields {
        change.to.urgency = Urgency::Medium;
    }
    let stale_add = TicketAction {
        add_observers: vec![addr("carol@acme.example")],
        ..on_first_read()
    };
    let stale_remove = TicketAction {
        remove_observers: vec![addr("zoe@acme.example")],
        ..on_first_read()
    };
    for action in [stale_assignee, stale_fields, stale_add, stale_remove] {
        assert_eq!(
            store.commit_action(&action).await.unwrap(),
            ActionCommitted::Stale,
            "{action:?}"
        );
    }
    let after = env.details(&n).await;
    assert_eq!(
        after.articles.len(),
        articles,
        "a stale action writes nothing"
    );
    assert_eq!(
        after.ticket.assignee.as_deref(),
        Some("dominique@ours.test")
    );
    assert_eq!(after.ticket.urgency, Urgency::High);
    assert_eq!(
        after.ticket.observers,
        [addr("bob@acme.example"), addr("carol@acme.example")]
    );

    // Decided on the ticket as it is now, the same edits apply.
    let mut fresh = TicketAction {
        assignee: Some(Change {
            from: now.assignee.clone(),
            to: None,
        }),
        fields: Some(Change {
            from: now.fields(),
            to: now.fields(),
        }),
        remove_observers: vec![addr("carol@acme.example")],
        ..on_first_read()
    };
    if let Some(change) = &mut fresh.fields {
        change.to.category = None;
        change.to.private = true;
    }
    assert!(matches!(
        store.commit_action(&fresh).await.unwrap(),
        ActionCommitted::Done { article_id: None }
    ));
    let after = store.ticket_by_number(&n).await.unwrap().unwrap();
    assert_eq!(after.assignee, None);
    assert_eq!(after.category, None);
    assert!(after.private);
    assert_eq!(after.observers, [addr("bob@acme.example")]);
}

#[tokio::test]
async fn edits_apply_only_to_the_ticket_as_read_and_a_stale_one_writes_nothing() {
    edits_apply_only_to_the_ticket_as_read(&TestEnv::with_config(AGENTS).await).await;
}
