//! The federated room directory on the node (specs/directory.md): the announcements of other
//! nodes (verified, newest per node, expired [`DIRECTORY_TTL_MS`] after they were issued), this
//! node's own latest announcement (what peers pull), the room aliases it gives in its own
//! namespace (durable in the store's alias tree), and the two questions clients ask: which
//! public rooms the federation lists ([`Directory::listing`]) and which room an alias names
//! ([`Directory::resolve`]).
//!
//! Why memory and not the store for announcements: they are soft state that every node
//! re-issues every [`REANNOUNCE_INTERVAL_MS`] and that expires after [`DIRECTORY_TTL_MS`], so
//! after a restart a stored copy would be stale anyway; a node rebuilds the table within
//! seconds by pulling it from its peers on connect. Aliases are the node's own decisions and are
//! kept durably.
//!
//! An announcement from anywhere is verified before it changes anything; a refused one is
//! counted by its reason (`causerie_directory_refused_total`). Bounds: at most
//! [`MAX_DIRECTORY_NODES`] nodes; a node's next announcement at least
//! [`MIN_ANNOUNCE_INTERVAL_MS`] after its previous one; issued at most [`MAX_FUTURE_SKEW_MS`]
//! ahead of this node's clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use causerie_crypto::address::MAX_INVITE_VIAS;
use causerie_crypto::directory::{
    Announcement, AnnouncementDraft, DirectoryError, DirectoryRoom, MAX_ALIAS_BYTES,
    MAX_DIRECTORY_ROOMS, MAX_NAME_BYTES, MAX_TOPIC_BYTES, MAX_VIA_BYTES, MAX_VIAS, RoomAlias,
    ServerName, truncate_to, valid_alias,
};
use causerie_crypto::{NodeKey, RoomId};
use causerie_room::JoinRule;

use crate::counters::ReasonCounts;
use crate::node::{NodeError, SharedStore};
use crate::views::RoomView;

/// How long another node's announcement stays listed after it was issued.
pub const DIRECTORY_TTL_MS: u64 = 5 * 60 * 1_000;
/// How often a node announces itself even when nothing changed (well under the TTL, so a few
/// lost announcements never expire a live node).
pub const REANNOUNCE_INTERVAL_MS: u64 = 60 * 1_000;
/// How long a node waits after a change (a member joining, a room named) before announcing, so
/// a burst of changes costs one announcement.
pub const ANNOUNCE_DEBOUNCE_MS: u64 = 1_000;
/// Shortest time between two announcements of one node that this node takes.
pub const MIN_ANNOUNCE_INTERVAL_MS: u64 = 1_000;
/// How far ahead of this node's clock an announcement may be issued.
pub const MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1_000;
/// Most other nodes whose announcements are held.
pub const MAX_DIRECTORY_NODES: usize = 1_024;
/// Most rooms one listing answers (the ones with the most members).
pub const MAX_LISTED_ROOMS: usize = 500;

/// Why an announcement was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryRefusal {
    /// It does not verify (its format's reason).
    #[error("invalid announcement: {}", .0.reason())]
    Invalid(#[from] DirectoryError),
    /// Issued more than [`MAX_FUTURE_SKEW_MS`] ahead of this node's clock.
    #[error("issued in the future")]
    FromFuture,
    /// Issued more than [`DIRECTORY_TTL_MS`] ago.
    #[error("expired")]
    Expired,
    /// Older than the announcement held for its node.
    #[error("older than the one held")]
    Stale,
    /// Less than [`MIN_ANNOUNCE_INTERVAL_MS`] after the one held for its node.
    #[error("too soon after the one held")]
    TooFrequent,
    /// [`MAX_DIRECTORY_NODES`] nodes are held.
    #[error("directory full")]
    Full,
}

