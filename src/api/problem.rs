//! The API's errors as RFC 9457 problem details (`application/problem+json`), each kind
//! with a stable `type` a client can branch on, its HTTP status, and a `detail` that says
//! what to do.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::service::{TicketError, TokenError};

/// One problem, ready to send.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:ticketgate:problem:KIND`, stable for each kind of refusal.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
}

impl Problem {
    /// A problem of `kind` (the last part of its `type`) with `status`.
    pub fn new(
        kind: &str,
        title: &'static str,
        status: StatusCode,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: format!("urn:ticketgate:problem:{kind}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            "unauthorized",
            "No valid token",
            StatusCode::UNAUTHORIZED,
            "send `Authorization: Bearer TOKEN` with a token from `ticketgate tokens create`",
        )
    }

    pub fn forbidden_scope() -> Self {
        Self::new(
            "scope",
            "The token may not do this",
            StatusCode::FORBIDDEN,
            "this request changes data: it needs a token made with `--scope write`",
        )
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new("not-found", "Not found", StatusCode::NOT_FOUND, what)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            "bad-request",
            "The request cannot be read",
            StatusCode::BAD_REQUEST,
            detail,
        )
    }

    /// A field of the body that is unknown or holds what it may not.
    pub fn invalid_field(detail: impl Into<String>) -> Self {
        Self::new(
            "invalid-field",
            "A field is wrong",
            StatusCode::UNPROCESSABLE_ENTITY,
            detail,
        )
    }

    pub fn stale() -> Self {
        Self::new(
            "stale",
            "The ticket changed",
            StatusCode::PRECONDITION_FAILED,
            "the ticket changed since the version If-Match names; read it again, then retry",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            "internal",
            "Internal error",
            StatusCode::INTERNAL_SERVER_ERROR,
            "something failed on our side; it is logged, try again later",
        )
    }

    /// Our own failure: logged, and a 500 problem that tells nothing of it.
    pub fn logged(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "an API request failed");
        Self::internal()
    }

    /// What a ticket operation's refusal becomes; our own failures are logged.
    pub fn of_ticket(error: &TicketError) -> Self {
        use TicketError as E;
        let conflict =
            |kind, title| Self::new(kind, title, StatusCode::CONFLICT, error.to_string());
        let invalid = |kind, title| {
            Self::new(
                kind,
                title,
                StatusCode::UNPROCESSABLE_ENTITY,
                error.to_string(),
            )
        };
        match error {
            E::NoTicket(_) | E::NoAttachment { .. } | E::NoRawMail { .. } => {
                Self::not_found(error.to_string())
            }
            E::Changed(_) => Self::stale(),
            E::InvalidMove(_) => conflict("invalid-move", "This status change is not allowed"),
            E::Closed(_) => conflict("closed", "The ticket is closed"),
            E::AlreadyAssigned { .. } => conflict("already-assigned", "Already assigned"),
            E::AlreadyObserver { .. } | E::RequesterAsObserver { .. } => {
                conflict("already-observer", "Already told of the ticket")
            }
            E::NotObserver { .. } => conflict("not-observer", "Not an observer"),
            E::NoSolutionPending(..) => conflict("no-solution", "No solution waits for an answer"),
            E::SolutionRequired => invalid("solution-required", "A solution is needed"),
            E::UnknownAgent(_) | E::UnknownAssignee(_) => invalid("unknown-agent", "Unknown agent"),
            E::NothingToSet => invalid("nothing-to-set", "Nothing to set"),
            E::Missing(_) | E::UnknownLanguage(_) => invalid("invalid-field", "A field is wrong"),
            E::OursAsCustomer(_) => invalid("our-address", "One of our own addresses"),
            E::AttachmentTooLarge { .. } => Self::new(
                "file-too-large",
                "A file is too large",
                StatusCode::PAYLOAD_TOO_LARGE,
                error.to_string(),
            ),
            _ => {
                tracing::error!(error = %error, "an API request failed");
                Self::internal()
            }
        }
    }

    /// What a token check's refusal becomes.
    pub fn of_token(error: &TokenError) -> Self {
        match error {
            TokenError::Invalid => Self::unauthorized(),
            other => {
                tracing::error!(error = %other, "a token could not be checked");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
