//! The `causerie` binary.
fn main() {}
