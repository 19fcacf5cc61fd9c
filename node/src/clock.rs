//! The node's wall clock, read in one place: milliseconds since the Unix epoch. The room engine
//! never reads it (its callers pass the time in); the node reads it when it receives or prepares
//! events, opens sessions and issues attestations.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 if the system clock is set before 1970.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
