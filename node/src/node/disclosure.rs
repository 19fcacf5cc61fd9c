//! Lawful disclosure (specs/accountability.md §5) and transparency counts (§6), both on
//! [`Audit`]: a disclosure is built from the store, signed with the node key and recorded in
//! the audit log; the counts are read back from the log.

use std::collections::BTreeMap;

use causerie_crypto::audit::{AuditEntry, AuditKind};
use causerie_crypto::disclosure::{
    Disclosure, DisclosureDraft, MAX_BUNDLE_ATTESTATIONS, MAX_BUNDLE_EVENT_BYTES, MAX_BUNDLE_EVENTS,
};
use causerie_crypto::{Event, UserKey, codec};
use causerie_storage::{MAX_AUDIT_PAGE, MAX_PAGE_LEN};
use serde::Serialize;

use super::{Audit, NodeError, details};
use crate::clock::now_ms;
use crate::records::RetentionPolicy;
use crate::records::retention::sweep;

/// Most audit entries one transparency count reads (the log's first ones).
pub const MAX_TRANSPARENCY_SCAN: u64 = 1 << 20;

/// A disclosure made: the bundle and the audit entry that records it.
#[derive(Debug, Clone)]
pub struct Disclosed {
    /// The signed bundle.
    pub bundle: Disclosure,
    /// The seq of its `disclosure` audit entry.
    pub seq: u64,
}

impl Audit {
    /// Builds, signs and records a disclosure bundle about `user` for `request_ref`: the
    /// registration record within retention (what the store holds, less any field `policy`
    /// says has expired but the sweeper has not removed yet; canonical CBOR), every
    /// event by `user` this node stores (full signed bytes, whatever their status, up to
    /// `MAX_BUNDLE_EVENTS` / `MAX_BUNDLE_EVENT_BYTES`; `complete: false` beyond), and the
    /// user's attestations this node holds. The audit entry (`disclosure`, subject the user
    /// key) names the request, the bundle's hash and its counts.
    pub async fn disclose(
        &self,
        user: UserKey,
        request_ref: String,
        policy: RetentionPolicy,
    ) -> Result<Disclosed, NodeError> {
        let secret = self.secret.clone();
        let bundle = self
            .store
            .run(move |store| {
                let mut events: Vec<Event> = Vec::new();
                let mut bytes = 0usize;
                let mut complete = true;
                let mut after = None;
                'pages: loop {
                    let page = store.events_by_author(&user, after, MAX_PAGE_LEN)?;
                    let Some(last) = page.last() else { break };
                    after = Some(*last);
                    for (_, id) in &page {
                        let Some(stored) = store.event(id)? else {
                            continue;
                        };
                        let size = stored.event.as_bytes().len();
                        if events.len() >= MAX_BUNDLE_EVENTS
                            || bytes + size > MAX_BUNDLE_EVENT_BYTES
                        {
                            complete = false;
                            break 'pages;
                        }
                        bytes += size;
                        events.push(stored.event);
                    }
                }
                let attestations = store.attestations_for(&user, None, MAX_BUNDLE_ATTESTATIONS)?;
                let now = now_ms();
                let record = match store.record(&user)? {
                    Some(record) => match sweep(&record, &policy, now).0 {
                        Some(kept) => {
                            Some(codec::encode(&kept).map_err(|e| NodeError::Store(e.into()))?)
                        }
                        None => None,
                    },
                    None => None,
                };
                Ok(DisclosureDraft {
                    user,
                    request_ref,
                    at_ms: now,
                    events,
                    attestations,
                    record,
                    complete,
                }
                .sign(&secret)?)
            })
            .await?;
        let events = bundle.events().len().to_string();
        let attestations = bundle.attestations().len().to_string();
        let hash = bundle.hash().to_hex();
        let seq = self
            .append(
                AuditKind::Disclosure,
                bundle.user().to_string(),
                details([
                    ("request_ref", bundle.request_ref()),
                    ("bundle_sha256", &hash),
                    ("events", &events),
                    ("attestations", &attestations),
                    ("complete", if bundle.complete() { "true" } else { "false" }),
                ]),
            )
            .await?;
        Ok(Disclosed { bundle, seq })
    }

    /// Transparency counts per `period` over the log's first [`MAX_TRANSPARENCY_SCAN`]
    /// entries; also how many entries were read and whether that was all of them.
    pub async fn transparency(
        &self,
        period: TransparencyPeriod,
    ) -> Result<(Vec<PeriodCounts>, u64, bool), NodeError> {
        let mut counts = BTreeMap::new();
        let mut after = 0;
        loop {
            if after >= MAX_TRANSPARENCY_SCAN {
                let tip = self.tip().await?;
                return Ok((counts.into_values().collect(), after, tip.seq <= after));
            }
            let page = self.entries(after, MAX_AUDIT_PAGE).await?;
            let Some(last) = page.last() else {
                return Ok((counts.into_values().collect(), after, true));
            };
            after = last.seq();
            for entry in &page {
                count_entry(&mut counts, entry, period);
            }
        }
    }
}

