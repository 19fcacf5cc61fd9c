//! What the benchmarks under `benches/` share: their `--name value` arguments, printing a line,
//! and latency percentiles.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Walks the process arguments as `--name value` pairs: `take(name, value)` says whether it used
/// the pair; an argument it does not take (such as the `--bench` that `cargo bench` passes) is
/// skipped on its own.
pub fn for_each_flag(mut take: impl FnMut(&str, &str) -> bool) {
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        match args.get(i + 1) {
            Some(value) if take(&args[i], value) => i += 2,
            _ => i += 1,
        }
    }
}

/// [`for_each_flag`] for flags whose value is a whole number: a value that does not parse is
/// not taken.
pub fn for_each_number_flag(mut take: impl FnMut(&str, u64) -> bool) {
    for_each_flag(|name, value| value.parse::<u64>().is_ok_and(|v| take(name, v)));
}

/// The multi-threaded tokio runtime a benchmark's body runs on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Notes that node `index` stored `key` at `at`, in the arrivals the listener tasks share.
pub fn note_arrival<K: Ord>(
    arrivals: &Mutex<BTreeMap<K, Vec<(usize, Instant)>>>,
    key: K,
    index: usize,
    at: Instant,
) {
    arrivals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .push((index, at));
}

/// Prints one line of results on stdout.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// The `p`th percentile (0 to 100, nearest rank) of `sorted`; zero for an empty list.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A duration in milliseconds, for printing.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
