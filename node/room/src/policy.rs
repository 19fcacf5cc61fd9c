//! Ban lists (specs/moderation.md §3): the typed content of `room.policy.rule` state events,
//! which the authorization rules check, the ban-list part of `room.policy_subscriptions`, and
//! the pure matcher every node runs over them.
//!
//! A ban list is an ordinary room; each of its `room.policy.rule` state events (state key = a
//! rule id chosen by the list's moderators) is one rule: a target, a recommendation, an optional
//! reason (public or withheld) and an optional expiry in room time (§0). Empty content removes
//! the rule. [`ListIndex`] indexes one list's rules by target; [`decide`] applies a room's
//! subscribed lists to one [`Subject`] with a fixed precedence, so every node that holds the
//! same rules reaches the same [`Verdict`]. Nothing here depends on hash-map order.

use std::collections::{BTreeMap, BTreeSet};

use causerie_crypto::{Content, Hash32, RoomId, Value, lower_hex};

use crate::content::read_text;
use crate::error::AuthError;

/// The kind of a ban-list rule (a state event; the state key is the rule id).
pub const POLICY_RULE: &str = "room.policy.rule";
/// Longest rule id (the rule's state key), in bytes.
pub const MAX_RULE_ID_BYTES: usize = 64;
/// Longest rule reason, in bytes.
pub const MAX_RULE_REASON_BYTES: usize = 1_024;
/// Longest handle glob, in bytes.
pub const MAX_GLOB_BYTES: usize = 64;
/// Most `*` wildcards in one handle glob.
pub const MAX_GLOB_STARS: usize = 4;
/// Largest `expires` (2^53 - 1, exact in every client language).
pub const MAX_EXPIRES: u64 = (1 << 53) - 1;
/// Most `ignore` entries a subscription may carry; a longer list is disregarded whole.
pub const MAX_SUBSCRIPTION_IGNORES: usize = 256;
/// Most rules one list index holds; rules past it (in rule id order) are not applied.
pub const MAX_RULES_PER_LIST: usize = 10_000;

/// What a rule names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A user key (32 bytes).
    User([u8; 32]),
    /// Every user attested by this home node (a 32-byte node key).
    Attester([u8; 32]),
    /// Every user whose attested handle matches the glob.
    Handle(Glob),
    /// The SHA-256 of a target's canonical spelling ([`user_spelling`], [`attester_spelling`],
    /// [`handle_spelling`]), so the list does not advertise whom it names.
    Hash([u8; 32]),
}

fn bytes32(value: &Value) -> Option<[u8; 32]> {
    value.as_bytes().and_then(|b| b.try_into().ok())
}

impl Target {
    fn parse(value: &Value) -> Result<Target, AuthError> {
        let bad = AuthError::BadContent("bad_target");
        let map = value.as_map().ok_or(bad)?;
        let mut entries = map.iter();
        let (Some((key, value)), None) = (entries.next(), entries.next()) else {
            return Err(bad);
        };
        match key.as_str() {
            "user" => bytes32(value).map(Target::User).ok_or(bad),
            "attester" => bytes32(value).map(Target::Attester).ok_or(bad),
            "hash" => bytes32(value).map(Target::Hash).ok_or(bad),
            "handle" => value
                .as_str()
                .and_then(Glob::parse)
                .map(Target::Handle)
                .ok_or(AuthError::BadContent("bad_glob")),
            _ => Err(bad),
        }
    }

    fn to_value(&self) -> Value {
        let (key, value) = match self {
            Target::User(b) => ("user", Value::Bytes(b.to_vec())),
            Target::Attester(b) => ("attester", Value::Bytes(b.to_vec())),
            Target::Hash(b) => ("hash", Value::Bytes(b.to_vec())),
            Target::Handle(glob) => ("handle", Value::Text(glob.as_str().to_owned())),
        };
        Value::Map([(key.to_owned(), value)].into_iter().collect())
    }

    /// The target's type name: `user`, `attester`, `handle` or `hash`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Target::User(_) => "user",
            Target::Attester(_) => "attester",
            Target::Handle(_) => "handle",
            Target::Hash(_) => "hash",
        }
    }
}

