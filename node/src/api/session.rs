//! Challenges and sessions of the client API (specs/client-api.md, "Identity and sessions").
//!
//! A challenge is a one-use, short-lived CBOR map naming this node and the user; the user signs
//! it (`Challenge` domain) to prove they hold the key. A session is a random bearer token mapped
//! to the user key. Both live in memory only, each table bounded: after a restart clients sign a
//! new challenge, which they can do without the user (the key is theirs). Tokens are kept as
//! their SHA-256, so a memory dump does not hand out live tokens, and are never logged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use causerie_crypto::challenge::{Challenge as ChallengeWire, MAX_CHALLENGE_BYTES};
use causerie_crypto::{AttestationId, Domain, Hash32, NodeKey, Signature, UserKey};

use super::error::{ApiError, Reason};
use super::guard::ClientKey;
use super::limits::{
    CHALLENGE_TTL_MS, MAX_CHALLENGES_PER_CLIENT, MAX_PENDING_CHALLENGES, MAX_SESSIONS,
    MAX_SESSIONS_PER_CLIENT, MAX_STREAMS_PER_USER, SESSION_TTL_MS,
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
    /// Its key in the table (SHA-256 of the token).
    pub id: Hash32,
    /// The client address that opened it.
    pub client: ClientKey,
    /// For a user homed on another node (no account here): the id of the attestation checked
    /// at login, which the user acts under on this node. `None` for this node's accounts.
    pub remote: Option<AttestationId>,
}

/// A pending challenge.
#[derive(Debug, Clone, Copy)]
struct Pending {
    user: UserKey,
    expires_ms: u64,
    client: ClientKey,
}

#[derive(Default)]
struct Tables {
    /// nonce → pending challenge.
    challenges: BTreeMap<[u8; 32], Pending>,
    /// Pending challenges per client address (only clients with some).
    challenges_per_client: BTreeMap<ClientKey, usize>,
    /// SHA-256(token) → session.
    sessions: BTreeMap<Hash32, Session>,
    /// The sessions each client address opened, oldest (first to expire) first.
    sessions_per_client: BTreeMap<ClientKey, BTreeSet<(u64, Hash32)>>,
    /// User → open live streams.
    streams: BTreeMap<UserKey, usize>,
}

impl Tables {
    fn take_challenge(&mut self, nonce: &[u8; 32]) -> Option<Pending> {
        let pending = self.challenges.remove(nonce)?;
        if let Some(count) = self.challenges_per_client.get_mut(&pending.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.challenges_per_client.remove(&pending.client);
            }
        }
        Some(pending)
    }

    fn drop_expired_challenges(&mut self, now_ms: u64) {
        for nonce in expired(&self.challenges, now_ms, |p| p.expires_ms) {
            self.take_challenge(&nonce);
        }
    }

    fn remove_session(&mut self, id: &Hash32) {
        let Some(session) = self.sessions.remove(id) else {
            return;
        };
        if let Some(opened) = self.sessions_per_client.get_mut(&session.client) {
            opened.remove(&(session.expires_ms, *id));
            if opened.is_empty() {
                self.sessions_per_client.remove(&session.client);
            }
        }
    }

    fn drop_expired_sessions(&mut self, now_ms: u64) {
        for id in expired(&self.sessions, now_ms, |s| s.expires_ms) {
            self.remove_session(&id);
        }
    }
}

