//! Challenges and sessions of the client API (specs/client-api.md, "Identity and sessions").
//!
//! A challenge is a one-use, short-lived CBOR map naming this node and the user; the user signs
//! it (`Challenge` domain) to prove they hold the key. A session is a random bearer token mapped
//! to the user key. Both live in memory only, each table bounded: after a restart clients sign a
//! new challenge, which they can do without the user (the key is theirs). Tokens are kept as
//! their SHA-256, so a memory dump does not hand out live tokens, and are never logged.

use std::collections::BTreeMap;
use std::sync::Mutex;

use causerie_crypto::challenge::{Challenge as ChallengeWire, MAX_CHALLENGE_BYTES};
use causerie_crypto::{Domain, Hash32, NodeKey, Signature, UserKey};

use super::error::{ApiError, Reason};
use super::limits::{
    CHALLENGE_TTL_MS, MAX_PENDING_CHALLENGES, MAX_SESSIONS, MAX_STREAMS_PER_SESSION, SESSION_TTL_MS,
};

/// A challenge handed to a client.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The canonical CBOR map.
    pub bytes: Vec<u8>,
    /// What the user signs: the `Challenge` domain prefix ‖ `bytes`.
    pub signing_input: Vec<u8>,
    /// When it stops being accepted.
    pub expires_ms: u64,
}

/// A live session.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// Its user.
    pub user: UserKey,
    /// When it ends.
    pub expires_ms: u64,
    /// Its key in the table (SHA-256 of the token), also its rate-limit key.
    pub id: Hash32,
}

#[derive(Default)]
struct Tables {
    /// nonce → (user, expiry).
    challenges: BTreeMap<[u8; 32], (UserKey, u64)>,
    /// SHA-256(token) → session.
    sessions: BTreeMap<Hash32, Session>,
    /// SHA-256(token) → open streams.
    streams: BTreeMap<Hash32, usize>,
}

/// The node's challenges and sessions.
pub struct Sessions {
    node: NodeKey,
    tables: Mutex<Tables>,
}

fn random_32() -> Result<[u8; 32], ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|_| ApiError::new(Reason::NoRandomness, "the system random source failed"))?;
    Ok(bytes)
}

fn busy(what: &str) -> ApiError {
    ApiError::new(Reason::Busy, format!("too many {what}; try again shortly"))
}

fn unknown_challenge() -> ApiError {
    ApiError::new(
        Reason::UnknownChallenge,
        "the challenge is unknown, used or expired",
    )
}

impl Sessions {
    /// Empty tables for the node with key `node`.
    pub fn new(node: NodeKey) -> Self {
        Sessions {
            node,
            tables: Mutex::new(Tables::default()),
        }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves plain maps behind; keep serving.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new challenge for `user`.
    pub fn challenge(&self, user: UserKey, now_ms: u64) -> Result<Challenge, ApiError> {
        let nonce = random_32()?;
        let expires_ms = now_ms + CHALLENGE_TTL_MS;
        {
            let mut tables = self.tables();
            tables.challenges.retain(|_, (_, expiry)| *expiry > now_ms);
            if tables.challenges.len() >= MAX_PENDING_CHALLENGES {
                return Err(busy("pending challenges"));
            }
            tables.challenges.insert(nonce, (user, expires_ms));
        }
        let bytes = ChallengeWire::new(self.node, user, nonce, expires_ms)
            .encode()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let signing_input = ChallengeWire::signing_input(&bytes);
        Ok(Challenge {
            bytes,
            signing_input,
            expires_ms,
        })
    }

    /// Checks an answered challenge and uses it up; returns the user who signed it.
    pub fn answer(
        &self,
        challenge: &[u8],
        signature: &Signature,
        now_ms: u64,
    ) -> Result<UserKey, ApiError> {
        if challenge.len() > MAX_CHALLENGE_BYTES {
            return Err(unknown_challenge());
        }
        let wire = ChallengeWire::decode(challenge).ok_or_else(unknown_challenge)?;
        if wire.node != self.node {
            return Err(unknown_challenge());
        }
        let (user, expires_ms) = {
            let mut tables = self.tables();
            // One use: taken out whether the signature checks or not.
            tables
                .challenges
                .remove(&wire.nonce)
                .ok_or_else(unknown_challenge)?
        };
        if expires_ms <= now_ms || wire.expires_ms != expires_ms || wire.user != user {
            return Err(unknown_challenge());
        }
        if !user.verify(Domain::Challenge, challenge, signature) {
            return Err(ApiError::new(
                Reason::BadChallengeSignature,
                "the challenge signature does not verify",
            ));
        }
        Ok(user)
    }

    /// Opens a session for `user`; returns the bearer token (hex) and the session.
    pub fn open(&self, user: UserKey, now_ms: u64) -> Result<(String, Session), ApiError> {
        let token = random_32()?;
        let id = Hash32::digest(&[&token]);
        let session = Session {
            user,
            expires_ms: now_ms + SESSION_TTL_MS,
            id,
        };
        let mut tables = self.tables();
        if tables.sessions.len() >= MAX_SESSIONS {
            tables.sessions.retain(|_, s| s.expires_ms > now_ms);
            if tables.sessions.len() >= MAX_SESSIONS {
                return Err(busy("sessions"));
            }
        }
        tables.sessions.insert(id, session);
        Ok((hex::encode(token), session))
    }

    /// The live session of a bearer token.
    pub fn session(&self, token: &str, now_ms: u64) -> Option<Session> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(token, &mut bytes).ok()?;
        let id = Hash32::digest(&[&bytes]);
        let mut tables = self.tables();
        match tables.sessions.get(&id) {
            Some(session) if session.expires_ms > now_ms => Some(*session),
            Some(_) => {
                tables.sessions.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn close(&self, session: &Session) {
        let mut tables = self.tables();
        tables.sessions.remove(&session.id);
    }

    /// Counts a new stream of `session`; `false` when it has [`MAX_STREAMS_PER_SESSION`].
    pub fn open_stream(&self, session: &Session) -> bool {
        let mut tables = self.tables();
        let count = tables.streams.entry(session.id).or_insert(0);
        if *count >= MAX_STREAMS_PER_SESSION {
            return false;
        }
        *count += 1;
        true
    }

    /// Counts a stream of `session` as closed.
    pub fn close_stream(&self, session: &Session) {
        let mut tables = self.tables();
        if let Some(count) = tables.streams.get_mut(&session.id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                tables.streams.remove(&session.id);
            }
        }
    }
}
