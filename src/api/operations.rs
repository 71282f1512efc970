//! What the team runs by hand: the quarantine (messages that could not be handled, listed
//! and run again) and the periodic jobs (listed with their last run, and run now).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Api, Problem, require};
use crate::quarantine::QuarantineError;
use crate::service::{ApiToken, JobKind, QuarantineRetry, QuarantineServiceError, Scope};

/// `GET /api/v1/quarantine`: every quarantined message with its reason.
pub async fn quarantine(State(api): State<Api>) -> Result<Response, Problem> {
    let entries = api.quarantine.list().map_err(Problem::logged)?;
    Ok(Json(json!({ "messages": entries })).into_response())
}

/// `POST /api/v1/quarantine/{id}/retry`: the message run through the pipeline again; 200
/// with what it became, or 409 with its new reason when it fails again.
pub async fn retry_quarantined(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    match api.quarantine.retry(&id).await {
        Ok(QuarantineRetry::Handled(report)) => {
            Ok(Json(json!({ "handled": report })).into_response())
        }
        Ok(QuarantineRetry::StillQuarantined(entry)) => Err(Problem::new(
            "still-quarantined",
            "It failed again",
            StatusCode::CONFLICT,
            format!("still quarantined: {}", entry.reason),
        )),
        Err(QuarantineServiceError::Quarantine(e @ QuarantineError::NotFound(_))) => {
            Err(Problem::not_found(e.to_string()))
        }
        Err(e) => Err(Problem::logged(e)),
    }
}

/// `GET /api/v1/jobs`: each periodic job, its schedule, whether it is on, its last run.
pub async fn jobs(State(api): State<Api>) -> Result<Response, Problem> {
    let jobs = api.jobs.list().await.map_err(Problem::logged)?;
    let listed: Vec<_> = jobs
        .iter()
        .map(|j| {
            json!({
                "name": j.kind.name(),
                "schedule": j.schedule,
                "description": j.description,
                "enabled": j.enabled,
                "last_run": j.last_run,
            })
        })
        .collect();
    Ok(Json(json!({ "jobs": listed })).into_response())
}

/// `POST /api/v1/jobs/{name}/run`: runs the job now, as `ticketgate jobs run` does.
pub async fn run_job(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let job: JobKind = name
        .parse()
        .map_err(|_| Problem::not_found(format!("there is no job `{name}`")))?;
    let report = api
        .jobs
        .run(job, &format!("api token {}", token.name))
        .await
        .map_err(Problem::logged)?;
    Ok(Json(json!({
        "job": report.job.name(),
        "as_of": report.as_of,
        "lines": report.lines,
        "summary": report.summary(),
    }))
    .into_response())
}
