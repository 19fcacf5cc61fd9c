//! Ban-list reads on [`Client`] (specs/moderation.md §3.7). The answers are passed on as JSON:
//! the CLI prints them as they are with `--json` and reads a few fields for people.

use causerie_crypto::{EventId, RoomId};
use reqwest::Method;

use super::error::ClientError;
use super::transport::Client;

impl Client {
    /// A ban list's rules (public reasons only) and, with `since` (an event of the list room),
    /// what it changed since.
    pub async fn ban_list(
        &self,
        list: &RoomId,
        since: Option<&EventId>,
    ) -> Result<serde_json::Value, ClientError> {
        let list = list.to_string().replace('!', "%21");
        let path = match since {
            Some(since) => format!(
                "/banlists/{list}?since={}",
                since.to_string().replace('$', "%24")
            ),
            None => format!("/banlists/{list}"),
        };
        self.call(Method::GET, &path, None, true).await
    }

    /// A room's ban-list subscription: lists, enforcer, overrides, the lists the node holds.
    pub async fn room_banlists(&self, room: &RoomId) -> Result<serde_json::Value, ClientError> {
        let room = room.to_string().replace('!', "%21");
        self.call(Method::GET, &format!("/rooms/{room}/banlists"), None, true)
            .await
    }
}
