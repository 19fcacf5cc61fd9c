//! Content rules (specs/moderation.md §2): the room's `room.content_rules` state event, parsed
//! once into [`ContentRules`] with its word and pattern matchers compiled, and the checks a
//! `room.message` must pass against it ([`check_message`]). These are room rules: every check
//! reads only the message, its sender's power and member event, and the rules event, so every
//! node reaches the same verdict.
//!
//! Text is normalised with `decancer` (confusables, homoglyphs, accents and case: the *cure*)
//! and blocked words are found with its similarity and leetspeak matcher; patterns are `regex`
//! expressions matched against the cure. Both crates are pinned to exact versions in the
//! workspace manifest: a different version could cure or match differently and split verdicts
//! between nodes.
//!
//! Layout: limits, the typed rules and their parser, the compiled matcher, the message checks,
//! the join-wave count (a rule over the state before a join; the engine calls it).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Value};
use regex::{Regex, RegexBuilder};

use crate::content::{JoinRule, Membership, PowerLevels, parse_user_hex, read_text};
use crate::error::{AuthError, RuleBreak};
use crate::event::StateEvent;

/// Most blocked words one rules event may list.
pub const MAX_BLOCKED_WORDS: usize = 64;
/// Longest blocked word, in bytes.
pub const MAX_BLOCKED_WORD_BYTES: usize = 64;
/// Most blocked patterns one rules event may list.
pub const MAX_BLOCKED_PATTERNS: usize = 16;
/// Longest blocked pattern (its source text), in bytes.
pub const MAX_PATTERN_BYTES: usize = 256;
/// Largest compiled program of one pattern (the regex crate's `size_limit`), in bytes: a
/// pattern over it is `bad_content`.
pub const MAX_PATTERN_COMPILED_BYTES: usize = 256 * 1024;
/// Lazy-DFA cache of one pattern (the regex crate's `dfa_size_limit`), in bytes: bounds
/// memory, never changes a match.
pub const MAX_PATTERN_DFA_BYTES: usize = 1024 * 1024;
/// Deepest nesting of groups and repetitions in a pattern (the regex crate's `nest_limit`).
pub const MAX_PATTERN_NEST: u32 = 32;
/// Most domains a link allowlist may name.
pub const MAX_ALLOWED_DOMAINS: usize = 64;
/// Longest allowed domain, in bytes (a DNS name).
pub const MAX_DOMAIN_BYTES: usize = 253;
/// Largest `max_message_bytes` (a whole event is at most this).
pub const MAX_RULE_MESSAGE_BYTES: u64 = causerie_crypto::event::MAX_EVENT_BYTES as u64;
/// Largest `max_mentions`.
pub const MAX_RULE_MENTIONS: u64 = 1_000;
/// Longest `new_member_link_delay_ms` (30 days).
pub const MAX_LINK_DELAY_MS: u64 = 30 * 24 * 60 * 60 * 1_000;
/// Longest `slow_mode_ms` (one day).
pub const MAX_SLOW_MODE_MS: u64 = 24 * 60 * 60 * 1_000;
/// Largest `join_wave.max_joins`.
pub const MAX_JOIN_WAVE_JOINS: u64 = 10_000;
/// Longest `join_wave.window_ms` (one day).
pub const MAX_JOIN_WAVE_WINDOW_MS: u64 = 24 * 60 * 60 * 1_000;

/// The link policy (`links`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Links {
    /// Links are allowed (the default).
    #[default]
    Allow,
    /// No links.
    Deny,
    /// Only links to these domains or their subdomains (lowercase DNS names).
    Domains(Vec<String>),
}

/// What the node's classifier hook does for this room (`classifier`); a node rule, read by the
/// classifier, not by the room checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassifierMode {
    /// No classifier (the default).
    #[default]
    Off,
    /// Classify; if the classifier fails or times out, accept.
    FailOpen,
    /// Classify; if the classifier fails or times out, hold for review.
    FailClosed,
}

