//! `causerie admin attest|contact`: the operator's acts on the accounts this node is the home
//! node of (specs/accountability.md §2.1, §3), over the operator API.
//!
//! - `admin attest --user KEY --level LEVEL`: a new attestation at that assurance level (`key`,
//!   `contact`, `identity`, `in_person`, or `0` to `3`); the user's next events name it.
//! - `admin revoke --user KEY [--reason CODE] [--note TEXT] [--out FILE]`: a signed revocation of
//!   every attestation this node issued for the user up to now, in force here and sent to peers;
//!   `--out` writes the statement (`causerie verify FILE` checks it offline).
//! - `admin contact --user KEY [--set VALUE] [--verified | --unverified]`: records contact data
//!   the operator obtained and/or marks it verified by the operator.

use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::Assurance;
use causerie_crypto::revocation::{Revocation, RevocationReason};
use serde_json::{Value as JsonValue, json};

use super::admin::Admin;
use super::{Context, printable, refused};

/// `causerie admin attest`.
#[derive(Debug, clap::Args)]
pub(crate) struct AttestArgs {
    /// The user: key, or handle of an account on this node (@alice).
    #[arg(long)]
    user: String,
    /// The assurance level: key (0), contact (1), identity (2) or in_person (3).
    #[arg(long)]
    level: String,
}

/// `causerie admin contact`.
#[derive(Debug, clap::Args)]
pub(crate) struct ContactArgs {
    /// The user: key, or handle of an account on this node (@alice).
    #[arg(long)]
    user: String,
    /// Record this contact data (e.g. an email address), replacing what the record held.
    #[arg(long, value_name = "VALUE")]
    set: Option<String>,
    /// Mark the contact data verified by the operator.
    #[arg(long, conflicts_with = "unverified")]
    verified: bool,
    /// Mark the contact data not verified.
    #[arg(long)]
    unverified: bool,
}

/// `causerie admin revoke`.
#[derive(Debug, clap::Args)]
pub(crate) struct RevokeArgs {
    /// The user: key, or handle of an account on this node (@alice).
    #[arg(long)]
    user: String,
    /// Why (public, in the statement): key_compromised, abuse, false_identity, user_request or
    /// other.
    #[arg(long, default_value = "other")]
    reason: String,
    /// The operator's words, kept in the audit log only (at most 500 bytes).
    #[arg(long)]
    note: Option<String>,
    /// Write the signed statement (CBOR) to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
}

/// Runs `admin revoke`.
pub(crate) async fn revoke(cx: &Context, admin: &Admin, args: RevokeArgs) -> Result<ExitCode> {
    let user = admin.user(&args.user).await?;
    let reason = RevocationReason::parse(&args.reason).map_err(|e| {
        refused(
            e.reason(),
            "--reason: key_compromised, abuse, false_identity, user_request or other",
        )
    })?;
    let mut body = json!({ "reason": reason.name() });
    if let Some(note) = args.note {
        body["note"] = note.into();
    }
    let answer: JsonValue = admin
        .post(&format!("/admin/users/{user}/revoke"), body)
        .await?;
    // Check what the node signed before saying it is done.
    let bytes = hex::decode(answer["revocation"]["bytes"].as_str().unwrap_or_default())
        .map_err(|_| refused("bad_response", "the node's revocation is not hex"))?;
    let revocation = Revocation::decode(&bytes).map_err(|e| refused(e.reason(), e.to_string()))?;
    if revocation.subject() != &user || revocation.reason() != reason {
        return Err(refused(
            "bad_response",
            "the node signed another revocation than asked",
        ));
    }
    if let Some(out) = &args.out {
        std::fs::write(out, &bytes)?;
    }
    cx.out.print(answer.clone(), || {
        format!(
            "revoked every attestation this node issued for {user} (from {} ms, reason {}): \
             statement {} (audit entry {}){}",
            revocation.revoked_ms(),
            reason.name(),
            revocation.id().to_hex(),
            answer["seq"],
            args.out
                .as_ref()
                .map(|p| format!("; written to {}", p.display()))
                .unwrap_or_default()
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// Runs `admin attest`.
pub(crate) async fn attest(cx: &Context, admin: &Admin, args: AttestArgs) -> Result<ExitCode> {
    let user = admin.user(&args.user).await?;
    let level = Assurance::parse(&args.level).ok_or_else(|| {
        refused(
            "unknown_assurance_level",
            "--level: key (0), contact (1), identity (2) or in_person (3)",
        )
    })?;
    let answer: JsonValue = admin
        .post(
            &format!("/admin/users/{user}/attest"),
            json!({ "level": level.name() }),
        )
        .await?;
    cx.out.print(answer.clone(), || {
        let attestation = &answer["attestation"];
        format!(
            "attested {user} as {} at assurance {}: attestation {} (audit entry {})",
            printable(attestation["handle"].as_str().unwrap_or_default()),
            printable(attestation["assurance_name"].as_str().unwrap_or_default()),
            printable(attestation["id"].as_str().unwrap_or_default()),
            answer["seq"]
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// Runs `admin contact`.
pub(crate) async fn contact(cx: &Context, admin: &Admin, args: ContactArgs) -> Result<ExitCode> {
    let user = admin.user(&args.user).await?;
    let mut body = json!({});
    if let Some(value) = args.set {
        body["value"] = value.into();
    }
    if args.verified || args.unverified {
        body["verified"] = args.verified.into();
    }
    if body.as_object().is_some_and(serde_json::Map::is_empty) {
        return Err(refused(
            "bad_request",
            "give --set VALUE, --verified or --unverified",
        ));
    }
    let answer: JsonValue = admin
        .post(&format!("/admin/users/{user}/contact"), body)
        .await?;
    cx.out.print(answer.clone(), || {
        let contact = &answer["contact"];
        format!(
            "contact of {user}: {} ({}) (audit entry {})",
            printable(contact["value"].as_str().unwrap_or_default()),
            if contact["verified"] == true {
                "verified by the operator"
            } else {
                "not verified"
            },
            answer["seq"]
        )
    });
    Ok(ExitCode::SUCCESS)
}
