//! `causerie-node`: the Causerie node (being built).