impl DirectoryRefusal {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            DirectoryRefusal::Invalid(e) => e.reason(),
            DirectoryRefusal::FromFuture => "from_future",
            DirectoryRefusal::Expired => "expired",
            DirectoryRefusal::Stale => "stale",
            DirectoryRefusal::TooFrequent => "too_frequent",
            DirectoryRefusal::Full => "directory_full",
        }
    }

    /// Whether the peer that sent it is at fault: only an announcement that does not verify.
    /// A stale or early one can come from an honest relay.
    pub fn is_misbehaviour(&self) -> bool {
        matches!(self, DirectoryRefusal::Invalid(_))
    }
}

/// What adding an announcement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// New here: it replaced its node's older one (or was the first).
    New,
    /// Already held (or this node's own).
    Known,
}

/// Why an alias did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No live announcement claims the alias's server name.
    #[error("no node announces the server name {0}")]
    UnknownServer(String),
    /// The server's node gives no room this alias.
    #[error("{0} names no room")]
    UnknownAlias(String),
    /// Two or more node keys claim the server name: none is believed.
    #[error("the server name {name} is claimed by {} nodes; it resolves nowhere until one stops", keys.len())]
    NameConflict {
        /// The server name.
        name: String,
        /// The claiming node keys.
        keys: Vec<NodeKey>,
    },
}

impl ResolveError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            ResolveError::UnknownServer(_) => "unknown_server",
            ResolveError::UnknownAlias(_) => "unknown_alias",
            ResolveError::NameConflict { .. } => "server_name_conflict",
        }
    }
}

/// Why this node refused to set an alias.
#[derive(Debug, thiserror::Error)]
pub enum AliasError {
    /// Not an alias local part.
    #[error(transparent)]
    Bad(#[from] DirectoryError),
    /// Another room has it.
    #[error("the alias {0} names another room on this node")]
    Taken(String),
    /// The store refused or failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl AliasError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            AliasError::Bad(e) => e.reason(),
            AliasError::Taken(_) => "alias_taken",
            AliasError::Node(e) => e.reason(),
        }
    }
}

/// Where a resolved alias leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The room.
    pub room: RoomId,
    /// The node that gives the alias.
    pub node: NodeKey,
    /// Addresses of nodes announcing the room, the alias's node first (at most
    /// [`MAX_INVITE_VIAS`]); empty when it is this node's alias (the caller adds its own).
    pub via: Vec<String>,
}

/// One node's word about a listed room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The announcing node.
    pub node: NodeKey,
    /// Its server name.
    pub server: ServerName,
    /// The alias it gives the room, if any (not shown when its name is in conflict).
    pub alias: Option<RoomAlias>,
}

/// A public room as other nodes announce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRoom {
    /// The room.
    pub room: RoomId,
    /// Name, topic and members from the most recent announcement that lists it.
    pub name: String,
    /// Its topic.
    pub topic: String,
    /// Joined members.
    pub members: u64,
    /// When that announcement was issued.
    pub issued_ms: u64,
    /// Every node announcing it, in node key order.
    pub origins: Vec<Origin>,
    /// Their addresses (at most [`MAX_INVITE_VIAS`]).
    pub via: Vec<String>,
}

/// Counters (rendered by `/metrics`).
#[derive(Debug, Default)]
pub struct DirectoryMetrics {
    /// Announcements taken (new).
    pub accepted: AtomicU64,
    /// Announcements this node published.
    pub announced: AtomicU64,
    /// Announcements refused, by reason; `name_conflict` counts a host name claimed by a
    /// second key (the announcement itself is kept).
    pub refused: ReasonCounts,
}

/// The announcements of other nodes, newest per node. Pure: the time is an argument.
#[derive(Debug, Default)]
pub struct DirectoryTable {
    by_node: BTreeMap<NodeKey, Announcement>,
}

