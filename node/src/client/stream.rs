//! The live stream (specs/client-api.md, "Live stream"): server-sent events read line by line
//! under [`MAX_STREAM_LINE_BYTES`] and [`MAX_STREAM_DATA_BYTES`], turned into [`StreamItem`]s.

use super::error::{ClientError, bad, unreachable};
use super::wire::ApiEvent;
use super::{MAX_STREAM_DATA_BYTES, MAX_STREAM_LINE_BYTES};

/// One message of the live stream.
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// A newly accepted visible event.
    Event(Box<ApiEvent>),
    /// Keep-alive.
    Ping,
}

/// The live stream (server-sent events) of a session.
pub struct EventStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    state: SseState,
}

/// The message being gathered from server-sent-event lines.
#[derive(Debug, Default)]
struct SseState {
    event: String,
    data: String,
}

impl EventStream {
    /// Reads the stream of an answer whose status was already checked.
    pub(super) fn new(response: reqwest::Response) -> EventStream {
        EventStream {
            response,
            buffer: Vec::new(),
            state: SseState::default(),
        }
    }

    /// The next message; `None` when the node closed the stream. Cancel-safe: bytes already
    /// read stay buffered for the next call.
    pub async fn next(&mut self) -> Result<Option<StreamItem>, ClientError> {
        loop {
            while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = String::from_utf8(line).map_err(|_| bad("stream line is not UTF-8"))?;
                let line = line.trim_end_matches(['\n', '\r']);
                if let Some(item) = self.state.line(line)? {
                    return Ok(Some(item));
                }
            }
            if self.buffer.len() > MAX_STREAM_LINE_BYTES {
                return Err(ClientError::ResponseTooLarge(MAX_STREAM_LINE_BYTES));
            }
            match self.response.chunk().await.map_err(unreachable)? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

impl SseState {
    /// Feeds one line; a blank line dispatches the message gathered so far.
    fn line(&mut self, line: &str) -> Result<Option<StreamItem>, ClientError> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            return match event.as_str() {
                "event" => {
                    let parsed: ApiEvent = serde_json::from_str(&data)
                        .map_err(|e| bad(format!("stream event: {e}")))?;
                    Ok(Some(StreamItem::Event(Box::new(parsed))))
                }
                "ping" => Ok(Some(StreamItem::Ping)),
                "lagged" => Err(ClientError::Lagged),
                // Unknown message types are for newer clients.
                _ => Ok(None),
            };
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.data.len() + value.len() + 1 > MAX_STREAM_DATA_BYTES {
                    return Err(ClientError::ResponseTooLarge(MAX_STREAM_DATA_BYTES));
                }
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_lines_make_messages() {
        // The stream's line handling, without a socket behind it.
        let mut parser = SseState::default();
        assert!(parser.line("event: ping").unwrap().is_none());
        assert!(parser.line("data: {}").unwrap().is_none());
        assert!(matches!(parser.line("").unwrap(), Some(StreamItem::Ping)));
        let event = r#"{"id":"$a","room":"!b","author":"c","kind":"room.message","content":{"body":"x"},"depth":4}"#;
        assert!(parser.line(": comment").unwrap().is_none());
        assert!(parser.line("event: event").unwrap().is_none());
        assert!(parser.line(&format!("data: {event}")).unwrap().is_none());
        assert!(parser.line("id: $a").unwrap().is_none());
        match parser.line("").unwrap() {
            Some(StreamItem::Event(e)) => assert_eq!(e.depth, 4),
            other => panic!("{other:?}"),
        }
        parser.line("event: lagged").unwrap();
        parser.line("data: {}").unwrap();
        assert_eq!(parser.line("").unwrap_err().reason(), "lagged");
        parser.line("event: event").unwrap();
        parser.line("data: not json").unwrap();
        assert_eq!(parser.line("").unwrap_err().reason(), "bad_response");
        let huge = "x".repeat(MAX_STREAM_DATA_BYTES);
        parser.line("event: event").unwrap();
        assert_eq!(
            parser.line(&format!("data: {huge}")).unwrap_err().reason(),
            "response_too_large"
        );
    }
}