impl ClassifierMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClassifierMode::Off => "off",
            ClassifierMode::FailOpen => "fail_open",
            ClassifierMode::FailClosed => "fail_closed",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "off" => Some(ClassifierMode::Off),
            "fail_open" => Some(ClassifierMode::FailOpen),
            "fail_closed" => Some(ClassifierMode::FailClosed),
            _ => None,
        }
    }
}

/// The join-wave breaker (`join_wave`): a join admitted only by an open join rule is rejected
/// when the state before it holds `max_joins` joins from the preceding `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWave {
    /// Joins tolerated in one window.
    pub max_joins: u64,
    /// The window, in ms of origin_ts.
    pub window_ms: u64,
}

/// What a lockdown changed, so that lifting it restores it (`lockdown`). Read by clients only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockdown {
    /// The join rule before the lockdown.
    pub join_rule: JoinRule,
    /// The slow mode before the lockdown (0: none).
    pub slow_mode_ms: u64,
}

/// A room's content rules (`room.content_rules`, state key ""). Every field is optional on the
/// wire; absent fields impose nothing.
#[derive(Debug, Clone, Default)]
pub struct ContentRules {
    /// Longest message body, in UTF-8 bytes.
    pub max_message_bytes: Option<u64>,
    /// Words refused anywhere in a message, whole words, obfuscation-aware.
    pub blocked_words: Vec<String>,
    /// Regular expressions refused in a message's cure.
    pub blocked_patterns: Vec<String>,
    /// Link policy.
    pub links: Links,
    /// Most mentions (`@name`) in one message.
    pub max_mentions: Option<u64>,
    /// No links in a sender's messages for this long after their member event (ms of origin_ts).
    pub new_member_link_delay_ms: u64,
    /// Least time between two messages of one sender (ms of origin_ts); 0 is off.
    pub slow_mode_ms: u64,
    /// Power at or above which the rules do not apply (default: the kick level).
    pub exempt_level: Option<i64>,
    /// The node-local classifier's mode for this room.
    pub classifier: ClassifierMode,
    /// The join-wave breaker.
    pub join_wave: Option<JoinWave>,
    /// What a lockdown changed.
    pub lockdown: Option<Lockdown>,
    compiled: Compiled,
}

impl PartialEq for ContentRules {
    fn eq(&self, other: &Self) -> bool {
        self.to_content() == other.to_content()
    }
}

impl Eq for ContentRules {}

/// The compiled matchers: the cure of each blocked word and each pattern's program.
#[derive(Debug, Clone, Default)]
struct Compiled {
    words: Vec<String>,
    patterns: Vec<Arc<Regex>>,
}

fn bad(problem: &'static str) -> AuthError {
    AuthError::BadContent(problem)
}

fn uint(value: &Value, max: u64, problem: &'static str) -> Result<u64, AuthError> {
    value
        .as_i64()
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n <= max)
        .ok_or(bad(problem))
}

fn texts(
    value: &Value,
    max_items: usize,
    max_bytes: usize,
    problem: &'static str,
) -> Result<Vec<String>, AuthError> {
    let list = value.as_array().ok_or(bad(problem))?;
    if list.len() > max_items {
        return Err(bad(problem));
    }
    list.iter()
        .map(|v| match v.as_str() {
            Some(t) if !t.is_empty() && t.len() <= max_bytes => Ok(t.to_owned()),
            _ => Err(bad(problem)),
        })
        .collect()
}

fn is_domain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_DOMAIN_BYTES
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Compiles one blocked pattern with the pinned limits.
pub fn compile_pattern(pattern: &str) -> Result<Regex, AuthError> {
    RegexBuilder::new(pattern)
        .size_limit(MAX_PATTERN_COMPILED_BYTES)
        .dfa_size_limit(MAX_PATTERN_DFA_BYTES)
        .nest_limit(MAX_PATTERN_NEST)
        .build()
        .map_err(|_| bad("bad_pattern"))
}