impl DirectoryTable {
    /// Takes `announcement` (verified) at `now_ms` unless it is expired, from the future, not
    /// newer than the one held, or the table is full.
    pub fn add(
        &mut self,
        announcement: Announcement,
        now_ms: u64,
    ) -> Result<Added, DirectoryRefusal> {
        let issued = announcement.issued_ms();
        if issued > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(DirectoryRefusal::FromFuture);
        }
        if issued.saturating_add(DIRECTORY_TTL_MS) < now_ms {
            return Err(DirectoryRefusal::Expired);
        }
        match self.by_node.get(announcement.node()) {
            Some(held) if held.id() == announcement.id() => return Ok(Added::Known),
            Some(held) if issued <= held.issued_ms() => return Err(DirectoryRefusal::Stale),
            Some(held) if issued < held.issued_ms().saturating_add(MIN_ANNOUNCE_INTERVAL_MS) => {
                return Err(DirectoryRefusal::TooFrequent);
            }
            Some(_) => {}
            None => {
                self.expire(now_ms);
                if self.by_node.len() >= MAX_DIRECTORY_NODES {
                    return Err(DirectoryRefusal::Full);
                }
            }
        }
        self.by_node.insert(*announcement.node(), announcement);
        Ok(Added::New)
    }

    /// Forgets the announcements issued more than [`DIRECTORY_TTL_MS`] before `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        self.by_node
            .retain(|_, a| a.issued_ms().saturating_add(DIRECTORY_TTL_MS) >= now_ms);
    }

    /// The live announcements, in node key order.
    pub fn live(&self, now_ms: u64) -> impl Iterator<Item = &Announcement> {
        self.by_node
            .values()
            .filter(move |a| a.issued_ms().saturating_add(DIRECTORY_TTL_MS) >= now_ms)
    }

    /// The live announcements claiming `name`.
    pub fn claims<'a>(
        &'a self,
        name: &'a ServerName,
        now_ms: u64,
    ) -> impl Iterator<Item = &'a Announcement> {
        self.live(now_ms).filter(move |a| a.name() == name)
    }

    /// Whether another node than `node` claims `name` (a host name can be claimed twice).
    fn contested(&self, name: &ServerName, node: &NodeKey, now_ms: u64) -> bool {
        name.is_host() && self.claims(name, now_ms).any(|a| a.node() != node)
    }

    /// Resolves `alias` among the announcements (not this node's own aliases).
    pub fn resolve(&self, alias: &RoomAlias, now_ms: u64) -> Result<Resolved, ResolveError> {
        let claims: Vec<&Announcement> = self.claims(&alias.server, now_ms).collect();
        let owner = match claims.as_slice() {
            [] => return Err(ResolveError::UnknownServer(alias.server.to_string())),
            [one] => *one,
            many => {
                return Err(ResolveError::NameConflict {
                    name: alias.server.to_string(),
                    keys: many.iter().map(|a| *a.node()).collect(),
                });
            }
        };
        let room = owner
            .alias(&alias.local)
            .ok_or_else(|| ResolveError::UnknownAlias(alias.to_string()))?
            .room;
        let mut via: Vec<String> = owner.via().to_vec();
        for other in self.live(now_ms).filter(|a| a.node() != owner.node()) {
            if other.rooms().iter().any(|r| r.room == room) {
                via.extend(other.via().iter().cloned());
            }
        }
        dedup_keep_order(&mut via);
        via.truncate(MAX_INVITE_VIAS);
        Ok(Resolved {
            room,
            node: *owner.node(),
            via,
        })
    }

    /// Every public room the live announcements list, merged by room id, the most members
    /// first (at most [`MAX_LISTED_ROOMS`]).
    pub fn listing(&self, now_ms: u64) -> Vec<ListedRoom> {
        let mut rooms: BTreeMap<RoomId, ListedRoom> = BTreeMap::new();
        for announcement in self.live(now_ms) {
            let contested = self.contested(announcement.name(), announcement.node(), now_ms);
            for listed in announcement.rooms() {
                let entry = rooms.entry(listed.room).or_insert_with(|| ListedRoom {
                    room: listed.room,
                    name: String::new(),
                    topic: String::new(),
                    members: 0,
                    issued_ms: 0,
                    origins: Vec::new(),
                    via: Vec::new(),
                });
                if entry.origins.is_empty() || announcement.issued_ms() > entry.issued_ms {
                    entry.name.clone_from(&listed.name);
                    entry.topic.clone_from(&listed.topic);
                    entry.members = listed.members;
                    entry.issued_ms = announcement.issued_ms();
                }
                let alias = (!listed.alias.is_empty() && !contested).then(|| RoomAlias {
                    local: listed.alias.clone(),
                    server: announcement.name().clone(),
                });
                entry.origins.push(Origin {
                    node: *announcement.node(),
                    server: announcement.name().clone(),
                    alias,
                });
                if entry.via.len() < MAX_INVITE_VIAS {
                    entry.via.extend(announcement.via().iter().cloned());
                    dedup_keep_order(&mut entry.via);
                    entry.via.truncate(MAX_INVITE_VIAS);
                }
            }
        }
        let mut listed: Vec<ListedRoom> = rooms.into_values().collect();
        listed.sort_by(|a, b| b.members.cmp(&a.members).then(a.room.cmp(&b.room)));
        listed.truncate(MAX_LISTED_ROOMS);
        listed
    }
}

