//! `causerie init` and `causerie key new|show|export|import`: the user's key file, and its
//! passphrase-protected export (specs/client-api.md, "Key export file"; the same format the web
//! client reads and writes).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use causerie_crypto::UserSecret;
use causerie_crypto::key_export::{
    KeyExport, MAX_EXPORT_FILE_BYTES, MAX_PASSPHRASE_BYTES, check_new_passphrase,
};
use clap::Subcommand;
use serde_json::json;

use super::{Context, refused};

/// `causerie key` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a new key file (refuses to overwrite one).
    New,
    /// Show the public key of the key file.
    Show,
    /// Write the key to a passphrase-protected export file.
    Export {
        /// Where to write the export file (refuses to overwrite one).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Read the passphrase from the first line of this file instead of prompting.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Read a key from an export file into the key file.
    Import {
        /// The export file.
        file: PathBuf,
        /// Replace an existing key file (the old key is lost unless exported).
        #[arg(long)]
        force: bool,
        /// Read the passphrase from the first line of this file instead of prompting.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
}

/// Runs a `key` subcommand.
pub(crate) fn run(cx: &Context, command: KeyCommand) -> Result<ExitCode> {
    let path = cx.key_path()?;
    match command {
        KeyCommand::New => key_new(cx, &path),
        KeyCommand::Show => key_show(cx, &path),
        KeyCommand::Export {
            out,
            passphrase_file,
        } => export(cx, &path, &out, passphrase_file.as_deref()),
        KeyCommand::Import {
            file,
            force,
            passphrase_file,
        } => import(cx, &path, &file, force, passphrase_file.as_deref()),
    }
}

/// Creates the key file's directory, readable by its owner only.
fn create_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

fn create_key(path: &Path) -> Result<UserSecret> {
    create_parent(path)?;
    let secret = UserSecret::generate()?;
    secret
        .write_new(path)
        .with_context(|| format!("writing key file {}", path.display()))?;
    Ok(secret)
}

fn key_new(cx: &Context, path: &Path) -> Result<ExitCode> {
    if path.exists() {
        return Err(refused(
            "key_exists",
            format!("{} already exists; not overwriting it", path.display()),
        ));
    }
    let public = create_key(path)?.public();
    cx.out.print(
        json!({ "public_key": public.to_string(), "key_file": path }),
        || format!("created {}\npublic key: {public}", path.display()),
    );
    Ok(ExitCode::SUCCESS)
}

fn key_show(cx: &Context, path: &Path) -> Result<ExitCode> {
    let public = cx.secret()?.public();
    cx.out.print(
        json!({ "public_key": public.to_string(), "key_file": path }),
        || public.to_string(),
    );
    Ok(ExitCode::SUCCESS)
}

/// `causerie init`: idempotent; creates the key only when missing.
pub(crate) fn init(cx: &Context) -> Result<ExitCode> {
    let path = cx.key_path()?;
    let created = !path.exists();
    let secret = if created {
        create_key(&path)?
    } else {
        cx.secret()?
    };
    let public = secret.public();
    let node = &cx.node;
    cx.out.print(
        json!({
            "key_file": path,
            "public_key": public.to_string(),
            "created": created,
            "node": node,
        }),
        || {
            format!(
                "{} key file {}\npublic key: {public}\n\n\
                 Next steps:\n  \
                 causerie run                                 # start a node (web client and API on {DEFAULT})\n  \
                 causerie register --handle NAME              # register this key on the node\n  \
                 causerie room create \"Lobby\" --public        # create a room, then: causerie room invite-link ROOM\n  \
                 causerie demo                                # or see three federated nodes at work\n\n\
                 Keep the key file safe: it is your identity. Back it up with\n  \
                 causerie key export --out causerie-key.json",
                if created { "created" } else { "using existing" },
                path.display(),
                DEFAULT = node,
            )
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads a passphrase from the first line of `file`, or prompts on the terminal (twice when
/// `confirm`, for a new export, which also needs
/// [`MIN_PASSPHRASE_CHARS`](causerie_crypto::key_export::MIN_PASSPHRASE_CHARS) characters). Never
/// echoed, never logged.
fn passphrase(file: Option<&Path>, confirm: bool) -> Result<zeroize::Zeroizing<String>> {
    let text = match file {
        Some(path) => {
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            std::fs::File::open(path)
                .with_context(|| format!("opening {}", path.display()))?
                .take(MAX_PASSPHRASE_BYTES as u64 + 2)
                .read_to_end(&mut bytes)?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| refused("bad_passphrase", "the passphrase file is not UTF-8"))?;
            let line = text.split('\n').next().unwrap_or_default();
            zeroize::Zeroizing::new(line.trim_end_matches('\r').to_owned())
        }
        None => {
            let first =
                zeroize::Zeroizing::new(rpassword::prompt_password("Passphrase: ").context(
                    "reading the passphrase from the terminal (or pass --passphrase-file)",
                )?);
            if confirm {
                let again = zeroize::Zeroizing::new(rpassword::prompt_password("Again: ")?);
                if *first != *again {
                    return Err(refused("bad_passphrase", "the passphrases differ"));
                }
            }
            first
        }
    };
    if confirm {
        // A new export: the one rule of every client.
        check_new_passphrase(&text)?;
    } else if text.is_empty() || text.len() > MAX_PASSPHRASE_BYTES {
        return Err(refused(
            "bad_passphrase",
            format!("the passphrase must be 1 to {MAX_PASSPHRASE_BYTES} bytes"),
        ));
    }
    Ok(text)
}

fn export(
    cx: &Context,
    key_path: &Path,
    out: &Path,
    passphrase_file: Option<&Path>,
) -> Result<ExitCode> {
    let secret = cx.secret()?;
    if out.exists() {
        return Err(refused(
            "file_exists",
            format!("{} already exists; not overwriting it", out.display()),
        ));
    }
    let passphrase = passphrase(passphrase_file, true)?;
    let file = KeyExport::seal(&secret, &passphrase)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut handle = options
        .open(out)
        .with_context(|| format!("creating {}", out.display()))?;
    handle.write_all(file.to_json().as_bytes())?;
    handle.write_all(b"\n")?;
    handle.sync_all()?;
    let public = secret.public();
    cx.out.print(
        json!({ "public_key": public.to_string(), "key_file": key_path, "export_file": out }),
        || format!("exported {public} to {}", out.display()),
    );
    Ok(ExitCode::SUCCESS)
}

fn import(
    cx: &Context,
    key_path: &Path,
    file: &Path,
    force: bool,
    passphrase_file: Option<&Path>,
) -> Result<ExitCode> {
    if key_path.exists() && !force {
        return Err(refused(
            "key_exists",
            format!(
                "{} already exists; pass --force to replace it (export it first)",
                key_path.display()
            ),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .with_context(|| format!("opening {}", file.display()))?
        .take(MAX_EXPORT_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    let export = KeyExport::from_json(&bytes)?;
    let passphrase = passphrase(passphrase_file, false)?;
    let secret = export.open(&passphrase)?;
    create_parent(key_path)?;
    // Written beside the target, then renamed over it: the old key is never half-replaced.
    let temporary = key_path.with_extension(format!("import-{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    secret
        .write_new(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, key_path)
        .with_context(|| format!("replacing {}", key_path.display()))?;
    let public = secret.public();
    cx.out.print(
        json!({ "public_key": public.to_string(), "key_file": key_path }),
        || format!("imported {public} into {}", key_path.display()),
    );
    Ok(ExitCode::SUCCESS)
}
