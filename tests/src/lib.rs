//! `causerie-tests`: cross-crate scenarios (being built).