impl ContentRules {
    /// Parses and validates `room.content_rules` content, compiling its matchers. Unknown keys
    /// are ignored; a known key with a bad value is `bad_content`.
    pub fn parse(content: &Content) -> Result<Self, AuthError> {
        let mut rules = ContentRules::default();
        for (key, value) in content {
            match key.as_str() {
                "max_message_bytes" => {
                    rules.max_message_bytes = Some(uint(
                        value,
                        MAX_RULE_MESSAGE_BYTES,
                        "bad_max_message_bytes",
                    )?);
                }
                "blocked_words" => {
                    rules.blocked_words = texts(
                        value,
                        MAX_BLOCKED_WORDS,
                        MAX_BLOCKED_WORD_BYTES,
                        "bad_blocked_words",
                    )?;
                }
                "blocked_patterns" => {
                    rules.blocked_patterns = texts(
                        value,
                        MAX_BLOCKED_PATTERNS,
                        MAX_PATTERN_BYTES,
                        "bad_blocked_patterns",
                    )?;
                }
                "links" => rules.links = parse_links(value)?,
                "max_mentions" => {
                    rules.max_mentions = Some(uint(value, MAX_RULE_MENTIONS, "bad_max_mentions")?);
                }
                "new_member_link_delay_ms" => {
                    rules.new_member_link_delay_ms =
                        uint(value, MAX_LINK_DELAY_MS, "bad_new_member_link_delay_ms")?;
                }
                "slow_mode_ms" => {
                    rules.slow_mode_ms = uint(value, MAX_SLOW_MODE_MS, "bad_slow_mode_ms")?;
                }
                "exempt_level" => {
                    let level = value
                        .as_i64()
                        .filter(|n| n.abs() <= crate::content::MAX_POWER)
                        .ok_or(bad("bad_exempt_level"))?;
                    rules.exempt_level = Some(level);
                }
                "classifier" => {
                    rules.classifier = value
                        .as_str()
                        .and_then(ClassifierMode::parse)
                        .ok_or(bad("bad_classifier"))?;
                }
                "join_wave" => {
                    let map = value.as_map().ok_or(bad("bad_join_wave"))?;
                    let field = |name: &str, max: u64| {
                        map.get(name)
                            .ok_or(bad("bad_join_wave"))
                            .and_then(|v| uint(v, max, "bad_join_wave"))
                            .and_then(|n| {
                                if n == 0 {
                                    Err(bad("bad_join_wave"))
                                } else {
                                    Ok(n)
                                }
                            })
                    };
                    rules.join_wave = Some(JoinWave {
                        max_joins: field("max_joins", MAX_JOIN_WAVE_JOINS)?,
                        window_ms: field("window_ms", MAX_JOIN_WAVE_WINDOW_MS)?,
                    });
                }
                "lockdown" => {
                    let map = value.as_map().ok_or(bad("bad_lockdown"))?;
                    let join_rule =
                        read_text(map, "join_rule", "bad_lockdown", JoinRule::from_name)?;
                    let slow_mode_ms = match map.get("slow_mode_ms") {
                        None => 0,
                        Some(v) => uint(v, MAX_SLOW_MODE_MS, "bad_lockdown")?,
                    };
                    rules.lockdown = Some(Lockdown {
                        join_rule,
                        slow_mode_ms,
                    });
                }
                _ => {}
            }
        }
        rules.compiled = Compiled {
            words: rules
                .blocked_words
                .iter()
                .map(|w| cure_word(w))
                .filter(|w| !w.is_empty())
                .collect(),
            patterns: rules
                .blocked_patterns
                .iter()
                .map(|p| compile_pattern(p).map(Arc::new))
                .collect::<Result<_, _>>()?,
        };
        Ok(rules)
    }

