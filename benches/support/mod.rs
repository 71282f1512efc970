//! Code the bench targets share; each target includes it with `mod support;`.

// Each bench target uses a part of these: the rest is dead code in that target.
#[allow(dead_code)]
pub mod child;
#[allow(dead_code)]
pub mod mailgen;
#[allow(dead_code)]
pub mod wrk;