fn dedup_keep_order(items: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

/// What this node announces: its public rooms with members (the most members first when
/// there are more than [`MAX_DIRECTORY_ROOMS`]), in room id order, names and topics cut to
/// their limits, with the aliases it gives them; its addresses (at most [`MAX_VIAS`], each at
/// most [`MAX_VIA_BYTES`]). Pure.
pub fn own_draft(
    views: &[RoomView],
    aliases: &[(String, RoomId)],
    name: ServerName,
    via: Vec<String>,
    issued_ms: u64,
) -> AnnouncementDraft {
    let alias_of: BTreeMap<RoomId, &str> = aliases
        .iter()
        .filter(|(local, _)| valid_alias(local) && local.len() <= MAX_ALIAS_BYTES)
        .map(|(local, room)| (*room, local.as_str()))
        .collect();
    let mut public: Vec<&RoomView> = views
        .iter()
        .filter(|v| v.join_rules.rule == JoinRule::Public && v.joined > 0)
        .collect();
    public.sort_by(|a, b| b.joined.cmp(&a.joined).then(a.room.cmp(&b.room)));
    public.truncate(MAX_DIRECTORY_ROOMS);
    let mut rooms: Vec<DirectoryRoom> = public
        .into_iter()
        .map(|view| DirectoryRoom {
            alias: alias_of.get(&view.room).copied().unwrap_or("").to_owned(),
            members: view.joined as u64,
            name: truncate_to(view.name.as_deref().unwrap_or(""), MAX_NAME_BYTES),
            room: view.room,
            topic: truncate_to(view.topic.as_deref().unwrap_or(""), MAX_TOPIC_BYTES),
        })
        .collect();
    rooms.sort_by_key(|room| room.room);
    let via = via
        .into_iter()
        .filter(|v| !v.is_empty() && v.len() <= MAX_VIA_BYTES)
        .take(MAX_VIAS)
        .collect();
    AnnouncementDraft {
        issued_ms,
        name,
        rooms,
        via,
    }
}

/// Handle to the node's directory. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    key: NodeKey,
    name: Arc<RwLock<ServerName>>,
    table: Arc<Mutex<DirectoryTable>>,
    own: Arc<Mutex<Option<Announcement>>>,
    store: SharedStore,
    metrics: Arc<DirectoryMetrics>,
    changed: Arc<tokio::sync::Notify>,
}

impl Directory {
    pub(crate) fn new(key: NodeKey, store: SharedStore) -> Self {
        Directory {
            key,
            name: Arc::new(RwLock::new(ServerName::of_node(&key))),
            table: Arc::default(),
            own: Arc::default(),
            store,
            metrics: Arc::default(),
            changed: Arc::default(),
        }
    }