    /// The content that [`Self::parse`] reads back as `self` (fields at their defaults are left
    /// out).
    pub fn to_content(&self) -> Content {
        let mut content = Content::new();
        let int = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        let list =
            |items: &[String]| Value::Array(items.iter().map(|t| t.as_str().into()).collect());
        if let Some(n) = self.max_message_bytes {
            content.insert("max_message_bytes".into(), int(n));
        }
        if !self.blocked_words.is_empty() {
            content.insert("blocked_words".into(), list(&self.blocked_words));
        }
        if !self.blocked_patterns.is_empty() {
            content.insert("blocked_patterns".into(), list(&self.blocked_patterns));
        }
        match &self.links {
            Links::Allow => {}
            Links::Deny => {
                content.insert("links".into(), "deny".into());
            }
            Links::Domains(domains) => {
                let mut map = std::collections::BTreeMap::new();
                map.insert("allow_domains".to_owned(), list(domains));
                content.insert("links".into(), Value::Map(map));
            }
        }
        if let Some(n) = self.max_mentions {
            content.insert("max_mentions".into(), int(n));
        }
        if self.new_member_link_delay_ms > 0 {
            content.insert(
                "new_member_link_delay_ms".into(),
                int(self.new_member_link_delay_ms),
            );
        }
        if self.slow_mode_ms > 0 {
            content.insert("slow_mode_ms".into(), int(self.slow_mode_ms));
        }
        if let Some(level) = self.exempt_level {
            content.insert("exempt_level".into(), Value::Integer(level));
        }
        if self.classifier != ClassifierMode::Off {
            content.insert("classifier".into(), self.classifier.as_str().into());
        }
        if let Some(wave) = self.join_wave {
            let mut map = std::collections::BTreeMap::new();
            map.insert("max_joins".to_owned(), int(wave.max_joins));
            map.insert("window_ms".to_owned(), int(wave.window_ms));
            content.insert("join_wave".into(), Value::Map(map));
        }
        if let Some(lockdown) = self.lockdown {
            let mut map = std::collections::BTreeMap::new();
            map.insert("join_rule".to_owned(), lockdown.join_rule.name().into());
            map.insert("slow_mode_ms".to_owned(), int(lockdown.slow_mode_ms));
            content.insert("lockdown".into(), Value::Map(map));
        }
        content
    }

    /// The power at or above which these rules do not apply, under `levels`.
    pub fn exempt_from(&self, levels: &PowerLevels) -> i64 {
        self.exempt_level.unwrap_or(levels.kick)
    }

    /// Whether the rules restrict message content at all (anything but slow mode, the classifier
    /// and the join wave).
    pub fn restricts_content(&self) -> bool {
        self.max_message_bytes.is_some()
            || !self.compiled.words.is_empty()
            || !self.compiled.patterns.is_empty()
            || self.links != Links::Allow
            || self.max_mentions.is_some()
            || self.new_member_link_delay_ms > 0
    }