/// A handle pattern: `*` matches any run of characters (empty included), `?` exactly one, every
/// other character itself. 1 to [`MAX_GLOB_BYTES`] bytes of `a-z 0-9 . _ -` and the two
/// wildcards, at most [`MAX_GLOB_STARS`] stars.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Glob(String);

impl Glob {
    /// Parses a glob; `None` if it breaks the syntax or its bounds.
    pub fn parse(text: &str) -> Option<Glob> {
        let ok = !text.is_empty()
            && text.len() <= MAX_GLOB_BYTES
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_*?".contains(&b))
            && text.bytes().filter(|b| *b == b'*').count() <= MAX_GLOB_STARS;
        ok.then(|| Glob(text.to_owned()))
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` matches the whole pattern. Greedy with one backtrack point (the last
    /// star), so the work is at most pattern length × text length.
    pub fn matches(&self, text: &str) -> bool {
        let (p, t) = (self.0.as_bytes(), text.as_bytes());
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some(b'*') => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some(&c) if c == b'?' || c == t[ti] => {
                    pi += 1;
                    ti += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|c| *c == b'*')
    }
}

/// What a rule recommends for its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recommendation {
    /// Flag for a moderator's review; nothing is hidden.
    Review,
    /// Hide what they send; they may still join and read.
    Mute,
    /// Hide what they send, refuse their joins, and the room's enforcer bans them.
    Ban,
    /// An exception: no rule of any subscribed list applies to them in the room.
    Allow,
}

impl Recommendation {
    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Recommendation> {
        match text {
            "ban" => Some(Recommendation::Ban),
            "mute" => Some(Recommendation::Mute),
            "review" => Some(Recommendation::Review),
            "allow" => Some(Recommendation::Allow),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Ban => "ban",
            Recommendation::Mute => "mute",
            Recommendation::Review => "review",
            Recommendation::Allow => "allow",
        }
    }

    /// Whether the node hides the subject's events (ban and mute).
    pub fn hides(self) -> bool {
        matches!(self, Recommendation::Ban | Recommendation::Mute)
    }
}

/// One rule of a ban list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Whom it names.
    pub target: Target,
    /// What it recommends.
    pub recommendation: Recommendation,
    /// Why (at most [`MAX_RULE_REASON_BYTES`]).
    pub reason: Option<String>,
    /// The reason is for the list's moderators only: nodes never show it.
    pub reason_withheld: bool,
    /// Room time (specs/moderation.md §0) from which the rule no longer applies.
    pub expires: Option<u64>,
    /// Ban-and-purge: the enforcer's ban carries `purge: true` (only with `ban`).
    pub purge: bool,
}

impl Rule {
    /// Parses rule content; `Ok(None)` for empty content (a removed rule).
    pub fn parse(content: &Content) -> Result<Option<Rule>, AuthError> {
        if content.is_empty() {
            return Ok(None);
        }
        let target = Target::parse(
            content
                .get("target")
                .ok_or(AuthError::BadContent("bad_target"))?,
        )?;
        let recommendation = read_text(
            content,
            "recommendation",
            "bad_recommendation",
            Recommendation::parse,
        )?;
        let reason = match content.get("reason") {
            None => None,
            Some(Value::Text(text)) if text.len() <= MAX_RULE_REASON_BYTES => Some(text.clone()),
            Some(_) => return Err(AuthError::BadContent("bad_reason")),
        };
        let reason_withheld = match content.get("reason_withheld") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(AuthError::BadContent("bad_reason_withheld")),
        };
        let expires = match content.get("expires") {
            None => None,
            Some(v) => Some(
                v.as_i64()
                    .and_then(|n| u64::try_from(n).ok())
                    .filter(|n| *n <= MAX_EXPIRES)
                    .ok_or(AuthError::BadContent("bad_expires"))?,
            ),
        };
        let purge = match content.get("purge") {
            None => false,
            Some(Value::Bool(purge)) if !*purge || recommendation == Recommendation::Ban => *purge,
            Some(_) => return Err(AuthError::BadContent("bad_purge")),
        };
        Ok(Some(Rule {
            target,
            recommendation,
            reason,
            reason_withheld,
            expires,
            purge,
        }))
    }

    /// The content that [`Rule::parse`] reads back as `self`.
    pub fn to_content(&self) -> Content {
        let mut content = Content::new();
        content.insert("target".into(), self.target.to_value());
        content.insert("recommendation".into(), self.recommendation.as_str().into());
        if let Some(reason) = &self.reason {
            content.insert("reason".into(), Value::Text(reason.clone()));
        }
        if self.reason_withheld {
            content.insert("reason_withheld".into(), Value::Bool(true));
        }
        if let Some(expires) = self.expires {
            // At most MAX_EXPIRES, so it fits.
            content.insert("expires".into(), Value::Integer(expires as i64));
        }
        if self.purge {
            content.insert("purge".into(), Value::Bool(true));
        }
        content
    }

    /// Whether the rule applies at room time `at` (an event's `origin_ts`, or a node's clock
    /// for what the node does now).
    pub fn in_force_at(&self, at: u64) -> bool {
        self.expires.is_none_or(|expires| at < expires)
    }

    /// The reason a node may show: none when withheld.
    pub fn public_reason(&self) -> Option<&str> {
        if self.reason_withheld {
            None
        } else {
            self.reason.as_deref()
        }
    }
}

/// Whether `id` is a valid rule id: 1 to [`MAX_RULE_ID_BYTES`] bytes of `A-Z a-z 0-9 . _ : -`.
pub fn valid_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RULE_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// The authorization rule for `room.policy.rule` events (specs/moderation.md §3.1): a rule id
/// as state key [`AuthError::BadStateKey`], and rule content or empty content
/// [`AuthError::BadContent`]. A redacted rule (its content is gone) is a removed rule: its
/// content is not checked, so holding either form gives the same verdict.
pub fn check_rule(
    state_key: Option<&str>,
    content: &Content,
    redacted: bool,
) -> Result<(), AuthError> {
    if !state_key.is_some_and(valid_rule_id) {
        return Err(AuthError::BadStateKey);
    }
    if redacted {
        return Ok(());
    }
    Rule::parse(content).map(|_| ())
}

/// The spelling of a user target that [`Target::Hash`] hashes: `user:` and 64 lowercase hex.
pub fn user_spelling(user: &[u8; 32]) -> String {
    format!("user:{}", lower_hex::encode32(user))
}

/// The spelling of an attester target: `attester:` and the node key's 64 lowercase hex.
pub fn attester_spelling(node: &[u8; 32]) -> String {
    format!("attester:{}", lower_hex::encode32(node))
}

/// The spelling of a handle target: `handle:` and the handle exactly as attested.
pub fn handle_spelling(handle: &str) -> String {
    format!("handle:{handle}")
}

/// SHA-256 of a spelling's UTF-8 bytes: the value of a hash target.
pub fn target_hash(spelling: &str) -> [u8; 32] {
    Hash32::digest(&[spelling.as_bytes()]).0
}

/// Whom a verdict is about: a user, with their home node and handle when the node holds their
/// attestation. The hashes of their spellings are computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The user key.
    pub user: [u8; 32],
    /// The home node that attested them.
    pub attester: Option<[u8; 32]>,
    /// Their attested handle.
    pub handle: Option<String>,
    hashes: Vec<[u8; 32]>,
}

impl Subject {
    /// A subject and the hashes of its spellings.
    pub fn new(user: [u8; 32], attester: Option<[u8; 32]>, handle: Option<String>) -> Subject {
        let mut hashes = vec![target_hash(&user_spelling(&user))];
        hashes.extend(attester.map(|a| target_hash(&attester_spelling(&a))));
        hashes.extend(handle.as_deref().map(|h| target_hash(&handle_spelling(h))));
        Subject {
            user,
            attester,
            handle,
            hashes,
        }
    }
}

/// The ban-list part of a room's `room.policy_subscriptions` state event (state key `""`).
/// `rooms` is a room rule (specs/rooms.md §1); `enforcer` and `ignore` are read leniently: a
/// malformed one counts as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// The list rooms, in the room's order of precedence (duplicates dropped).
    pub lists: Vec<RoomId>,
    /// The user key that issues the room's list bans (it needs ban power in the room).
    pub enforcer: Option<[u8; 32]>,
    /// Rules this room overrides: (list room, rule id).
    pub ignore: BTreeSet<(RoomId, String)>,
}

impl Subscription {
    /// Reads subscription content.
    pub fn parse(content: &Content) -> Subscription {
        let mut lists: Vec<RoomId> = Vec::new();
        for room in content
            .get("rooms")
            .and_then(Value::as_array)
            .unwrap_or_default()
        {
            if let Some(id) = bytes32(room).map(|b| RoomId(Hash32(b)))
                && !lists.contains(&id)
            {
                lists.push(id);
            }
        }
        let enforcer = content.get("enforcer").and_then(bytes32);
        let ignore = content
            .get("ignore")
            .and_then(Value::as_array)
            .filter(|entries| entries.len() <= MAX_SUBSCRIPTION_IGNORES)
            .and_then(|entries| {
                entries
                    .iter()
                    .map(|entry| match entry.as_array() {
                        Some([list, rule]) => {
                            let list = bytes32(list)?;
                            let rule = rule.as_str().filter(|r| valid_rule_id(r))?;
                            Some((RoomId(Hash32(list)), rule.to_owned()))
                        }
                        _ => None,
                    })
                    .collect::<Option<BTreeSet<_>>>()
            })
            .unwrap_or_default();
        Subscription {
            lists,
            enforcer,
            ignore,
        }
    }

    /// The content that [`Subscription::parse`] reads back as `self`.
    pub fn to_content(&self) -> Content {
        let mut content = Content::new();
        let rooms = self
            .lists
            .iter()
            .map(|r| Value::Bytes(r.as_bytes().to_vec()))
            .collect();
        content.insert("rooms".into(), Value::Array(rooms));
        if let Some(enforcer) = self.enforcer {
            content.insert("enforcer".into(), Value::Bytes(enforcer.to_vec()));
        }
        if !self.ignore.is_empty() {
            let ignore = self
                .ignore
                .iter()
                .map(|(list, rule)| {
                    Value::Array(vec![
                        Value::Bytes(list.as_bytes().to_vec()),
                        Value::Text(rule.clone()),
                    ])
                })
                .collect();
            content.insert("ignore".into(), Value::Array(ignore));
        }
        content
    }
}

/// One list's rules, indexed by target: user, attester and hash targets by their 32 bytes,
/// handle globs in a list tried one by one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListIndex {
    rules: BTreeMap<String, Rule>,
    users: BTreeMap<[u8; 32], BTreeSet<String>>,
    attesters: BTreeMap<[u8; 32], BTreeSet<String>>,
    hashes: BTreeMap<[u8; 32], BTreeSet<String>>,
    handles: BTreeSet<String>,
}

impl ListIndex {
    /// An empty index.
    pub fn new() -> ListIndex {
        ListIndex::default()
    }

    fn slot(&mut self, target: &Target) -> Option<&mut BTreeMap<[u8; 32], BTreeSet<String>>> {
        match target {
            Target::User(_) => Some(&mut self.users),
            Target::Attester(_) => Some(&mut self.attesters),
            Target::Hash(_) => Some(&mut self.hashes),
            Target::Handle(_) => None,
        }
    }

    /// Sets or removes (`None`) rule `id`; returns the rule it replaced. A new rule past
    /// [`MAX_RULES_PER_LIST`] is not taken (returns `None`, changes nothing).
    pub fn set(&mut self, id: &str, rule: Option<Rule>) -> Option<Rule> {
        let old = self.rules.remove(id);
        if let Some(old) = &old {
            let bytes = match &old.target {
                Target::User(b) | Target::Attester(b) | Target::Hash(b) => Some(*b),
                Target::Handle(_) => None,
            };
            match (self.slot(&old.target), bytes) {
                (Some(slot), Some(bytes)) => {
                    if let Some(ids) = slot.get_mut(&bytes) {
                        ids.remove(id);
                        if ids.is_empty() {
                            slot.remove(&bytes);
                        }
                    }
                }
                _ => {
                    self.handles.remove(id);
                }
            }
        }
        if let Some(rule) = rule {
            if self.rules.len() >= MAX_RULES_PER_LIST {
                return old;
            }
            match &rule.target {
                Target::User(b) | Target::Attester(b) | Target::Hash(b) => {
                    let bytes = *b;
                    if let Some(slot) = self.slot(&rule.target) {
                        slot.entry(bytes).or_default().insert(id.to_owned());
                    }
                }
                Target::Handle(_) => {
                    self.handles.insert(id.to_owned());
                }
            }
            self.rules.insert(id.to_owned(), rule);
        }
        old
    }

    /// The rules, by id.
    pub fn rules(&self) -> &BTreeMap<String, Rule> {
        &self.rules
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the list holds no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules naming `subject` and in force at `at`, in rule id order.
    pub fn matching<'a>(&'a self, subject: &Subject, at: u64) -> Vec<(&'a str, &'a Rule)> {
        let mut ids: BTreeSet<&str> = BTreeSet::new();
        let mut add = |set: Option<&'a BTreeSet<String>>| {
            ids.extend(set.into_iter().flatten().map(String::as_str));
        };
        add(self.users.get(&subject.user));
        if let Some(attester) = &subject.attester {
            add(self.attesters.get(attester));
        }
        for hash in &subject.hashes {
            add(self.hashes.get(hash));
        }
        if let Some(handle) = &subject.handle {
            for id in &self.handles {
                if let Some(Rule {
                    target: Target::Handle(glob),
                    ..
                }) = self.rules.get(id)
                    && glob.matches(handle)
                {
                    ids.insert(id);
                }
            }
        }
        ids.into_iter()
            .filter_map(|id| self.rules.get_key_value(id))
            .filter(|(_, rule)| rule.in_force_at(at))
            .map(|(id, rule)| (id.as_str(), rule))
            .collect()
    }

    /// The user keys that user-target rules name (for enforcing ahead of a join).
    pub fn named_users(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.users.keys()
    }
}

/// What the subscribed lists decide for one subject in one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The winning recommendation.
    pub recommendation: Recommendation,
    /// The list that holds the deciding rule.
    pub list: RoomId,
    /// The deciding rule's id.
    pub rule: String,
    /// Its reason, unless withheld.
    pub reason: Option<String>,
    /// The deciding rule asks for ban-and-purge.
    pub purge: bool,
}

/// Applies `lists` (in the room's order of precedence) to `subject` at room time `at`, leaving
/// out the rules in `ignore`. Precedence (specs/moderation.md §3.3): any `allow` wins; else the
/// strongest of ban-and-purge > ban > mute > review; ties go to the earlier list, then the
/// smaller rule id (bytewise). `None` when no rule applies.
pub fn decide<'a>(
    lists: impl IntoIterator<Item = (RoomId, &'a ListIndex)>,
    ignore: &BTreeSet<(RoomId, String)>,
    subject: &Subject,
    at: u64,
) -> Option<Verdict> {
    // (rank, list position, rule id): the smallest wins. Allow ranks first.
    let mut best: Option<((u8, usize, &'a str), RoomId, &'a Rule)> = None;
    for (position, (list, index)) in lists.into_iter().enumerate() {
        for (id, rule) in index.matching(subject, at) {
            if !ignore.is_empty() && ignore.contains(&(list, id.to_owned())) {
                continue;
            }
            let rank = match rule.recommendation {
                Recommendation::Allow => 0,
                Recommendation::Ban if rule.purge => 1,
                Recommendation::Ban => 2,
                Recommendation::Mute => 3,
                Recommendation::Review => 4,
            };
            let key = (rank, position, id);
            if best.as_ref().is_none_or(|(k, ..)| key < *k) {
                best = Some((key, list, rule));
            }
        }
    }
    best.map(|((_, _, id), list, rule)| Verdict {
        recommendation: rule.recommendation,
        list,
        rule: id.to_owned(),
        reason: rule.public_reason().map(str::to_owned),
        purge: rule.purge,
    })
}

/// How one rule changed between two points of a list's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleChange {
    /// The rule id.
    pub rule: String,
    /// Before (`None`: added).
    pub before: Option<Rule>,
    /// After (`None`: removed).
    pub after: Option<Rule>,
}

impl RuleChange {
    /// `added`, `removed` or `changed`.
    pub fn change(&self) -> &'static str {
        match (&self.before, &self.after) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "changed",
        }
    }
}

/// The rules that differ between `before` and `after`, in rule id order.
pub fn diff(before: &BTreeMap<String, Rule>, after: &BTreeMap<String, Rule>) -> Vec<RuleChange> {
    let ids: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    ids.into_iter()
        .filter_map(|id| {
            let (b, a) = (before.get(id), after.get(id));
            (b != a).then(|| RuleChange {
                rule: id.clone(),
                before: b.cloned(),
                after: a.cloned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
