//! `causerie verify FILE`: offline checks of signed files (specs/accountability.md §5.4), with no
//! node and no network.
//!
//! Typed containers name their format in a top-level `type` field: `audit_export` (§4.5) and
//! `disclosure` (§5.3); an unknown `type` is refused `unknown_type`. Files without one are tried
//! as each untyped format in turn: an event (specs/events.md), an attestation
//! (specs/identity.md), an abuse report and a receipt (§1), and an attestation revocation (§3).
//! Their field sets differ, so at most one decodes; when none does, the reason shown is that of
//! the first format whose decoder got past "not this structure" (`malformed_cbor`), else the
//! event's. A new typed format adds an arm to [`verify`]'s `match`; a new untyped one, an entry
//! to [`UNTYPED`].

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::report::{Receipt, Report};
use causerie_crypto::{Attestation, Event};
use serde_json::{Value as JsonValue, json};

use super::{EXIT_REFUSED, Output, printable};

/// Largest file `verify` reads: an audit export's cap (each format then applies its own).
const VERIFY_FILE_MAX_BYTES: u64 = causerie_crypto::audit::MAX_EXPORT_BYTES as u64;

/// The `type` field of a typed container; events, attestations, reports and receipts have none.
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// The container type of `bytes`, if they are a CBOR map with a text `type`.
fn container_type(bytes: &[u8]) -> Option<String> {
    causerie_crypto::codec::decode::<Probe>(bytes, VERIFY_FILE_MAX_BYTES as usize)
        .ok()
        .and_then(|p| p.kind)
}