/// How long a transparency period is (calendar periods in UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransparencyPeriod {
    /// `YYYY-MM-DD`.
    Day,
    /// `YYYY-MM`.
    Month,
    /// `YYYY`.
    Year,
}

impl TransparencyPeriod {
    /// From its name (`day`, `month`, `year`).
    pub fn parse(name: &str) -> Option<TransparencyPeriod> {
        match name {
            "day" => Some(TransparencyPeriod::Day),
            "month" => Some(TransparencyPeriod::Month),
            "year" => Some(TransparencyPeriod::Year),
            _ => None,
        }
    }

    /// The label of the period holding `at_ms` (UTC).
    pub fn label(self, at_ms: u64) -> String {
        let (year, month, day) = civil_from_days((at_ms / 86_400_000) as i64);
        match self {
            TransparencyPeriod::Day => format!("{year:04}-{month:02}-{day:02}"),
            TransparencyPeriod::Month => format!("{year:04}-{month:02}"),
            TransparencyPeriod::Year => format!("{year:04}"),
        }
    }
}

/// The counts of one period (specs/accountability.md §6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeriodCounts {
    /// Its label (`2026-12`).
    pub period: String,
    /// `request_received` entries.
    pub requests_received: u64,
    /// `disclosure` entries.
    pub requests_answered: u64,
    /// `disclosure_refused` entries.
    pub requests_refused: u64,
    /// `report_received` entries.
    pub reports_received: u64,
    /// `report_actioned` entries.
    pub reports_actioned: u64,
    /// `report_dismissed` entries.
    pub reports_dismissed: u64,
}

/// The counter of `kind` in `counts`, if the counts have one.
fn counter(counts: &mut PeriodCounts, kind: AuditKind) -> Option<&mut u64> {
    match kind {
        AuditKind::RequestReceived => Some(&mut counts.requests_received),
        AuditKind::Disclosure => Some(&mut counts.requests_answered),
        AuditKind::DisclosureRefused => Some(&mut counts.requests_refused),
        AuditKind::ReportReceived => Some(&mut counts.reports_received),
        AuditKind::ReportActioned => Some(&mut counts.reports_actioned),
        AuditKind::ReportDismissed => Some(&mut counts.reports_dismissed),
        _ => None,
    }
}

fn count_entry(
    counts: &mut BTreeMap<String, PeriodCounts>,
    entry: &AuditEntry,
    period: TransparencyPeriod,
) {
    let Some(kind) = entry.kind() else { return };
    if counter(&mut PeriodCounts::default(), kind).is_none() {
        return;
    }
    let label = period.label(entry.at_ms());
    let slot = counts.entry(label.clone()).or_insert_with(|| PeriodCounts {
        period: label,
        ..PeriodCounts::default()
    });
    if let Some(count) = counter(slot, kind) {
        *count += 1;
    }
}

/// Transparency counts per period of `entries`, oldest period first; periods with nothing
/// counted are left out.
pub fn count_periods(entries: &[AuditEntry], period: TransparencyPeriod) -> Vec<PeriodCounts> {
    let mut counts = BTreeMap::new();
    for entry in entries {
        count_entry(&mut counts, entry, period);
    }
    counts.into_values().collect()
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian, UTC).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_calendar_labels() {
        let p = TransparencyPeriod::Day;
        assert_eq!(p.label(0), "1970-01-01");
        assert_eq!(p.label(951_782_400_000), "2000-02-29");
        assert_eq!(p.label(1_798_761_599_999), "2026-12-31");
        assert_eq!(
            TransparencyPeriod::Month.label(1_798_761_600_000),
            "2027-01"
        );
        assert_eq!(TransparencyPeriod::Year.label(1_798_761_599_999), "2026");
    }
}
