//! Trust between nodes in room rules (specs/accountability.md §8, specs/rooms.md §2.1): which
//! home nodes' attestations admit a user to an `attested` room. A join-rules event may name an
//! allowlist of attester nodes (`allowed_attesters`) and a denylist (`denied_attesters`); a join
//! that is not covered by an invitation qualifies only if its attestation meets the room's
//! minimum assurance, its home node is not denied, and, when the allowlist is not empty, its
//! home node is on the allowlist. Pure functions of the join-rules content and the joining
//! event's [`Credential`]; ordered sets only, so nothing depends on hash-map order.

use std::collections::BTreeSet;

use causerie_crypto::{Content, NodeKey, Value};

use crate::content::JoinRules;
use crate::error::AuthError;
use crate::event::Credential;

/// Most node keys a join-rules event may allow.
pub const MAX_ALLOWED_ATTESTERS: usize = 256;

/// The problems a node-key list of join-rules content can have, by field.
struct ListProblems {
    not_a_list: &'static str,
    too_many: &'static str,
    bad_key: &'static str,
}

const DENIED: ListProblems = ListProblems {
    not_a_list: "bad_denied_attesters",
    too_many: "too_many_denied_attesters",
    bad_key: "bad_denied_attester",
};

const ALLOWED: ListProblems = ListProblems {
    not_a_list: "bad_allowed_attesters",
    too_many: "too_many_allowed_attesters",
    bad_key: "bad_allowed_attester",
};

/// Reads the node-key list under `key` (absent: empty): an array of at most `max` 32-byte byte
/// strings that are valid Ed25519 keys, duplicates merged.
fn node_keys(
    content: &Content,
    key: &str,
    max: usize,
    problems: &ListProblems,
) -> Result<BTreeSet<NodeKey>, AuthError> {
    let mut keys = BTreeSet::new();
    let Some(value) = content.get(key) else {
        return Ok(keys);
    };
    let list = value
        .as_array()
        .ok_or(AuthError::BadContent(problems.not_a_list))?;
    if list.len() > max {
        return Err(AuthError::BadContent(problems.too_many));
    }
    for item in list {
        let bytes: &[u8; 32] = item
            .as_bytes()
            .and_then(|b| b.try_into().ok())
            .ok_or(AuthError::BadContent(problems.bad_key))?;
        let node =
            NodeKey::from_bytes(bytes).map_err(|_| AuthError::BadContent(problems.bad_key))?;
        keys.insert(node);
    }
    Ok(keys)
}

/// The `denied_attesters` of join-rules content (at most
/// [`MAX_DENIED_ATTESTERS`](crate::content::MAX_DENIED_ATTESTERS)).
pub fn denied_attesters(content: &Content) -> Result<BTreeSet<NodeKey>, AuthError> {
    node_keys(
        content,
        "denied_attesters",
        crate::content::MAX_DENIED_ATTESTERS,
        &DENIED,
    )
}

/// The `allowed_attesters` of join-rules content (at most [`MAX_ALLOWED_ATTESTERS`]; absent or
/// empty: no allowlist).
pub fn allowed_attesters(content: &Content) -> Result<BTreeSet<NodeKey>, AuthError> {
    node_keys(
        content,
        "allowed_attesters",
        MAX_ALLOWED_ATTESTERS,
        &ALLOWED,
    )
}

/// A node-key list as join-rules content writes it: byte strings in key order.
pub fn node_key_list(keys: &BTreeSet<NodeKey>) -> Value {
    Value::Array(
        keys.iter()
            .map(|k| Value::Bytes(k.as_bytes().to_vec()))
            .collect(),
    )
}

/// Whether a home node's attestations may admit users under `rules`: not denied, and on the
/// allowlist when there is one. A denial wins over an allowance.
pub fn attester_trusted(rules: &JoinRules, issuer: &[u8; 32]) -> bool {
    let named = |keys: &BTreeSet<NodeKey>| keys.iter().any(|k| k.as_bytes() == issuer);
    !named(&rules.denied_attesters)
        && (rules.allowed_attesters.is_empty() || named(&rules.allowed_attesters))
}

