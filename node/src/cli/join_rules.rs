//! The join-rule options of `causerie rules set` and their lines in `causerie rules show`:
//! the join rule, the minimum assurance, and the attester allowlist and denylist
//! (specs/accountability.md §8). The node prepares the `join_rule` action's event from the
//! whole new rules; options not given keep the room's current values.

use causerie_crypto::NodeKey;
use clap::Args;
use serde_json::{Map, Value, json};

use super::rules::{edited_list, string_list};

/// Most node keys one option list takes (the room rule's bound for each list).
const MAX_ATTESTER_OPTIONS: usize = causerie_room::trust::MAX_ALLOWED_ATTESTERS;

/// Join-rule options of `causerie rules set`.
#[derive(Debug, Args, Default)]
pub(crate) struct JoinArgs {
    /// The join rule.
    #[arg(long, value_parser = ["public", "invite", "knock", "attested"])]
    join_rule: Option<String>,
    /// Least assurance level (0 to 3) of an attestation that admits an uninvited join.
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=3))]
    min_assurance: Option<u64>,
    /// Accept attestations only from this home node (repeatable; node key in hex).
    #[arg(long = "allow-attester", value_name = "NODE_KEY", value_parser = node_key)]
    allow: Vec<String>,
    /// Remove a home node from the allowlist (repeatable).
    #[arg(long = "unallow-attester", value_name = "NODE_KEY", value_parser = node_key)]
    unallow: Vec<String>,
    /// Never accept attestations from this home node (repeatable).
    #[arg(long = "deny-attester", value_name = "NODE_KEY", value_parser = node_key)]
    deny: Vec<String>,
    /// Remove a home node from the denylist (repeatable).
    #[arg(long = "undeny-attester", value_name = "NODE_KEY", value_parser = node_key)]
    undeny: Vec<String>,
}

fn node_key(text: &str) -> Result<String, String> {
    NodeKey::from_hex(text)
        .map(|key| hex::encode(key.as_bytes()))
        .map_err(|_| "a node key: 64 hex digits".to_owned())
}

impl JoinArgs {
    /// Whether any join-rule option was given.
    pub(crate) fn given(&self) -> bool {
        self.join_rule.is_some()
            || self.min_assurance.is_some()
            || !(self.allow.is_empty()
                && self.unallow.is_empty()
                && self.deny.is_empty()
                && self.undeny.is_empty())
    }

    /// The `join_rule` action for the room's current rules (`RoomInfo.join_rules`) with these
    /// options applied; `Err` names a list that would grow past its bound.
    pub(crate) fn action(&self, current: &Map<String, Value>) -> Result<Value, String> {
        let join_rule = self.join_rule.clone().unwrap_or_else(|| {
            current
                .get("join_rule")
                .and_then(Value::as_str)
                .unwrap_or("invite")
                .to_owned()
        });
        let min_assurance = self.min_assurance.unwrap_or_else(|| {
            current
                .get("min_assurance")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        });
        let allowed = edit(current, "allowed_attesters", &self.allow, &self.unallow)?;
        let denied = edit(current, "denied_attesters", &self.deny, &self.undeny)?;
        Ok(json!({
            "action": "join_rule",
            "join_rule": join_rule,
            "min_assurance": min_assurance,
            "allowed_attesters": allowed,
            "denied_attesters": denied,
        }))
    }
}

/// The list under `key` with `add` appended (once each) and `remove` taken out.
fn edit(
    current: &Map<String, Value>,
    key: &str,
    add: &[String],
    remove: &[String],
) -> Result<Vec<String>, String> {
    let list = edited_list(current, key, add, remove);
    if list.len() > MAX_ATTESTER_OPTIONS {
        return Err(format!("{key}: at most {MAX_ATTESTER_OPTIONS} node keys"));
    }
    Ok(list)
}

/// The join rules in plain words, one per line.
pub(crate) fn describe(rules: &Map<String, Value>) -> String {
    let rule = rules
        .get("join_rule")
        .and_then(Value::as_str)
        .unwrap_or("invite");
    let mut lines = vec![format!("join rule: {rule}")];
    if rule == "attested" {
        let min = rules
            .get("min_assurance")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        lines.push(format!(
            "uninvited joins need an attestation of assurance {min} or more"
        ));
    }
    let keys = |key: &str| string_list(rules, key);
    let allowed = keys("allowed_attesters");
    if !allowed.is_empty() {
        lines.push(format!(
            "attestations accepted only from: {}",
            allowed.join(", ")
        ));
    }
    let denied = keys("denied_attesters");
    if !denied.is_empty() {
        lines.push(format!(
            "attestations never accepted from: {}",
            denied.join(", ")
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
    const TWO: &str = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";

    #[test]
    fn options_edit_the_current_rules() {
        let current = json!({
            "join_rule": "attested",
            "min_assurance": 2,
            "allowed_attesters": [ONE],
            "denied_attesters": [],
        });
        let current = current.as_object().unwrap();
        let args = JoinArgs {
            allow: vec![TWO.to_owned(), ONE.to_owned()],
            deny: vec![ONE.to_owned()],
            ..JoinArgs::default()
        };
        assert!(args.given());
        assert!(!JoinArgs::default().given());
        let action = args.action(current).unwrap();
        assert_eq!(action["join_rule"], "attested");
        assert_eq!(action["min_assurance"], 2);
        assert_eq!(action["allowed_attesters"], json!([ONE, TWO]));
        assert_eq!(action["denied_attesters"], json!([ONE]));
        let text = describe(current);
        assert!(text.contains("accepted only from"), "{text}");
        assert!(node_key("zz").is_err());
        assert_eq!(node_key(&ONE.to_uppercase()).as_deref(), Ok(ONE));
    }
}
