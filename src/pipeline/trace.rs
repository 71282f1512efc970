//! The decisions the pipeline takes on one message, each with its reason: what `explain`
//! prints, and what the decision steps write into as they go.

use std::fmt;

use serde::Serialize;

/// One decision of the pipeline and its reason, as `explain` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub stage: &'static str,
    pub detail: String,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<10} {}", format!("{}:", self.stage), self.detail)
    }
}

/// The decisions taken on one message, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trace {
    pub steps: Vec<Step>,
}

impl Trace {
    /// Records a decision of `stage`.
    pub(super) fn note(&mut self, stage: &'static str, detail: impl Into<String>) {
        self.steps.push(Step {
            stage,
            detail: detail.into(),
        });
    }
}
