//! `causerie admin`: the node operator's commands, over the operator API
//! (specs/accountability.md §4.6) with the operator token read from the node's data directory
//! (`--data-dir`, default `./causerie-data`), a config file's `[operator] token_file`
//! (`--config`), or `--token-file`.
//!
//! - `admin audit list|head|export|verify`: the audit log (§4).
//! - `admin reports`: the report queue (§1.4), in `cli/admin_reports.rs`.
//! - `admin request`, `admin refuse`: records a lawful request as received or refused (§5).
//! - `admin disclose`: a signed disclosure bundle about one user, written to a file (§5).
//! - `admin transparency`: counts per period from the audit log (§6).
//! - `admin attest`, `admin revoke`, `admin contact`: a user's assurance level, revocation and
//!   contact data (§2.1, §3), in `cli/admin_accounts.rs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use causerie_crypto::UserKey;
use causerie_crypto::audit::{
    AuditEntry, AuditExport, AuditHead, MAX_AUDIT_HEAD_BYTES, MAX_EXPORT_BYTES, MAX_EXPORT_ENTRIES,
    encode_export, verify_export, verify_extends,
};
use causerie_crypto::disclosure::Disclosure;
use causerie_node::api::operator::OperatorToken;
use causerie_node::client::{Client, UserRef};
use causerie_node::config::{Config, Overrides};
use causerie_storage::MAX_AUDIT_PAGE;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};
use zeroize::Zeroizing;

use super::{Context, Output, printable, refused};

/// Where the operator token comes from.
#[derive(Debug, clap::Args)]
pub(crate) struct AdminArgs {
    /// The node's data directory (its `operator.token`; default ./causerie-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The node's config file (its `[operator] token_file` or `data_dir`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The operator token file itself.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data_dir", "config"])]
    token_file: Option<PathBuf>,
    #[command(subcommand)]
    command: AdminCommand,
}

