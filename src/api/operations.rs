//! What the team runs by hand: the quarantine (messages that could not be handled, listed
//! and run again) and the periodic jobs (listed with their last run, and run now).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Api, Problem, require};
use crate::intake::Report;
use crate::quarantine::{QuarantineEntry, QuarantineError};
use crate::service::{ApiToken, JobKind, QuarantineRetry, QuarantineServiceError, Scope};
use crate::store::JobRun;

/// The quarantine's messages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuarantineList {
    messages: Vec<QuarantineEntry>,
}

/// What a message run again became.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Handled {
    handled: Report,
}

/// A periodic job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    name: &'static str,
    /// Cron, with seconds: `0 */10 * * * *`.
    schedule: String,
    description: String,
    enabled: bool,
    last_run: Option<JobRun>,
}

/// The periodic jobs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobList {
    jobs: Vec<JobView>,
}

/// What a job run by hand did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobRunAnswer {
    job: &'static str,
    /// The moment the job acted as of.
    as_of: DateTime<Utc>,
    /// One line per thing done.
    lines: Vec<String>,
    summary: String,
}

/// `GET /api/v1/quarantine`: every quarantined message with its reason.
#[utoipa::path(get, path = "/v1/quarantine", operation_id = "list_quarantine", tag = "operations",
    responses((status = 200, description = "The quarantined messages", body = QuarantineList)))]
pub async fn quarantine(State(api): State<Api>) -> Result<Response, Problem> {
    let messages = api.quarantine.list().map_err(Problem::logged)?;
    Ok(Json(QuarantineList { messages }).into_response())
}

/// `POST /api/v1/quarantine/{id}/retry`: the message run through the pipeline again; 200
/// with what it became, or 409 with its new reason when it fails again.
#[utoipa::path(post, path = "/v1/quarantine/{id}/retry", operation_id = "retry_quarantined", tag = "operations",
    params(("id" = String, Path, description = "The message's id, as the quarantine lists it")),
    responses((status = 200, description = "Handled this time", body = Handled),
        (status = 409, description = "It failed again: still quarantined, with its new reason", body = Problem, content_type = "application/problem+json")))]
pub async fn retry_quarantined(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    match api.quarantine.retry(&id).await {
        Ok(QuarantineRetry::Handled(report)) => {
            Ok(Json(Handled { handled: report }).into_response())
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
#[utoipa::path(get, path = "/v1/jobs", operation_id = "list_jobs", tag = "operations",
    responses((status = 200, description = "The periodic jobs", body = JobList)))]
pub async fn jobs(State(api): State<Api>) -> Result<Response, Problem> {
    let jobs = api.jobs.list().await.map_err(Problem::logged)?;
    let listed: Vec<_> = jobs
        .iter()
        .map(|j| JobView {
            name: j.kind.name(),
            schedule: j.schedule.clone(),
            description: j.description.clone(),
            enabled: j.enabled,
            last_run: j.last_run.clone(),
        })
        .collect();
    Ok(Json(JobList { jobs: listed }).into_response())
}

/// `POST /api/v1/jobs/{name}/run`: runs the job now, as `ticketgate jobs run` does.
#[utoipa::path(post, path = "/v1/jobs/{name}/run", operation_id = "run_job", tag = "operations",
    params(("name" = String, Path, description = "auto-close, resolution-reminder, waiting-reminder, purge or weekly-digest")),
    responses((status = 200, description = "What the run did", body = JobRunAnswer)))]
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
    Ok(Json(JobRunAnswer {
        job: report.job.name(),
        as_of: report.as_of,
        summary: report.summary(),
        lines: report.lines,
    })
    .into_response())
}