    /// Checks a message body against the content rules (not slow mode): the first rule it
    /// breaks. `joined_at_ms` is the origin_ts of the sender's member event, `sent_at_ms` the
    /// message's.
    pub fn check_body(
        &self,
        body: &str,
        sent_at_ms: u64,
        joined_at_ms: u64,
    ) -> Result<(), RuleBreak> {
        if self
            .max_message_bytes
            .is_some_and(|max| body.len() as u64 > max)
        {
            return Err(RuleBreak::MessageTooLong);
        }
        let needs_cure = !self.compiled.words.is_empty()
            || !self.compiled.patterns.is_empty()
            || self.links != Links::Allow
            || self.new_member_link_delay_ms > 0;
        if !needs_cure {
            return self.check_mentions(body);
        }
        let Some(cured) = cure(body) else {
            // Unreachable: curing without reordering cannot fail.
            return Err(RuleBreak::BlockedPattern);
        };
        for word in &self.compiled.words {
            if find_whole_word(&cured, word) {
                return Err(RuleBreak::BlockedWord);
            }
        }
        if self.compiled.patterns.iter().any(|p| p.is_match(&cured)) {
            return Err(RuleBreak::BlockedPattern);
        }
        self.check_mentions(body)?;
        if self.links == Links::Allow && self.new_member_link_delay_ms == 0 {
            return Ok(());
        }
        let lowered = body.to_lowercase();
        let hosts: Vec<&str> = link_hosts(&lowered).chain(link_hosts(&cured)).collect();
        if hosts.is_empty() {
            return Ok(());
        }
        if sent_at_ms < joined_at_ms.saturating_add(self.new_member_link_delay_ms) {
            return Err(RuleBreak::NewMemberLinks);
        }
        match &self.links {
            Links::Allow => Ok(()),
            Links::Deny => Err(RuleBreak::LinkNotAllowed),
            Links::Domains(domains) => {
                if hosts.iter().all(|host| domain_allowed(host, domains)) {
                    Ok(())
                } else {
                    Err(RuleBreak::LinkNotAllowed)
                }
            }
        }
    }

    fn check_mentions(&self, body: &str) -> Result<(), RuleBreak> {
        match self.max_mentions {
            Some(max) if mention_count(body, max) > max => Err(RuleBreak::TooManyMentions),
            _ => Ok(()),
        }
    }
}

fn parse_links(value: &Value) -> Result<Links, AuthError> {
    match value {
        Value::Text(t) if t == "allow" => Ok(Links::Allow),
        Value::Text(t) if t == "deny" => Ok(Links::Deny),
        Value::Map(map) if map.len() == 1 => {
            let domains = texts(
                map.get("allow_domains").ok_or(bad("bad_links"))?,
                MAX_ALLOWED_DOMAINS,
                MAX_DOMAIN_BYTES,
                "bad_links",
            )?;
            if !domains.iter().all(|d| is_domain(d)) {
                return Err(bad("bad_links"));
            }
            Ok(Links::Domains(domains))
        }
        _ => Err(bad("bad_links")),
    }
}

/// The cure of `text`: decancer's default options (lowercase, confusables, homoglyphs and
/// accents replaced, bidirectional reordering); text the bidirectional algorithm cannot order
/// is cured without reordering (decancer's only error is that one).
pub fn cure(text: &str) -> Option<decancer::CuredString> {
    decancer::cure(text, decancer::Options::default())
        .or_else(|_| decancer::cure(text, decancer::Options::default().disable_bidi()))
        .ok()
}

/// The cure of a blocked word, the form it is matched in.
fn cure_word(word: &str) -> String {
    cure(word).map_or_else(|| word.to_lowercase(), String::from)
}

/// Whether decancer's matcher (similar characters, leetspeak, separators; case-insensitive)
/// finds `word` in `cured` as a whole word: the characters just before and after the match
/// are not alphanumeric (so "scampi" does not match "scam").
pub fn find_whole_word(cured: &decancer::CuredString, word: &str) -> bool {
    let text: &str = cured;
    let boundary_before = |at: usize| {
        text.get(..at)
            .and_then(|s| s.chars().next_back())
            .is_none_or(|c| !c.is_alphanumeric())
    };
    let boundary_after = |at: usize| {
        text.get(at..)
            .and_then(|s| s.chars().next())
            .is_none_or(|c| !c.is_alphanumeric())
    };
    cured
        .find(word)
        .take(MAX_MATCHES_PER_WORD)
        .any(|Range { start, end }| boundary_before(start) && boundary_after(end))
}

/// Most matches of one word examined for word boundaries (each costs a scan; a message full of
/// near-misses cannot make the check quadratic).
pub const MAX_MATCHES_PER_WORD: usize = 256;

