//! The JSON bodies the API takes: an object of the fields the operation names, nothing
//! else. serde alone would also take an array of the fields' values in order (`[null]`
//! for an object of optional fields), which the document does not allow.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::Problem;

/// A JSON object of `T`'s fields.
pub(super) struct JsonObject<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonObject<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(json_problem)?;
        if !value.is_object() {
            return Err(Problem::invalid_field(
                "the body must be a JSON object of the operation's fields",
            ));
        }
        serde_json::from_value(value)
            .map(JsonObject)
            .map_err(|e| Problem::invalid_field(e.to_string()))
    }
}

/// A body that is not the JSON asked for: 415 without the JSON type, 400 when it cannot
/// be parsed, 422 when a field is wrong or unknown.
pub(super) fn json_problem(rejection: JsonRejection) -> Problem {
    let status = rejection.status();
    let kind = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "media-type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid-field",
        _ => "bad-json",
    };
    Problem::new(
        kind,
        "The body cannot be used",
        status,
        rejection.body_text(),
    )
}