/// Whether the credential of an uninvited join qualifies under `rules` (join rule `attested`):
/// assurance at least `min_assurance` and a trusted home node. `None` (no credential) never
/// qualifies.
pub fn admits(rules: &JoinRules, credential: Option<&Credential>) -> bool {
    credential
        .is_some_and(|c| c.assurance >= rules.min_assurance && attester_trusted(rules, &c.issuer))
}

#[cfg(test)]
mod tests {
    use causerie_crypto::{Assurance, NodeSecret};

    use super::*;
    use crate::content::JoinRule;

    fn node(seed: u8) -> NodeKey {
        NodeSecret::from_seed(&[seed; 32]).public()
    }

    fn credential(seed: u8, assurance: Assurance) -> Credential {
        Credential {
            assurance,
            issuer: *node(seed).as_bytes(),
        }
    }

    fn rules(allowed: &[u8], denied: &[u8]) -> JoinRules {
        JoinRules {
            rule: JoinRule::Attested,
            min_assurance: Assurance::Contact,
            denied_attesters: denied.iter().map(|s| node(*s)).collect(),
            allowed_attesters: allowed.iter().map(|s| node(*s)).collect(),
        }
    }

    #[test]
    fn without_an_allowlist_every_undenied_attester_is_trusted() {
        let r = rules(&[], &[9]);
        assert!(admits(&r, Some(&credential(1, Assurance::Contact))));
        assert!(!admits(&r, Some(&credential(9, Assurance::InPerson))));
        assert!(!admits(&r, Some(&credential(1, Assurance::Key))));
        assert!(!admits(&r, None));
    }

    #[test]
    fn an_allowlist_admits_only_its_nodes_and_a_denial_wins() {
        let r = rules(&[1, 2], &[2]);
        assert!(admits(&r, Some(&credential(1, Assurance::Contact))));
        assert!(!admits(&r, Some(&credential(2, Assurance::Identity))));
        assert!(!admits(&r, Some(&credential(3, Assurance::Identity))));
        assert!(!admits(&r, Some(&credential(1, Assurance::Key))));
    }

    #[test]
    fn lists_round_trip_and_are_bounded() {
        let r = rules(&[3, 1], &[2]);
        let back = JoinRules::parse(&r.to_content()).unwrap();
        assert_eq!(back, r);
        let mut content = r.to_content();
        let many: BTreeSet<NodeKey> = (0..=MAX_ALLOWED_ATTESTERS)
            .map(|i| {
                let mut seed = [7u8; 32];
                seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                NodeSecret::from_seed(&seed).public()
            })
            .collect();
        content.insert("allowed_attesters".into(), node_key_list(&many));
        assert_eq!(
            JoinRules::parse(&content),
            Err(AuthError::BadContent("too_many_allowed_attesters"))
        );
        let most: BTreeSet<NodeKey> = many.into_iter().take(MAX_ALLOWED_ATTESTERS).collect();
        content.insert("allowed_attesters".into(), node_key_list(&most));
        assert_eq!(
            allowed_attesters(&content).map(|k| k.len()),
            Ok(MAX_ALLOWED_ATTESTERS)
        );
        content.insert("allowed_attesters".into(), Value::Bytes(vec![1; 32]));
        assert_eq!(
            JoinRules::parse(&content),
            Err(AuthError::BadContent("bad_allowed_attesters"))
        );
        content.insert(
            "allowed_attesters".into(),
            Value::Array(vec![Value::Bytes(vec![1; 31])]),
        );
        assert_eq!(
            JoinRules::parse(&content),
            Err(AuthError::BadContent("bad_allowed_attester"))
        );
    }
}