fn link_regex() -> &'static Regex {
    static LINK: OnceLock<Regex> = OnceLock::new();
    LINK.get_or_init(|| {
        // A scheme is optional: spam writes bare domains. A host is dot-separated labels of
        // letters, digits and inner hyphens ending in a label of 2 to 63 letters.
        #[allow(clippy::expect_used)]
        Regex::new(
            r"(?:[a-z][a-z0-9+.\-]*://)?((?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63})\b",
        )
        .expect("the link pattern is valid")
    })
}

/// The hosts of the links in `text` (lowercase text), in order.
pub fn link_hosts(text: &str) -> impl Iterator<Item = &str> {
    link_regex()
        .captures_iter(text)
        .take(MAX_LINKS_EXAMINED)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str())
}

/// Most links examined in one message (a message with more is judged on these).
pub const MAX_LINKS_EXAMINED: usize = 1_024;

fn domain_allowed(host: &str, domains: &[String]) -> bool {
    domains.iter().any(|d| {
        host == d
            || host
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

fn mention_regex() -> &'static Regex {
    static MENTION: OnceLock<Regex> = OnceLock::new();
    MENTION.get_or_init(|| {
        #[allow(clippy::expect_used)]
        Regex::new(r"(?:^|[^\p{L}\p{N}_])@[\p{L}\p{N}_.\-]+").expect("the mention pattern is valid")
    })
}

/// Mentions in `body`, counted up to `stop + 1`: an `@` at the start or after a character that
/// is not a letter, digit or `_`, followed by letters, digits, `_`, `.` or `-`.
pub fn mention_count(body: &str, stop: u64) -> u64 {
    let limit = usize::try_from(stop.saturating_add(1)).unwrap_or(usize::MAX);
    mention_regex().find_iter(body).take(limit).count() as u64
}

/// The content rules a message's sender is held to under `state`, or `None` when there are none
/// or the sender is exempt.
pub fn rules_for<'a, E: StateEvent + 'a>(
    state: &impl Fn(&str, &str) -> Option<&'a E>,
    levels: &PowerLevels,
    sender_power: i64,
) -> Result<Option<Cow<'a, ContentRules>>, AuthError> {
    let Some(event) = state(kinds::CONTENT_RULES, "") else {
        return Ok(None);
    };
    let rules = event.content_rules()?;
    if sender_power >= rules.exempt_from(levels) {
        return Ok(None);
    }
    Ok(Some(rules))
}

/// The content rules' check of a message (specs/moderation.md §2.2), called by the
/// authorization rules once the sender may send it. Skipped for a message in redacted form: its
/// body is gone, and holding the full or the redacted form must not change a verdict.
pub fn check_message<'a, E: StateEvent + 'a>(
    event: &E,
    state: &impl Fn(&str, &str) -> Option<&'a E>,
    levels: &PowerLevels,
    sender_power: i64,
) -> Result<(), AuthError> {
    if event.is_redacted() {
        return Ok(());
    }
    let Some(rules) = rules_for(state, levels, sender_power)? else {
        return Ok(());
    };
    if !rules.restricts_content() {
        return Ok(());
    }
    let body = read_text(event.content(), "body", "bad_body", Some)?;
    let joined_at = state(kinds::MEMBER, &event.sender_hex()).map_or(0, |m| m.origin_ts());
    rules
        .check_body(body, event.origin_ts(), joined_at)
        .map_err(AuthError::ContentRule)
}

/// The join-wave rule (specs/moderation.md §2.4) for a member event `event` given the state
/// before it (`members`: its member entries, in state-key order, as (target hex, event)).
/// In a room whose join rule is `public` or `attested`, the wave is in force for `event` when
/// the rules have a `join_wave`, its sender is neither the creator nor a joined or invited
/// member, and at least `max_joins` of the members' events are joins by their target whose
/// origin_ts lies in `(origin_ts(event) - window_ms, origin_ts(event)]`. A join fails
/// `join_wave` while the wave is in force; a knock is the other side of the same test: allowed
/// only while the wave is in force (the room then works as a `knock` room), else
/// `join_not_allowed`.
pub fn check_join_wave<'a, E: StateEvent + 'a>(
    event: &E,
    state: &impl Fn(&str, &str) -> Option<&'a E>,
    members: impl Iterator<Item = &'a E>,
) -> Result<(), AuthError> {
    if event.kind() != kinds::MEMBER || event.state_key() != Some(&*event.sender_hex()) {
        return Ok(());
    }
    let knock = match Membership::parse(event.content()) {
        Ok(Membership::Join) => false,
        Ok(Membership::Knock) => true,
        _ => return Ok(()),
    };
    let rule = match state(kinds::JOIN_RULES, "") {
        Some(e) => crate::content::JoinRules::parse(e.content())?.rule,
        None => JoinRule::Invite,
    };
    if !matches!(rule, JoinRule::Public | JoinRule::Attested) {
        return Ok(());
    }
    match (knock, join_wave_in_force(event, state, members)?) {
        (false, true) => Err(AuthError::ContentRule(RuleBreak::JoinWave)),
        (true, false) => Err(AuthError::JoinNotAllowed),
        _ => Ok(()),
    }
}

/// Whether the join wave is in force for `event`'s sender (see [`check_join_wave`]).
fn join_wave_in_force<'a, E: StateEvent + 'a>(
    event: &E,
    state: &impl Fn(&str, &str) -> Option<&'a E>,
    members: impl Iterator<Item = &'a E>,
) -> Result<bool, AuthError> {
    let Some(rules_event) = state(kinds::CONTENT_RULES, "") else {
        return Ok(false);
    };
    let Some(wave) = rules_event.content_rules()?.join_wave else {
        return Ok(false);
    };
    let Some(create) = state(kinds::CREATE, "") else {
        return Ok(false);
    };
    if create.sender() == event.sender() {
        return Ok(false);
    }
    let current =
        state(kinds::MEMBER, &event.sender_hex()).and_then(|m| Membership::parse(m.content()).ok());
    if matches!(current, Some(Membership::Join | Membership::Invite)) {
        return Ok(false);
    }
    let end = event.origin_ts();
    let start = end.saturating_sub(wave.window_ms);
    let mut joins = 0u64;
    for member in members {
        let ts = member.origin_ts();
        let is_join = ts > start
            && ts <= end
            && member
                .state_key()
                .and_then(parse_user_hex)
                .is_some_and(|t| &t == member.sender().as_bytes())
            && Membership::parse(member.content()) == Ok(Membership::Join);
        if is_join {
            joins += 1;
            if joins >= wave.max_joins {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    //! Parsing limits and the matchers on obfuscated text.

    use super::*;

    fn rules(pairs: &[(&str, Value)]) -> Result<ContentRules, AuthError> {
        let content: Content = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        ContentRules::parse(&content)
    }

    fn words(list: &[&str]) -> Value {
        Value::Array(list.iter().map(|w| (*w).into()).collect())
    }

    /// Every body in `bodies`, sent at once by a member of long standing, breaks `broken`.
    fn assert_all_break(rules: &ContentRules, bodies: &[&str], broken: RuleBreak) {
        for body in bodies {
            assert_eq!(rules.check_body(body, 0, 0), Err(broken), "{body}");
        }
    }

    /// Every body in `bodies`, sent by a member of long standing, passes.
    fn assert_all_pass(rules: &ContentRules, bodies: &[&str]) {
        for body in bodies {
            assert_eq!(rules.check_body(body, 0, 0), Ok(()), "{body}");
        }
    }

    #[test]
    fn blocked_words_see_through_obfuscation_but_not_inside_words() {
        let rules = rules(&[("blocked_words", words(&["scam", "idiot"]))]).unwrap();
        let bad = [
            "this is a scam",
            "SCAM!",
            "ѕсаm here",
            "ｓｃａｍ",
            "you 1d10t",
            "𝓼𝓬𝓪𝓶",
            "scäm",
        ];
        assert_all_break(&rules, &bad, RuleBreak::BlockedWord);
        assert_all_pass(
            &rules,
            &["scampi are tasty", "hello", "idiotic? no: fine", ""],
        );
    }

    #[test]
    fn links_and_domains() {
        let deny = rules(&[("links", "deny".into())]).unwrap();
        let links = [
            "see https://evil.example/x",
            "go to evil.com now",
            "www.Evil.Com",
            "ｅｖｉｌ．ｃｏｍ",
        ];
        assert_all_break(&deny, &links, RuleBreak::LinkNotAllowed);
        assert_all_pass(
            &deny,
            &["no links here", "version 1.2.3", "e.g. this", "a.b"],
        );
        let mut map = std::collections::BTreeMap::new();
        map.insert("allow_domains".to_owned(), words(&["example.org"]));
        let some = rules(&[("links", Value::Map(map))]).unwrap();
        assert_all_pass(&some, &["https://docs.example.org/a", "example.org"]);
        // A homograph of an allowed domain is not that domain.
        assert_all_break(
            &some,
            &["badexample.org", "exаmple.org"],
            RuleBreak::LinkNotAllowed,
        );
    }

    #[test]
    fn new_members_wait_for_links() {
        let delay = rules(&[("new_member_link_delay_ms", Value::Integer(1_000))]).unwrap();
        assert_eq!(
            delay.check_body("see evil.com", 1_999, 1_000),
            Err(RuleBreak::NewMemberLinks)
        );
        assert_eq!(delay.check_body("see evil.com", 2_000, 1_000), Ok(()));
        assert_eq!(delay.check_body("no link", 1_000, 1_000), Ok(()));
    }

    #[test]
    fn length_mentions_patterns() {
        let r = rules(&[
            ("max_message_bytes", Value::Integer(10)),
            ("max_mentions", Value::Integer(2)),
            ("blocked_patterns", words(&[r"buy\s+now"])),
        ])
        .unwrap();
        assert_eq!(r.check_body("0123456789", 0, 0), Ok(()));
        assert_eq!(
            r.check_body("0123456789a", 0, 0),
            Err(RuleBreak::MessageTooLong)
        );
        assert_eq!(r.check_body("@a @b", 0, 0), Ok(()));
        assert_eq!(
            r.check_body("@a @b @c", 0, 0),
            Err(RuleBreak::TooManyMentions)
        );
        assert_eq!(r.check_body("a@b.c", 0, 0), Ok(()));
        assert_eq!(
            r.check_body("BUY  NOW", 0, 0),
            Err(RuleBreak::BlockedPattern)
        );
    }

    #[test]
    fn bounds_are_checked() {
        let many = Value::Array(vec!["w".into(); MAX_BLOCKED_WORDS + 1]);
        assert!(rules(&[("blocked_words", many)]).is_err());
        let at = Value::Array(vec!["w".into(); MAX_BLOCKED_WORDS]);
        assert!(rules(&[("blocked_words", at)]).is_ok());
        assert!(rules(&[("blocked_patterns", words(&["("]))]).is_err());
        // A pattern whose program passes the size limit is refused.
        assert!(rules(&[("blocked_patterns", words(&[r"\w{1000}\w{1000}"]))]).is_err());
        assert!(rules(&[("slow_mode_ms", Value::Integer(MAX_SLOW_MODE_MS as i64 + 1))]).is_err());
        assert!(rules(&[("links", "maybe".into())]).is_err());
        assert!(rules(&[("classifier", "sometimes".into())]).is_err());
        let r = rules(&[("classifier", "fail_closed".into())]).unwrap();
        assert_eq!(r.classifier, ClassifierMode::FailClosed);
        assert_eq!(ContentRules::parse(&r.to_content()).unwrap(), r);
    }
}