/// The keys of `table`'s entries whose expiry (`expires_ms`) is at or before `now_ms`.
fn expired<K: Copy, V>(
    table: &BTreeMap<K, V>,
    now_ms: u64,
    expires_ms: impl Fn(&V) -> u64,
) -> Vec<K> {
    table
        .iter()
        .filter(|(_, entry)| expires_ms(entry) <= now_ms)
        .map(|(key, _)| *key)
        .collect()
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

    /// A new challenge for `user`, asked by `client`. A client may have
    /// [`MAX_CHALLENGES_PER_CLIENT`] pending (`429 too_many_challenges`), so that no client can
    /// take the node's whole table.
    pub fn challenge(
        &self,
        user: UserKey,
        client: ClientKey,
        now_ms: u64,
    ) -> Result<Challenge, ApiError> {
        let nonce = random_32()?;
        let expires_ms = now_ms + CHALLENGE_TTL_MS;
        {
            let mut tables = self.tables();
            tables.drop_expired_challenges(now_ms);
            let pending = tables
                .challenges_per_client
                .get(&client)
                .copied()
                .unwrap_or(0);
            if pending >= MAX_CHALLENGES_PER_CLIENT {
                let first_expiry = tables
                    .challenges
                    .values()
                    .filter(|p| p.client == client)
                    .map(|p| p.expires_ms)
                    .min()
                    .unwrap_or(expires_ms);
                let wait_secs = first_expiry.saturating_sub(now_ms).div_ceil(1_000).max(1);
                return Err(ApiError::new(
                    Reason::TooManyChallenges,
                    format!(
                        "at most {MAX_CHALLENGES_PER_CLIENT} challenges may wait for an answer \
                         per client; answer them or let them expire"
                    ),
                )
                .retry_after(wait_secs));
            }
            if tables.challenges.len() >= MAX_PENDING_CHALLENGES {
                return Err(busy("pending challenges"));
            }
            tables.challenges.insert(
                nonce,
                Pending {
                    user,
                    expires_ms,
                    client,
                },
            );
            *tables.challenges_per_client.entry(client).or_insert(0) += 1;
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
        let Pending {
            user, expires_ms, ..
        } = {
            let mut tables = self.tables();
            // One use: taken out whether the signature checks or not.
            tables
                .take_challenge(&wire.nonce)
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

    /// Opens a session for `user`, logged in from `client`; returns the bearer token (hex) and
    /// the session. A client address holds at most [`MAX_SESSIONS_PER_CLIENT`] sessions: beyond,
    /// its oldest ends, so that no client can take the node's whole table (clients that log in
    /// for every command keep working).
    pub fn open(
        &self,
        user: UserKey,
        client: ClientKey,
        now_ms: u64,
    ) -> Result<(String, Session), ApiError> {
        self.open_as(user, None, client, now_ms)
    }

    /// [`Sessions::open`] for a user homed on another node, acting under `attestation` (checked
    /// by the caller).
    pub fn open_remote(
        &self,
        user: UserKey,
        attestation: AttestationId,
        client: ClientKey,
        now_ms: u64,
    ) -> Result<(String, Session), ApiError> {
        self.open_as(user, Some(attestation), client, now_ms)
    }

    fn open_as(
        &self,
        user: UserKey,
        remote: Option<AttestationId>,
        client: ClientKey,
        now_ms: u64,
    ) -> Result<(String, Session), ApiError> {
        let token = random_32()?;
        let id = Hash32::digest(&[&token]);
        let session = Session {
            user,
            expires_ms: now_ms + SESSION_TTL_MS,
            id,
            client,
            remote,
        };
        let mut tables = self.tables();
        let oldest = tables
            .sessions_per_client
            .get(&client)
            .filter(|opened| opened.len() >= MAX_SESSIONS_PER_CLIENT)
            .and_then(|opened| opened.first().map(|(_, id)| *id));
        if let Some(oldest) = oldest {
            tables.remove_session(&oldest);
        }
        if tables.sessions.len() >= MAX_SESSIONS {
            tables.drop_expired_sessions(now_ms);
            if tables.sessions.len() >= MAX_SESSIONS {
                return Err(busy("sessions"));
            }
        }
        tables.sessions.insert(id, session);
        tables
            .sessions_per_client
            .entry(client)
            .or_default()
            .insert((session.expires_ms, id));
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
                tables.remove_session(&id);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn close(&self, session: &Session) {
        let mut tables = self.tables();
        tables.remove_session(&session.id);
    }

    /// Counts a new stream of `session`'s user; `false` when they have
    /// [`MAX_STREAMS_PER_USER`] open (over all their sessions).
    pub fn open_stream(&self, session: &Session) -> bool {
        let mut tables = self.tables();
        let count = tables.streams.entry(session.user).or_insert(0);
        if *count >= MAX_STREAMS_PER_USER {
            return false;
        }
        *count += 1;
        true
    }

    /// Counts a stream of `session`'s user as closed.
    pub fn close_stream(&self, session: &Session) {
        let mut tables = self.tables();
        if let Some(count) = tables.streams.get_mut(&session.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                tables.streams.remove(&session.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use causerie_crypto::UserSecret;

    use super::*;

    fn client(last: u8) -> ClientKey {
        ClientKey::of(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
    }

    fn sessions() -> (Sessions, UserKey) {
        let node = causerie_crypto::NodeSecret::from_seed(&[1; 32]).public();
        (
            Sessions::new(node),
            UserSecret::from_seed(&[2; 32]).public(),
        )
    }

    #[test]
    fn one_client_cannot_take_the_challenge_table() {
        let (table, user) = sessions();
        for _ in 0..MAX_CHALLENGES_PER_CLIENT {
            assert!(table.challenge(user, client(1), 1_000).is_ok());
        }
        let refused = table.challenge(user, client(1), 1_000).err();
        let refused = refused.map(|e| (e.reason, e.retry_after_secs));
        assert_eq!(
            refused,
            Some((
                Reason::TooManyChallenges,
                Some(CHALLENGE_TTL_MS.div_ceil(1_000))
            ))
        );
        assert!(table.challenge(user, client(2), 1_000).is_ok());
        // Expired challenges free their client's places.
        assert!(
            table
                .challenge(user, client(1), 1_000 + CHALLENGE_TTL_MS)
                .is_ok()
        );
        assert_eq!(
            table.tables().challenges_per_client.get(&client(1)),
            Some(&1)
        );
    }

    #[test]
    fn one_client_keeps_at_most_its_share_of_sessions() {
        let (table, user) = sessions();
        let (_, first) = table
            .open(user, client(1), 0)
            .unwrap_or_else(|e| panic!("{e:?}"));
        for now in 1..MAX_SESSIONS_PER_CLIENT as u64 {
            assert!(table.open(user, client(1), now).is_ok());
        }
        assert_eq!(table.tables().sessions.len(), MAX_SESSIONS_PER_CLIENT);
        assert!(table.tables().sessions.contains_key(&first.id));
        // One more ends the client's oldest; other clients are untouched.
        let (_, other) = table
            .open(user, client(2), 5)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(table.open(user, client(1), 10_000).is_ok());
        let tables = table.tables();
        assert!(!tables.sessions.contains_key(&first.id));
        assert!(tables.sessions.contains_key(&other.id));
        assert_eq!(
            tables
                .sessions_per_client
                .get(&client(1))
                .map(BTreeSet::len),
            Some(MAX_SESSIONS_PER_CLIENT)
        );
    }

    #[test]
    fn streams_count_per_user_over_sessions() {
        let (table, user) = sessions();
        let opened: Vec<Session> = (0..3)
            .filter_map(|i| table.open(user, client(i), 0).ok().map(|(_, s)| s))
            .collect();
        for i in 0..MAX_STREAMS_PER_USER {
            assert!(table.open_stream(&opened[i % opened.len()]));
        }
        assert!(!table.open_stream(&opened[0]));
        table.close_stream(&opened[2]);
        assert!(table.open_stream(&opened[1]));
    }
}
