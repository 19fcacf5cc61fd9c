//! `causerie-storage`: storage traits with sled and in-memory backends (being built).