    /// The counters.
    pub fn metrics(&self) -> &DirectoryMetrics {
        &self.metrics
    }

    /// Notified when this node's aliases change (the announcer announces again).
    pub fn changed(&self) -> Arc<tokio::sync::Notify> {
        self.changed.clone()
    }

    /// The name this node's aliases live under.
    pub fn server_name(&self) -> ServerName {
        self.name.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets the name this node's aliases live under (its public host name, when it has one);
    /// refused unless this node's key may announce it.
    pub fn set_server_name(&self, name: ServerName) -> Result<(), DirectoryError> {
        name.check(&self.key)?;
        *self.name.write().unwrap_or_else(|e| e.into_inner()) = name;
        self.changed.notify_one();
        Ok(())
    }

    fn table(&self) -> std::sync::MutexGuard<'_, DirectoryTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Verifies `bytes` and takes the announcement at `now_ms` (this node's own key: `Known`).
    /// A refusal is counted by its reason and changes nothing.
    pub fn add(&self, bytes: &[u8], now_ms: u64) -> Result<Added, DirectoryRefusal> {
        let result = self.add_inner(bytes, now_ms);
        match &result {
            Ok(Added::New) => {
                self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Added::Known) => {}
            Err(refusal) => {
                self.metrics.refused.increment(refusal.reason());
                tracing::debug!(reason = refusal.reason(), "directory announcement refused");
            }
        }
        result
    }

    fn add_inner(&self, bytes: &[u8], now_ms: u64) -> Result<Added, DirectoryRefusal> {
        let announcement = Announcement::decode(bytes)?;
        if *announcement.node() == self.key {
            return Ok(Added::Known);
        }
        let mut table = self.table();
        let contested = table.contested(announcement.name(), announcement.node(), now_ms);
        let (node, name) = (*announcement.node(), announcement.name().clone());
        let added = table.add(announcement, now_ms)?;
        if added == Added::New && contested {
            self.metrics.refused.increment("name_conflict");
            tracing::warn!(%node, %name, "a second node claims this server name; its aliases resolve nowhere");
        }
        Ok(added)
    }

    /// Holds this node's latest announcement (what peers pull).
    pub fn set_own(&self, announcement: Announcement) {
        *self.own.lock().unwrap_or_else(|e| e.into_inner()) = Some(announcement);
        self.metrics.announced.fetch_add(1, Ordering::Relaxed);
    }

