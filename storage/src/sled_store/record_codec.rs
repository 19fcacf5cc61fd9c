//! The event record inside a chunk, byte by byte (layout in the parent module's header), and the
//! checks on reading one back: a record re-decodes and hashes to the id its entry names; an
//! attestation re-verifies.

use std::collections::BTreeSet;

use causerie_crypto::{Attestation, AttestationId, Event, EventId, Hash32};

use super::{ID_LEN, fixed};
use crate::error::StoreError;
use crate::record::{EventStatus, StoredEvent};
use crate::state::SnapshotId;

/// Event record format byte.
const RECORD_FORMAT: u8 = 1;
const FLAG_STATE_BEFORE: u8 = 1;
const STATUS_ACCEPTED: u8 = 1;
const STATUS_SOFT_FAILED: u8 = 2;
const STATUS_REJECTED: u8 = 3;
const STATUS_OUTLIER: u8 = 4;

pub(super) fn encode_record(record: &StoredEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(record));
    encode_record_into(&mut out, record);
    out
}

/// Length of [`encode_record_into`]'s output, so a chunk can be laid out before encoding.
pub(super) fn encoded_len(record: &StoredEvent) -> usize {
    let state = if record.state_before.is_some() {
        ID_LEN
    } else {
        0
    };
    let status = match &record.status {
        EventStatus::Accepted | EventStatus::SoftFailed => 0,
        EventStatus::Rejected { reason } => 1 + reason.len(),
        EventStatus::Outlier { missing } => 1 + ID_LEN * missing.len(),
    };
    3 + state + status + record.event.as_bytes().len()
}

pub(super) fn encode_record_into(out: &mut Vec<u8>, record: &StoredEvent) {
    out.push(RECORD_FORMAT);
    match &record.state_before {
        Some(id) => {
            out.push(FLAG_STATE_BEFORE);
            out.extend_from_slice(id.as_bytes());
        }
        None => out.push(0),
    }
    // Lengths fit a byte: EventStatus::check bounds reasons to 64 bytes and missing lists to 30.
    match &record.status {
        EventStatus::Accepted => out.push(STATUS_ACCEPTED),
        EventStatus::SoftFailed => out.push(STATUS_SOFT_FAILED),
        EventStatus::Rejected { reason } => {
            out.push(STATUS_REJECTED);
            out.push(reason.len() as u8);
            out.extend_from_slice(reason.as_bytes());
        }
        EventStatus::Outlier { missing } => {
            out.push(STATUS_OUTLIER);
            out.push(missing.len() as u8);
            for id in missing {
                out.extend_from_slice(id.as_bytes());
            }
        }
    }
    out.extend_from_slice(record.event.as_bytes());
}

/// A cursor over a record value that reports truncation as corruption.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.bytes.len() < n {
            return Err(StoreError::corrupt("event record", "truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn byte(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }
    fn id(&mut self) -> Result<Hash32, StoreError> {
        Ok(Hash32(fixed(self.take(ID_LEN)?, "event record")?))
    }
}

/// Decodes the record header: state pointer, status, and the event bytes that follow.
pub(super) fn decode_header(
    value: &[u8],
) -> Result<(Option<SnapshotId>, EventStatus, &[u8]), StoreError> {
    let mut reader = Reader { bytes: value };
    if reader.byte()? != RECORD_FORMAT {
        return Err(StoreError::corrupt("event record", "unknown format"));
    }
    let state_before = match reader.byte()? {
        0 => None,
        FLAG_STATE_BEFORE => Some(SnapshotId(reader.id()?)),
        _ => return Err(StoreError::corrupt("event record", "unknown flags")),
    };
    let status = match reader.byte()? {
        STATUS_ACCEPTED => EventStatus::Accepted,
        STATUS_SOFT_FAILED => EventStatus::SoftFailed,
        STATUS_REJECTED => {
            let len = usize::from(reader.byte()?);
            let reason = std::str::from_utf8(reader.take(len)?)
                .map_err(|_| StoreError::corrupt("event record", "reason not utf-8"))?;
            EventStatus::rejected(reason)
        }
        STATUS_OUTLIER => {
            let count = usize::from(reader.byte()?);
            let mut missing = BTreeSet::new();
            for _ in 0..count {
                missing.insert(EventId(reader.id()?));
            }
            EventStatus::Outlier { missing }
        }
        _ => return Err(StoreError::corrupt("event record", "unknown status")),
    };
    Ok((state_before, status, reader.bytes))
}

pub(super) fn decode_record(id: &EventId, value: &[u8]) -> Result<StoredEvent, StoreError> {
    let (state_before, status, bytes) = decode_header(value)?;
    let event = Event::decode_trusted(bytes).map_err(|e| StoreError::corrupt_event(&e))?;
    if event.id() != *id {
        return Err(StoreError::corrupt(
            "event record",
            format!("stored under {id}, hashes to {}", event.id()),
        ));
    }
    Ok(StoredEvent {
        event,
        status,
        state_before,
    })
}

pub(super) fn decode_attestation(
    id: &AttestationId,
    value: &[u8],
) -> Result<Attestation, StoreError> {
    let attestation =
        Attestation::decode(value).map_err(|e| StoreError::corrupt("attestation", e.reason()))?;
    if attestation.id() != *id {
        return Err(StoreError::corrupt("attestation", "id mismatch"));
    }
    Ok(attestation)
}