/// What one untyped format says about some bytes: its summary (JSON, text) or its refusal
/// (reason, detail).
type Checked = Result<(JsonValue, String), (&'static str, String)>;

/// The untyped formats, in the order they are tried.
const UNTYPED: [fn(&[u8]) -> Checked; 5] = [event, attestation, report, receipt, revocation];

/// The text verdict on a valid file: `title`, then one `label  value` line a row, the values
/// lined up two spaces after the longest label.
fn summary(title: String, rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    let mut text = title;
    for (label, value) in rows {
        text.push_str(&format!("\n  {label:<width$}  {value}"));
    }
    text
}

fn event(bytes: &[u8]) -> Checked {
    let event = Event::decode(bytes).map_err(|e| (e.reason(), e.to_string()))?;
    let json = json!({
        "valid": true,
        "type": "event",
        "event_id": event.id().to_string(),
        "room_id": event.room_id().to_string(),
        "author": event.author().to_string(),
        "kind": event.kind(),
        "state_key": event.state_key(),
        "depth": event.depth(),
        "origin_ts": event.origin_ts(),
        "attestation": event.attestation().to_string(),
        "redacted": event.is_redacted(),
    });
    let mut text = summary(
        format!("valid event {}", event.id()),
        &[
            ("room", event.room_id().to_string()),
            ("author", event.author().to_string()),
            ("kind", event.kind().to_string()),
            ("depth", event.depth().to_string()),
        ],
    );
    if event.is_redacted() {
        text.push_str("\n  (redacted)");
    }
    Ok((json, text))
}

fn attestation(bytes: &[u8]) -> Checked {
    let att = Attestation::decode(bytes).map_err(|e| (e.reason(), e.to_string()))?;
    let json = json!({
        "valid": true,
        "type": "attestation",
        "attestation_id": att.id().to_string(),
        "user": att.user().to_string(),
        "handle": att.handle(),
        "assurance": att.assurance().name(),
        "home_node": att.home_node().to_string(),
        "not_before": att.not_before(),
        "not_after": att.not_after(),
    });
    let text = summary(
        format!("valid attestation {}", att.id()),
        &[
            ("user", att.user().to_string()),
            ("handle", att.handle().to_string()),
            ("assurance", att.assurance().name().to_string()),
            ("home node", att.home_node().to_string()),
        ],
    );
    Ok((json, text))
}

fn revocation(bytes: &[u8]) -> Checked {
    let revocation =
        causerie_crypto::Revocation::decode(bytes).map_err(|e| (e.reason(), e.to_string()))?;
    let json = json!({
        "valid": true,
        "type": "revocation",
        "revocation_id": revocation.id().to_hex(),
        "issuer": revocation.issuer().to_string(),
        "subject": revocation.subject().to_string(),
        "revoked_ms": revocation.revoked_ms(),
        "reason": revocation.reason().name(),
    });
    let text = summary(
        format!("valid revocation {}", revocation.id().to_hex()),
        &[
            ("issuer", revocation.issuer().to_string()),
            ("subject", revocation.subject().to_string()),
            ("from (ms)", revocation.revoked_ms().to_string()),
            ("reason", revocation.reason().name().to_string()),
        ],
    );
    Ok((json, text))
}

fn report(bytes: &[u8]) -> Checked {
    let report = Report::decode(bytes).map_err(|e| (e.reason(), e.to_string()))?;
    let events: Vec<String> = report.events().iter().map(|e| e.id().to_string()).collect();
    let json = json!({
        "valid": true,
        "type": "report",
        "report_id": report.id().to_string(),
        "target": report.target().name(),
        "category": report.category().name(),
        "text": report.text(),
        "room": report.room().map(|r| r.to_string()),
        "user": report.user().map(|u| u.to_string()),
        "events": events,
        "reporter": report.reporter().to_string(),
        "reporter_node": report.reporter_node().to_string(),
        "created_ms": report.created_ms(),
    });
    let text = summary(
        format!("valid report {}", report.id()),
        &[
            ("category", report.category().name().to_string()),
            ("target", report.target().name().to_string()),
            ("reporter", report.reporter().to_string()),
            (
                "events",
                format!("{} (each signed by its author)", report.events().len()),
            ),
        ],
    );
    Ok((json, text))
}

fn receipt(bytes: &[u8]) -> Checked {
    let receipt = Receipt::decode(bytes).map_err(|e| (e.reason(), e.to_string()))?;
    let json = json!({
        "valid": true,
        "type": "receipt",
        "node": receipt.node().to_string(),
        "report_id": receipt.report().to_string(),
        "reporter": receipt.reporter().to_string(),
        "queue": receipt.queue().name(),
        "status": receipt.status().name(),
        "note": receipt.note(),
        "at_ms": receipt.at_ms(),
    });
    let text = summary(
        format!("valid receipt for report {}", receipt.report()),
        &[
            ("node", receipt.node().to_string()),
            ("queue", receipt.queue().name().to_string()),
            ("status", receipt.status().name().to_string()),
        ],
    );
    Ok((json, text))
}

/// Prints the verdict on a file that does not verify: its reason and the error's detail.
pub(super) fn invalid(out: &Output, reason: &str, detail: &str) -> ExitCode {
    out.print(
        json!({ "valid": false, "reason": reason, "detail": detail }),
        || format!("invalid: {reason} ({})", printable(detail)),
    );
    ExitCode::from(EXIT_REFUSED)
}

/// `causerie verify FILE` (`-`: standard input).
pub(crate) fn verify(path: &Path, out: &Output) -> Result<ExitCode> {
    let bytes = super::node::read_capped(path, VERIFY_FILE_MAX_BYTES)?;
    if bytes.len() as u64 > VERIFY_FILE_MAX_BYTES {
        return Ok(invalid(
            out,
            "too_large",
            &format!("larger than {VERIFY_FILE_MAX_BYTES} bytes"),
        ));
    }
    if let Some(kind) = container_type(&bytes) {
        return Ok(match kind.as_str() {
            causerie_crypto::audit::EXPORT_TYPE => super::admin::print_verified(out, &bytes, None),
            causerie_crypto::disclosure::BUNDLE_TYPE => super::admin::print_disclosure(out, &bytes),
            _ => invalid(out, "unknown_type", &kind),
        });
    }
    let mut first_error = None;
    let mut structural_error = None;
    for check in UNTYPED {
        match check(&bytes) {
            Ok((json, text)) => {
                out.print(json, || text);
                return Ok(ExitCode::SUCCESS);
            }
            Err(error) => {
                if structural_error.is_none() && error.0 != "malformed_cbor" {
                    structural_error = Some(error.clone());
                }
                first_error.get_or_insert(error);
            }
        }
    }
    let (reason, detail) = structural_error
        .or(first_error)
        .unwrap_or(("malformed_cbor", String::new()));
    Ok(invalid(out, reason, &detail))
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn summary_lines_values_up_after_the_longest_label() {
        let text = summary(
            "valid receipt for report 1".into(),
            &[("node", "ab".into()), ("status", "actioned".into())],
        );
        assert_eq!(
            text,
            "valid receipt for report 1\n  node    ab\n  status  actioned"
        );
    }
}
