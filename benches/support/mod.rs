//! Code the bench targets share; each target includes it with `mod support;`.

// Each bench target uses a part of the generator: the rest is dead code in that target.
#[allow(dead_code)]
pub mod mailgen;
