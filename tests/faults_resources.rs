//! Faults of the machine under the daemon: a full filesystem, a read-only database, a
//! database locked by another process, a clock that jumps.
