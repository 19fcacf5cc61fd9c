//! Every limit of the client API, named (specs/client-api.md, "Conventions" and "Connections").

use std::time::Duration;

/// Largest request body, in bytes (a larger declared `Content-Length` is refused before the
/// body is read).
pub const MAX_BODY_BYTES: usize = 262_144;
/// How long a request body may take to arrive once the handler reads it (`408 body_timeout`).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a connection may take to send a request's head, counted from when it is ready for
/// one: just opened, or idle after an answer. So it is also the keep-alive idle timeout. The
/// connection is closed when it passes.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers), in bytes (`431` beyond).
pub const MAX_HEADER_BYTES: usize = 16_384;
/// Most headers in one request (`431` beyond).
pub const MAX_HEADERS: usize = 64;
/// Connections open at once on the node; lower when the process may open few files (see
/// [`super::server::connection_cap`]). Beyond, `503 too_many_connections`.
pub const MAX_CONNECTIONS: usize = 512;
/// The least the connection cap is lowered to for a small file limit.
pub const MIN_CONNECTIONS: usize = 16;
/// Connections open at once from one client address (IPv6: one /64).
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 64;
/// Most `X-Forwarded-For` entries read from a trusted proxy's request, from the right: a chain
/// of proxies longer than this is not one a node is deployed behind.
pub const MAX_FORWARDED_HOPS: usize = 16;
/// Refusals of connections over the cap being written at once; beyond, such connections are
/// closed without an answer.
pub const MAX_REFUSALS_IN_FLIGHT: usize = 32;
/// How long a refused connection's request head is waited for before the refusal is sent.
pub const REFUSAL_HEAD_WAIT: Duration = Duration::from_secs(1);
/// How long writing one refusal and reading what the client sent with it may take.
pub const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);
/// Most bytes read (and dropped) from a refused connection before closing it, so that the
/// client reads the refusal instead of a reset.
pub const MAX_REFUSAL_DRAIN_BYTES: usize = 16_384;
/// Pause after a failed accept (out of file descriptors, ...) before accepting again.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// How long stopping the node waits for open connections to finish their requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// History page size when the client names none.
pub const DEFAULT_HISTORY_LIMIT: usize = 50;
/// Live streams open at once on the node.
pub const MAX_STREAMS: usize = 256;
/// Live streams open at once per user, over all their sessions.
pub const MAX_STREAMS_PER_USER: usize = 8;
/// Seconds between keep-alive pings on a stream.
pub const STREAM_PING_SECS: u64 = 15;
/// Requests one user may make in a burst, over all their sessions (a web client loading a busy
/// account makes a few dozen at once; sending one message takes two).
pub const RATE_BURST: u32 = 200;
/// Requests per second one user may sustain, over all their sessions.
pub const RATE_PER_SECOND: u32 = 50;
/// Requests one client address (IPv6: one /64) may make in a burst, with or without sessions:
/// room for a person's web client and command line, or a few people behind one address.
pub const RATE_BURST_PER_CLIENT: u32 = 400;
/// Requests per second one client address may sustain.
pub const RATE_PER_SECOND_PER_CLIENT: u32 = 100;
/// Rate-limit keys held (per limiter) before old ones are dropped.
pub const MAX_RATE_KEYS: usize = 65_536;
/// Challenges waiting for an answer, on the node.
pub const MAX_PENDING_CHALLENGES: usize = 4_096;
/// Challenges waiting for an answer from one client address (`429 too_many_challenges`).
pub const MAX_CHALLENGES_PER_CLIENT: usize = 16;
/// How long a challenge may be answered, in ms.
pub const CHALLENGE_TTL_MS: u64 = 120_000;
/// Sessions held at once.
pub const MAX_SESSIONS: usize = 65_536;
/// Sessions opened from one client address held at once; beyond, its oldest ends.
pub const MAX_SESSIONS_PER_CLIENT: usize = 1_024;
/// How long a session lasts, in ms.
pub const SESSION_TTL_MS: u64 = 24 * 60 * 60 * 1_000;
/// Validity of the attestations the node issues at registration, in ms.
pub const ATTESTATION_VALIDITY_MS: u64 = 365 * 24 * 60 * 60 * 1_000;
/// Longest message body, in bytes.
pub const MAX_MESSAGE_BODY_BYTES: usize = 16_384;
/// Longest moderation reason, in bytes.
pub const MAX_REASON_BYTES: usize = 1_024;
/// Longest temporary ban or mute a client may ask for (ten years, in ms); longer is refused
/// `bad_expiry` (a permanent one has no end).
pub const MAX_MODERATION_DURATION_MS: u64 = 10 * 366 * 24 * 60 * 60 * 1_000;
/// Deepest JSON content accepted for raw events (the envelope allows 16 levels of content).
pub const MAX_JSON_DEPTH: usize = 16;
/// Largest power level the API shows and accepts (the creator's unbounded power is shown as
/// this value).
pub const MAX_SHOWN_POWER: i64 = (1 << 53) - 1;
/// Most users listed per reaction key in a message's Event JSON (the count covers them all).
pub const MAX_REACTION_USERS_SHOWN: usize = 20;
/// Characters of the replied-to message shown in a reply's Event JSON.
pub const REPLY_PREVIEW_CHARS: usize = 200;