/// `causerie admin` subcommands.
#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// The audit log: list, signed head, export, verify.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The report queue: list, show (evidence verified), action, dismiss; reporters, mute.
    #[command(subcommand)]
    Reports(super::admin_reports::ReportsCommand),
    /// Record a lawful request as received (an audit entry `request_received`).
    Request {
        /// The request's reference (the authority's file number).
        #[arg(long)]
        request_ref: String,
        /// The user the request is about: key, or handle of an account here (@alice).
        #[arg(long)]
        user: Option<String>,
        /// Who sent it.
        #[arg(long)]
        authority: Option<String>,
    },
    /// Record a lawful request as refused (an audit entry `disclosure_refused`).
    Refuse {
        /// The request's reference.
        #[arg(long)]
        request_ref: String,
        /// The user the request is about: key, or handle of an account here (@alice).
        #[arg(long)]
        user: Option<String>,
        /// Why it was refused.
        #[arg(long)]
        reason: String,
    },
    /// Produce a signed disclosure bundle about a user for a lawful request (recorded in the
    /// audit log) and write it to a file; `causerie verify FILE` checks it offline.
    Disclose {
        /// The user: key, or handle of an account here (@alice).
        #[arg(long)]
        user: String,
        /// The request's reference.
        #[arg(long)]
        request_ref: String,
        /// The file to write (CBOR; default disclosure-<REF>.cbor).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Issue a new attestation of a user at an assurance level (an audit entry
    /// `attestation_issued`); the user's next events name it.
    Attest(super::admin_accounts::AttestArgs),
    /// Revoke every attestation this node issued for a user up to now (a signed statement sent
    /// to peers; an audit entry `attestation_revoked`): rooms refuse the user's new events.
    Revoke(super::admin_accounts::RevokeArgs),
    /// Record a user's contact data and/or mark it verified by the operator (an audit entry
    /// `operator_action`).
    Contact(super::admin_accounts::ContactArgs),
    /// Write a backup of the running node's store and node key to a new file FILE (mode 0600;
    /// it holds the node key: keep it secret). The node writes it, on its own machine.
    Backup {
        /// The file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Rebuild a data directory from a backup file, offline (no node, no token needed);
    /// `causerie run --data-dir DIR` then serves it.
    Restore {
        /// The backup file.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The data directory to create (must not exist or be empty).
        #[arg(long = "data-dir", value_name = "DIR")]
        target: PathBuf,
    },
    /// Check this machine for running the node (config read like `causerie run`; the node may
    /// run or not): data dir, disk, store, ports, reachability, clock, operator token. Exit 1
    /// if a check fails.
    Doctor(super::doctor::DoctorArgs),
    /// The room aliases this node gives (`#name:<server>`); with --remove, take one away,
    /// whoever set it (the next directory announcement no longer carries it).
    Aliases {
        /// The alias to remove (`#name:<server>` or `name`).
        #[arg(long, value_name = "ALIAS")]
        remove: Option<String>,
    },
    /// Counts per period from the audit log, for a public transparency report: requests
    /// received, answered, refused; reports received, actioned, dismissed.
    Transparency {
        /// day, month or year (UTC calendar periods).
        #[arg(long, default_value = "month", value_parser = ["day", "month", "year"])]
        period: String,
    },
}

/// `causerie admin audit` subcommands.
#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// List entries, oldest first.
    List {
        /// Start after this seq.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// How many entries at most.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=MAX_AUDIT_PAGE as u64))]
        limit: u64,
    },
    /// Print a head signed now (its seq and hash name the last entry); --out writes its bytes.
    Head {
        /// Write the signed head (CBOR) to this file, to publish or keep.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write the log (from entry 1, or a tail from --from) with a signed head to a file.
    Export {
        /// The file to write (CBOR).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// First entry to include.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        from: u64,
    },
    /// Verify an exported log offline (or, without FILE, the node's log as it serves it):
    /// every entry's signature, the chain, the head; with --head, that the log extends an
    /// older signed head.
    Verify {
        /// An export written by `admin audit export`.
        file: Option<PathBuf>,
        /// An older signed head (from `admin audit head --out`) the log must extend.
        #[arg(long, value_name = "FILE")]
        head: Option<PathBuf>,
    },
}

/// The operator token for these flags.
fn token(args: &AdminArgs) -> Result<Zeroizing<String>> {
    let path = match &args.token_file {
        Some(path) => path.clone(),
        None => {
            let overrides = Overrides {
                data_dir: args.data_dir.clone(),
                ..Overrides::default()
            };
            Config::load(args.config.as_deref(), overrides)?.operator_token_path()
        }
    };
    if !path.exists() {
        return Err(refused(
            "no_operator_token",
            format!(
                "no operator token at {}; the node writes it at first start (pass --data-dir or --token-file)",
                path.display()
            ),
        ));
    }
    let token = OperatorToken::read(&path).map_err(|e| refused(e.reason(), format!("{e}")))?;
    Ok(token.to_hex())
}

/// Runs `causerie admin`.
pub(crate) async fn run(cx: &Context, args: AdminArgs) -> Result<ExitCode> {
    // Restore is offline: no node, no token.
    if let AdminCommand::Restore { from, target } = &args.command {
        return super::ops::restore(cx, from, target);
    }
    // So is the doctor: it reads the config, and asks a running node what anyone may.
    if let AdminCommand::Doctor(doctor) = args.command {
        return super::doctor::run(cx, doctor).await;
    }
    let token = token(&args)?;
    let admin = Admin {
        client: cx.client()?,
        token,
    };
    match args.command {
        AdminCommand::Audit(command) => audit(cx, &admin, command).await,
        AdminCommand::Reports(command) => super::admin_reports::run(cx, &admin, command).await,
        AdminCommand::Request {
            request_ref,
            user,
            authority,
        } => {
            let mut body = json!({ "request_ref": request_ref });
            if let Some(authority) = authority {
                body["authority"] = authority.into();
            }
            record(cx, &admin, "/admin/requests", body, user, "request").await
        }
        AdminCommand::Refuse {
            request_ref,
            user,
            reason,
        } => {
            let body = json!({ "request_ref": request_ref, "reason": reason });
            record(cx, &admin, "/admin/refuse", body, user, "refusal").await
        }
        AdminCommand::Disclose {
            user,
            request_ref,
            out,
        } => disclose(cx, &admin, &user, &request_ref, out).await,
        AdminCommand::Attest(args) => super::admin_accounts::attest(cx, &admin, args).await,
        AdminCommand::Revoke(args) => super::admin_accounts::revoke(cx, &admin, args).await,
        AdminCommand::Contact(args) => super::admin_accounts::contact(cx, &admin, args).await,
        AdminCommand::Backup { out } => super::ops::backup(cx, &admin, &out).await,
        AdminCommand::Restore { from, target } => super::ops::restore(cx, &from, &target),
        AdminCommand::Doctor(doctor) => super::doctor::run(cx, doctor).await,
        AdminCommand::Aliases { remove } => aliases(cx, &admin, remove.as_deref()).await,
        AdminCommand::Transparency { period } => {
            let answer: JsonValue = admin
                .get(&format!("/admin/transparency?period={period}"))
                .await?;
            cx.out.print(answer.clone(), || transparency_text(&answer));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `causerie admin aliases [--remove ALIAS]`.
async fn aliases(cx: &Context, admin: &Admin, remove: Option<&str>) -> Result<ExitCode> {
    if let Some(alias) = remove {
        // The alias is checked by the node; keep it from reaching another path.
        if alias.contains(['/', '?', '%']) {
            return Err(refused("bad_alias", format!("{alias:?} is not an alias")));
        }
        // Without its `#`, which would start a URL fragment.
        let bare = alias.strip_prefix('#').unwrap_or(alias);
        let answer: JsonValue = admin.delete(&format!("/admin/aliases/{bare}")).await?;
        cx.out.print(answer.clone(), || {
            format!(
                "removed {} (it named {})",
                printable(answer["alias"].as_str().unwrap_or(alias)),
                answer["room"].as_str().unwrap_or("?")
            )
        });
        return Ok(ExitCode::SUCCESS);
    }
    let answer: JsonValue = admin.get("/admin/aliases").await?;
    cx.out.print(answer.clone(), || {
        let list = answer["aliases"].as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            return "this node gives no aliases".to_owned();
        }
        list.iter()
            .map(|a| {
                format!(
                    "{}  {}",
                    printable(a["alias"].as_str().unwrap_or("?")),
                    a["room"].as_str().unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(ExitCode::SUCCESS)
}

/// A client and the operator token.
pub(crate) struct Admin {
    client: Client,
    token: Zeroizing<String>,
}

impl Admin {
    /// GET an admin route.
    pub(crate) async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        Ok(self
            .client
            .admin_call(Method::GET, path, None, &self.token)
            .await?)
    }

    /// DELETE on an admin route.
    pub(crate) async fn delete<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        Ok(self
            .client
            .admin_call(Method::DELETE, path, None, &self.token)
            .await?)
    }

    /// The user USER names: a key (64 hex digits), or the handle of an account of this node
    /// (`@alice`; `404 unknown_handle` when there is none).
    pub(crate) async fn user(&self, text: &str) -> Result<UserKey> {
        #[derive(Deserialize)]
        struct Found {
            user: String,
        }
        match UserRef::parse(text)? {
            UserRef::Key(key) => Ok(key),
            UserRef::Handle(handle) => {
                let found: Found = self.get(&format!("/admin/handles/{handle}")).await?;
                Ok(causerie_crypto::address::parse_user(&found.user)?)
            }
        }
    }

    /// POST to an admin route.
    pub(crate) async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: JsonValue,
    ) -> Result<T> {
        Ok(self
            .client
            .admin_call(Method::POST, path, Some(body), &self.token)
            .await?)
    }
}

#[derive(Deserialize)]
struct SignedJson {
    bytes: String,
}

#[derive(Deserialize)]
struct AuditPage {
    entries: Vec<SignedJson>,
}

/// Posts a lawful request's record (`what`: `request` or `refusal`) to `path`, naming the user
/// if given, and prints the audit entry that records it.
async fn record(
    cx: &Context,
    admin: &Admin,
    path: &str,
    mut body: JsonValue,
    user: Option<String>,
    what: &str,
) -> Result<ExitCode> {
    if let Some(user) = user {
        body["user"] = admin.user(&user).await?.to_string().into();
    }
    let answer: JsonValue = admin.post(path, body).await?;
    cx.out.print(answer.clone(), || {
        format!("{what} recorded: audit entry {}", answer["seq"])
    });
    Ok(ExitCode::SUCCESS)
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    hex::decode(text).map_err(|_| {
        anyhow::Error::from(causerie_node::client::ClientError::BadResponse(
            "bytes that are not hex".into(),
        ))
    })
}

/// A head signed now, checked.
async fn fetch_head(admin: &Admin) -> Result<AuditHead> {
    let head: SignedJson = admin.get("/admin/audit/head").await?;
    AuditHead::decode(&unhex(&head.bytes)?).map_err(|e| refused(e.reason(), e.to_string()))
}

/// Entries after `after`, checked one by one (the chain is checked by the caller).
async fn fetch_entries(admin: &Admin, after: u64, limit: u64) -> Result<Vec<AuditEntry>> {
    let page: AuditPage = admin
        .get(&format!("/admin/audit?after={after}&limit={limit}"))
        .await?;
    page.entries
        .iter()
        .map(|e| {
            AuditEntry::decode(&unhex(&e.bytes)?).map_err(|e| refused(e.reason(), e.to_string()))
        })
        .collect()
}

/// The node's log from `from` up to a head fetched first, as an export's bytes.
async fn fetch_export(admin: &Admin, from: u64) -> Result<Vec<u8>> {
    let head = fetch_head(admin).await?;
    let mut entries: Vec<AuditEntry> = Vec::new();
    let mut after = from.saturating_sub(1);
    while after < head.seq() {
        if entries.len() >= MAX_EXPORT_ENTRIES {
            return Err(refused(
                "too_many_audit_entries",
                format!(
                    "more than {MAX_EXPORT_ENTRIES} entries; export a tail with --from {}",
                    head.seq().saturating_sub(MAX_EXPORT_ENTRIES as u64 - 1)
                ),
            ));
        }
        let want = (head.seq() - after).min(MAX_AUDIT_PAGE as u64);
        let page = fetch_entries(admin, after, want).await?;
        let Some(last) = page.last() else { break };
        after = last.seq();
        entries.extend(page.into_iter().filter(|e| e.seq() <= head.seq()));
    }
    encode_export(&entries, &head).map_err(|e| refused(e.reason(), e.to_string()))
}

fn read_file(path: &Path, max: usize) -> Result<Vec<u8>> {
    let bytes = super::node::read_capped(path, max as u64)?;
    if bytes.len() > max {
        return Err(refused(
            "too_large",
            format!("{} is larger than {max} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// What a verified export says, as JSON.
pub(crate) fn export_summary(export: &AuditExport) -> JsonValue {
    json!({
        "valid": true,
        "type": "audit_export",
        "node": export.head.node().to_string(),
        "entries": export.entries.len(),
        "first_seq": export.entries.first().map(AuditEntry::seq),
        "head_seq": export.head.seq(),
        "head_hash": export.head.hash().to_hex(),
        "head_at_ms": export.head.at_ms(),
        "complete": export.complete(),
    })
}

fn entry_line(entry: &AuditEntry) -> String {
    let details: Vec<String> = entry
        .details()
        .iter()
        .map(|(k, v)| format!("{k}={}", printable(v)))
        .collect();
    format!(
        "{:>6}  {}  {:<20} {} {}",
        entry.seq(),
        entry.at_ms(),
        entry.kind_name(),
        printable(entry.subject()),
        details.join(" ")
    )
}

async fn audit(cx: &Context, admin: &Admin, command: AuditCommand) -> Result<ExitCode> {
    let out = &cx.out;
    match command {
        AuditCommand::List { after, limit } => {
            let entries = fetch_entries(admin, after, limit).await?;
            if out.json() {
                for entry in &entries {
                    out.line(&causerie_node::api::admin::entry_json(entry).to_string());
                }
            } else if entries.is_empty() {
                out.text("no entries");
            } else {
                for entry in &entries {
                    out.text(&entry_line(entry));
                }
            }
        }
        AuditCommand::Head { out: file } => {
            let head = fetch_head(admin).await?;
            if let Some(file) = &file {
                std::fs::write(file, head.as_bytes())
                    .with_context(|| format!("writing {}", file.display()))?;
            }
            out.print(causerie_node::api::admin::head_json(&head), || {
                format!(
                    "audit head: seq {} hash {} at {} (node {})",
                    head.seq(),
                    head.hash(),
                    head.at_ms(),
                    head.node()
                )
            });
        }
        AuditCommand::Export { out: file, from } => {
            let bytes = fetch_export(admin, from).await?;
            let export = verify_export(&bytes).map_err(|e| refused(e.reason(), e.to_string()))?;
            std::fs::write(&file, &bytes).with_context(|| format!("writing {}", file.display()))?;
            out.print(export_summary(&export), || {
                format!(
                    "wrote {} entries (to seq {}) to {}",
                    export.entries.len(),
                    export.head.seq(),
                    file.display()
                )
            });
        }
        AuditCommand::Verify { file, head } => {
            let bytes = match &file {
                Some(path) => read_file(path, MAX_EXPORT_BYTES)?,
                None => fetch_export(admin, 1).await?,
            };
            let older = match &head {
                Some(path) => Some(
                    AuditHead::decode(&read_file(path, MAX_AUDIT_HEAD_BYTES)?)
                        .map_err(|e| refused(e.reason(), e.to_string()))?,
                ),
                None => None,
            };
            return Ok(print_verified(out, &bytes, older.as_ref()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Verifies an export (and that it extends `older`), prints the outcome, returns the exit code.
pub(crate) fn print_verified(out: &Output, bytes: &[u8], older: Option<&AuditHead>) -> ExitCode {
    let verified = verify_export(bytes).and_then(|export| {
        if let Some(older) = older {
            verify_extends(&export, older)?;
        }
        Ok(export)
    });
    match verified {
        Ok(export) => {
            let mut summary = export_summary(&export);
            if let Some(older) = older {
                summary["extends_head_seq"] = older.seq().into();
            }
            out.print(summary, || {
                let mut text = format!(
                    "valid audit log: {} entries, head seq {} hash {} (node {}){}",
                    export.entries.len(),
                    export.head.seq(),
                    export.head.hash(),
                    export.head.node(),
                    if export.complete() { "" } else { ", a tail" }
                );
                if let Some(older) = older {
                    text.push_str(&format!(
                        "\n  extends the older head at seq {}",
                        older.seq()
                    ));
                }
                text
            });
            ExitCode::SUCCESS
        }
        Err(err) => super::verify::invalid(out, err.reason(), &err.to_string()),
    }
}

#[derive(Deserialize)]
struct Disclosed {
    bundle: String,
    seq: u64,
}

/// A file name from a request reference: its letters, digits, `-` and `_`, the rest `_`.
fn bundle_file_name(request_ref: &str) -> PathBuf {
    let safe: String = request_ref
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("disclosure-{safe}.cbor"))
}

async fn disclose(
    cx: &Context,
    admin: &Admin,
    user: &str,
    request_ref: &str,
    out: Option<PathBuf>,
) -> Result<ExitCode> {
    let user = admin.user(user).await?;
    let answer: Disclosed = admin
        .post(
            "/admin/disclose",
            json!({ "user": user.to_string(), "request_ref": request_ref }),
        )
        .await?;
    let bytes = unhex(&answer.bundle)?;
    // Checked here as any recipient will check it.
    let bundle = Disclosure::decode(&bytes).map_err(|e| refused(e.reason(), e.to_string()))?;
    if bundle.user() != &user || bundle.request_ref() != request_ref {
        return Err(refused(
            "bad_response",
            "the node signed a bundle about another user or request",
        ));
    }
    let path = out.unwrap_or_else(|| bundle_file_name(request_ref));
    std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    let mut summary = disclosure_summary(&bundle);
    summary["file"] = path.display().to_string().into();
    summary["audit_seq"] = answer.seq.into();
    cx.out.print(summary, || {
        format!(
            "wrote {} ({} events, {} attestations{}); audit entry {}",
            path.display(),
            bundle.events().len(),
            bundle.attestations().len(),
            if bundle.complete() {
                ""
            } else {
                ", incomplete"
            },
            answer.seq
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// What a verified bundle says, as JSON.
pub(crate) fn disclosure_summary(bundle: &Disclosure) -> JsonValue {
    json!({
        "valid": true,
        "type": "disclosure",
        "node": bundle.node().to_string(),
        "user": bundle.user().to_string(),
        "request_ref": bundle.request_ref(),
        "at_ms": bundle.at_ms(),
        "hash": bundle.hash().to_hex(),
        "complete": bundle.complete(),
        "record": bundle.record().is_some(),
        "events": bundle.events().iter().map(|e| e.id().to_string()).collect::<Vec<_>>(),
        "attestations": bundle
            .attestations()
            .iter()
            .map(|a| json!({
                "attestation_id": a.id().to_string(),
                "home_node": a.home_node().to_string(),
                "handle": a.handle(),
                "assurance": a.assurance().name(),
                "not_before": a.not_before(),
                "not_after": a.not_after(),
            }))
            .collect::<Vec<_>>(),
    })
}

/// Verifies a disclosure bundle offline and prints the outcome; returns the exit code.
pub(crate) fn print_disclosure(out: &Output, bytes: &[u8]) -> ExitCode {
    match Disclosure::decode(bytes) {
        Ok(bundle) => {
            out.print(disclosure_summary(&bundle), || {
                format!(
                    "valid disclosure bundle, signed by node {}\n  user         {}\n  request      {}\n  events       {}\n  attestations {}\n  record       {}{}",
                    bundle.node(),
                    bundle.user(),
                    printable(bundle.request_ref()),
                    bundle.events().len(),
                    bundle.attestations().len(),
                    if bundle.record().is_some() { "yes" } else { "none" },
                    if bundle.complete() { "" } else { "\n  (incomplete: the node holds more events)" }
                )
            });
            ExitCode::SUCCESS
        }
        Err(err) => super::verify::invalid(out, err.reason(), &err.to_string()),
    }
}

fn transparency_text(answer: &JsonValue) -> String {
    let mut text = format!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "period",
        "requests",
        "",
        "",
        "reports",
        "",
        "",
        "",
        "received",
        "answered",
        "refused",
        "received",
        "actioned",
        "dismissed"
    );
    for p in answer["periods"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let n = |field: &str| p[field].as_u64().unwrap_or(0);
        text.push_str(&format!(
            "\n{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            printable(p["period"].as_str().unwrap_or_default()),
            n("requests_received"),
            n("requests_answered"),
            n("requests_refused"),
            n("reports_received"),
            n("reports_actioned"),
            n("reports_dismissed"),
        ));
    }
    if answer["complete"] == false {
        text.push_str("\n(only the log's first entries were counted)");
    }
    text
}
