//! [`ReasonCounts`]: counters keyed by stable reason names (`bad_signature`, `rate_limited`, ...),
//! shared by the receive path, the network and the HTTP guard, and rendered the same way in
//! `/metrics`. Keys are `&'static str` reason names, so a map holds at most the set of names
//! the program has.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Counts by reason name. Safe to share between threads.
#[derive(Debug, Default)]
pub struct ReasonCounts(Mutex<BTreeMap<&'static str, u64>>);

impl ReasonCounts {
    /// No counts yet.
    pub fn new() -> Self {
        ReasonCounts::default()
    }

    /// Adds one to `reason`.
    pub fn increment(&self, reason: &'static str) {
        // A poisoned lock only means another thread panicked mid-increment; counting goes on.
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(reason).or_default() += 1;
    }

    /// A copy of the counts, in reason-name order.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Appends the counts to `out` as the Prometheus counter `name`, one sample per reason.
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        render_reasons(out, name, help, &self.snapshot());
    }
}

/// Appends `counts` to `out` as the Prometheus counter `name` with a `reason` label.
pub fn render_reasons(out: &mut String, name: &str, help: &str, counts: &BTreeMap<&str, u64>) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (reason, value) in counts {
        let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_reason_and_renders_in_name_order() {
        let counts = ReasonCounts::new();
        counts.increment("too_big");
        counts.increment("bad_signature");
        counts.increment("too_big");
        assert_eq!(
            counts.snapshot().into_iter().collect::<Vec<_>>(),
            [("bad_signature", 1), ("too_big", 2)]
        );
        let mut out = String::new();
        counts.render(&mut out, "x_total", "Things.");
        assert_eq!(
            out,
            "# HELP x_total Things.\n# TYPE x_total counter\n\
             x_total{reason=\"bad_signature\"} 1\nx_total{reason=\"too_big\"} 2\n"
        );
    }
}
