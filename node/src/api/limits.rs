//! Every limit of the client API, named (specs/client-api.md, "Conventions").

/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 262_144;
/// History page size when the client names none.
pub const DEFAULT_HISTORY_LIMIT: usize = 50;
/// Live streams open at once on the node.
pub const MAX_STREAMS: usize = 64;
/// Live streams open at once per session.
pub const MAX_STREAMS_PER_SESSION: usize = 4;
/// Seconds between keep-alive pings on a stream.
pub const STREAM_PING_SECS: u64 = 15;
/// Requests one client may make in a burst (a web client loading a busy account makes a few
/// dozen at once; sending one message takes two).
pub const RATE_BURST: u32 = 200;
/// Requests per second one client may sustain.
pub const RATE_PER_SECOND: u32 = 50;
/// Rate-limit keys held before old ones are dropped.
pub const MAX_RATE_KEYS: usize = 65_536;
/// Challenges waiting for an answer.
pub const MAX_PENDING_CHALLENGES: usize = 4_096;
/// How long a challenge may be answered, in ms.
pub const CHALLENGE_TTL_MS: u64 = 120_000;
/// Sessions held at once.
pub const MAX_SESSIONS: usize = 65_536;
/// How long a session lasts, in ms.
pub const SESSION_TTL_MS: u64 = 24 * 60 * 60 * 1_000;
/// Validity of the attestations the node issues at registration, in ms.
pub const ATTESTATION_VALIDITY_MS: u64 = 365 * 24 * 60 * 60 * 1_000;
/// Longest message body, in bytes.
pub const MAX_MESSAGE_BODY_BYTES: usize = 16_384;
/// Longest moderation reason, in bytes.
pub const MAX_REASON_BYTES: usize = 1_024;
/// Deepest JSON content accepted for raw events (the envelope allows 16 levels of content).
pub const MAX_JSON_DEPTH: usize = 16;
/// Largest power level the API shows and accepts (the creator's unbounded power is shown as
/// this value).
pub const MAX_SHOWN_POWER: i64 = (1 << 53) - 1;