    /// This node's latest announcement.
    pub fn own(&self) -> Option<Announcement> {
        self.own.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Announcements after node key `after` (from the first when `None`), this node's own
    /// included, in node key order, at most `limit`: what a peer pulls.
    pub fn page(&self, after: Option<NodeKey>, limit: usize, now_ms: u64) -> Vec<Vec<u8>> {
        let mut all: BTreeMap<NodeKey, Vec<u8>> = self
            .table()
            .live(now_ms)
            .map(|a| (*a.node(), a.as_bytes().to_vec()))
            .collect();
        if let Some(own) = self.own() {
            all.insert(self.key, own.as_bytes().to_vec());
        }
        all.into_iter()
            .filter(|(node, _)| after.is_none_or(|after| *node > after))
            .take(limit)
            .map(|(_, bytes)| bytes)
            .collect()
    }

    /// Every public room other nodes announce (merged by room id).
    pub fn listing(&self, now_ms: u64) -> Vec<ListedRoom> {
        self.table().listing(now_ms)
    }

    /// Live announcements held (this node's own not included).
    pub fn len(&self, now_ms: u64) -> usize {
        self.table().live(now_ms).count()
    }

    /// Whether none is held.
    pub fn is_empty(&self, now_ms: u64) -> bool {
        self.len(now_ms) == 0
    }

    /// Which room `alias` names: this node's own alias table when the server is this node's
    /// name, else the announcement of the one node claiming that name.
    pub async fn resolve(&self, alias: &RoomAlias, now_ms: u64) -> Result<Resolved, ResolveError> {
        if alias.server == self.server_name() {
            let local = alias.local.clone();
            let room = self
                .aliases()
                .await
                .ok()
                .and_then(|all| all.into_iter().find(|(l, _)| *l == local))
                .map(|(_, room)| room)
                .ok_or_else(|| ResolveError::UnknownAlias(alias.to_string()))?;
            let mut via = Vec::new();
            for other in self.table().live(now_ms) {
                if other.rooms().iter().any(|r| r.room == room) {
                    via.extend(other.via().iter().cloned());
                }
            }
            dedup_keep_order(&mut via);
            via.truncate(MAX_INVITE_VIAS);
            return Ok(Resolved {
                room,
                node: self.key,
                via,
            });
        }
        self.table().resolve(alias, now_ms)
    }

    /// This node's aliases with their rooms.
    pub async fn aliases(&self) -> Result<Vec<(String, RoomId)>, NodeError> {
        self.store.read(|store| store.aliases()).await
    }

    /// The alias this node gives `room`, if any.
    pub async fn alias_of(&self, room: RoomId) -> Result<Option<String>, NodeError> {
        Ok(self
            .aliases()
            .await?
            .into_iter()
            .find(|(_, r)| *r == room)
            .map(|(local, _)| local))
    }

    /// Gives `room` the alias `local` in this node's namespace (replacing the room's previous
    /// alias); refused when another room has it. Durable before it returns.
    pub async fn set_alias(&self, room: RoomId, local: String) -> Result<(), AliasError> {
        if !valid_alias(&local) {
            return Err(DirectoryError::BadAlias.into());
        }
        let aliases = self.aliases().await?;
        if aliases.iter().any(|(l, r)| *l == local && *r != room) {
            return Err(AliasError::Taken(local));
        }
        let previous: Vec<String> = aliases
            .into_iter()
            .filter(|(l, r)| *r == room && *l != local)
            .map(|(l, _)| l)
            .collect();
        self.store
            .read(move |store| {
                store.set_alias(&local, &room)?;
                for old in previous {
                    store.remove_alias(&old)?;
                }
                Ok(())
            })
            .await?;
        self.changed.notify_one();
        Ok(())
    }

    /// Removes the alias of `room`; whether it had one.
    pub async fn remove_alias(&self, room: RoomId) -> Result<bool, AliasError> {
        let Some(local) = self.alias_of(room).await? else {
            return Ok(false);
        };
        Ok(self.remove_alias_named(local).await?.is_some())
    }

    /// Removes the alias `local` whatever room it names (the operator's removal); answers the
    /// room it named, if it existed. The next announcement no longer carries it.
    pub async fn remove_alias_named(&self, local: String) -> Result<Option<RoomId>, AliasError> {
        let Some(room) = self
            .aliases()
            .await?
            .into_iter()
            .find(|(l, _)| *l == local)
            .map(|(_, room)| room)
        else {
            return Ok(None);
        };
        let removed = self
            .store
            .read(move |store| store.remove_alias(&local))
            .await?;
        self.changed.notify_one();
        Ok(removed.then_some(room))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::{Hash32, NodeSecret};

    fn secret(seed: u8) -> NodeSecret {
        NodeSecret::from_seed(&[seed; 32])
    }

    fn announce(
        node: &NodeSecret,
        name: &str,
        issued_ms: u64,
        rooms: &[(u8, &str, u64)],
    ) -> Announcement {
        AnnouncementDraft {
            issued_ms,
            name: if name.is_empty() {
                ServerName::of_node(&node.public())
            } else {
                ServerName::parse(name).unwrap()
            },
            rooms: rooms
                .iter()
                .map(|(byte, alias, members)| DirectoryRoom {
                    alias: (*alias).into(),
                    members: *members,
                    name: format!("room {byte}"),
                    room: RoomId(Hash32([*byte; 32])),
                    topic: String::new(),
                })
                .collect(),
            via: vec![format!(
                "/ip4/127.0.0.1/tcp/{}",
                4000 + u16::from(name.len() as u8)
            )],
        }
        .sign(node)
        .unwrap()
    }

    #[test]
    fn newest_per_node_wins_and_old_ones_expire() {
        let (a, now) = (secret(1), 10_000_000);
        let mut table = DirectoryTable::default();
        let first = announce(&a, "", now, &[(1, "lobby", 1)]);
        assert_eq!(table.add(first.clone(), now), Ok(Added::New));
        assert_eq!(table.add(first, now), Ok(Added::Known));
        let older = announce(&a, "", now - 5, &[(1, "lobby", 9)]);
        assert_eq!(table.add(older, now), Err(DirectoryRefusal::Stale));
        let soon = announce(&a, "", now + 10, &[(1, "lobby", 9)]);
        assert_eq!(table.add(soon, now), Err(DirectoryRefusal::TooFrequent));
        let later = announce(&a, "", now + 2_000, &[(1, "lobby", 2)]);
        assert_eq!(table.add(later, now), Ok(Added::New));
        assert_eq!(table.listing(now)[0].members, 2);
        let future = announce(&a, "", now + MAX_FUTURE_SKEW_MS + 3_000, &[]);
        assert_eq!(table.add(future, now), Err(DirectoryRefusal::FromFuture));
        let old = announce(&secret(2), "", now - DIRECTORY_TTL_MS - 1, &[]);
        assert_eq!(table.add(old, now), Err(DirectoryRefusal::Expired));
        assert!(table.listing(now + 2_000 + DIRECTORY_TTL_MS + 1).is_empty());
    }

    #[test]
    fn aliases_resolve_only_under_an_uncontested_name() {
        let (a, b, now) = (secret(1), secret(2), 10_000_000);
        let mut table = DirectoryTable::default();
        table
            .add(
                announce(&a, "chat.example.org", now, &[(1, "lobby", 3)]),
                now,
            )
            .unwrap();
        table
            .add(announce(&b, "", now, &[(1, "", 3)]), now)
            .unwrap();
        let alias = RoomAlias::parse("#lobby:chat.example.org").unwrap();
        let resolved = table.resolve(&alias, now).unwrap();
        assert_eq!(resolved.room, RoomId(Hash32([1; 32])));
        assert_eq!(resolved.node, a.public());
        // The alias's node first, then the others that hold the room.
        assert_eq!(resolved.via.len(), 2);
        let missing = RoomAlias::parse("#cafe:chat.example.org").unwrap();
        assert_eq!(
            table.resolve(&missing, now).map_err(|e| e.reason()),
            Err("unknown_alias")
        );
        let elsewhere = RoomAlias::parse("#lobby:other.example.org").unwrap();
        assert_eq!(
            table.resolve(&elsewhere, now).map_err(|e| e.reason()),
            Err("unknown_server")
        );
        // A second key claiming the host name: neither is believed.
        let c = secret(3);
        table
            .add(
                announce(&c, "chat.example.org", now, &[(2, "lobby", 1)]),
                now,
            )
            .unwrap();
        assert_eq!(
            table.resolve(&alias, now).map_err(|e| e.reason()),
            Err("server_name_conflict")
        );
        let listed = table.listing(now);
        assert!(
            listed
                .iter()
                .flat_map(|r| &r.origins)
                .all(|o| o.alias.is_none())
        );
        // Node names cannot be contested: they are checked against the key.
        let by_node = RoomAlias {
            local: "lobby".into(),
            server: ServerName::of_node(&b.public()),
        };
        assert_eq!(
            table.resolve(&by_node, now).map_err(|e| e.reason()),
            Err("unknown_alias")
        );
    }
}
