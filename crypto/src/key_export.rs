//! The passphrase-protected key export file, shared by `causerie key export` and the web client
//! (specs/client-api.md, "Key export file").
//!
//! A JSON object naming the public key, the KDF (PBKDF2-HMAC-SHA256 with a random 16-byte salt)
//! and the cipher (AES-256-GCM with a random 12-byte nonce and fixed additional data) that
//! protect the 32-byte Ed25519 seed. Importing checks, in order: the file's shape and version
//! (`bad_export_file`), the KDF cost (`weak_kdf`), the passphrase (the GCM tag, else
//! `wrong_passphrase`), and that the seed's public key is the one the file names
//! (`key_mismatch`). The fixed vector in `specs/test-vectors/key-export.json` is checked by this
//! module's tests (`CAUSERIE_WRITE_VECTORS=1` rewrites it).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::keys::{UserKey, UserSecret};

/// The only format version.
pub const EXPORT_VERSION: u64 = 1;
/// The KDF's name in the file.
pub const KDF_NAME: &str = "pbkdf2-sha256";
/// The cipher's name in the file.
pub const CIPHER_NAME: &str = "aes-256-gcm";
/// PBKDF2 iterations used for new exports (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Fewest iterations an importer accepts: below this a stolen file is cheap to brute-force.
pub const MIN_ITERATIONS: u32 = 100_000;
/// Most iterations an importer accepts: bounds the work a crafted file can make us do.
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Salt length in bytes.
pub const SALT_BYTES: usize = 16;
/// AES-GCM nonce length in bytes.
pub const NONCE_BYTES: usize = 12;
/// Encrypted seed (32 bytes) followed by the 16-byte tag.
pub const CIPHERTEXT_BYTES: usize = 48;
/// Additional authenticated data: binds the ciphertext to this format.
pub const ASSOCIATED_DATA: &[u8] = b"causerie key export v1";
/// Largest export file read; a real one is about 330 bytes.
pub const MAX_EXPORT_FILE_BYTES: usize = 4_096;
/// Longest passphrase accepted (PBKDF2 hashes longer ones first; this only bounds input).
pub const MAX_PASSPHRASE_BYTES: usize = 1_024;
/// Shortest passphrase a key is exported under, in characters (Unicode code points): the one
/// rule of the CLI, the web client (`keys.js`) and this module. Opening a file takes any
/// passphrase up to [`MAX_PASSPHRASE_BYTES`], so files sealed before the rule still open.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Why a key could not be exported or imported.
#[derive(Debug, Error)]
pub enum KeyExportError {
    /// Not a key export file of a version this code reads.
    #[error("not a causerie key export file (version 1): {0}")]
    BadFile(String),
    /// The KDF cost is outside the accepted range.
    #[error("kdf iterations {iterations} outside {MIN_ITERATIONS}..={MAX_ITERATIONS}")]
    WeakKdf {
        /// The file's iteration count.
        iterations: u64,
    },
    /// The decrypted seed does not belong to the public key the file names.
    #[error("the decrypted key is not the key the file names")]
    KeyMismatch,
    /// The passphrase does not open the file (or the file was altered).
    #[error("wrong passphrase, or the file was altered")]
    WrongPassphrase,
    /// The passphrase is empty or too long.
    #[error("passphrase must be 1..={MAX_PASSPHRASE_BYTES} bytes")]
    BadPassphrase,
    /// A new export's passphrase is shorter than [`MIN_PASSPHRASE_CHARS`].
    #[error(
        "choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters (this one has {chars})"
    )]
    PassphraseTooShort {
        /// Characters given.
        chars: usize,
    },
    /// The operating system's random source failed.
    #[error("random source unavailable")]
    Random,
}

impl KeyExportError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            KeyExportError::BadFile(_) => "bad_export_file",
            KeyExportError::WeakKdf { .. } => "weak_kdf",
            KeyExportError::KeyMismatch => "key_mismatch",
            KeyExportError::WrongPassphrase => "wrong_passphrase",
            KeyExportError::BadPassphrase => "bad_passphrase",
            KeyExportError::PassphraseTooShort { .. } => "passphrase_too_short",
            KeyExportError::Random => "random_unavailable",
        }
    }
}

/// The file as JSON, field for field (data only; [`KeyExport`] is the checked form).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    causerie_key_export: u64,
    user: String,
    kdf: String,
    iterations: u64,
    salt: String,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

/// A parsed, well-formed export file. Opening it needs the passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExport {
    /// The exported key's public half.
    pub user: UserKey,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// PBKDF2 salt.
    pub salt: [u8; SALT_BYTES],
    /// AES-GCM nonce.
    pub nonce: [u8; NONCE_BYTES],
    /// Encrypted seed and tag.
    pub ciphertext: [u8; CIPHERTEXT_BYTES],
}

/// Checks a passphrase a key is about to be exported under: at least [`MIN_PASSPHRASE_CHARS`]
/// characters, at most [`MAX_PASSPHRASE_BYTES`] bytes.
pub fn check_new_passphrase(passphrase: &str) -> Result<(), KeyExportError> {
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(KeyExportError::BadPassphrase);
    }
    let chars = passphrase.chars().count();
    if chars < MIN_PASSPHRASE_CHARS {
        return Err(KeyExportError::PassphraseTooShort { chars });
    }
    Ok(())
}

fn cipher_for(passphrase: &str, salt: &[u8], iterations: u32) -> Aes256Gcm {
    let key = Zeroizing::new(pbkdf2::pbkdf2_hmac_array::<sha2_digest010::Sha256, 32>(
        passphrase.as_bytes(),
        salt,
        iterations,
    ));
    Aes256Gcm::new(key.as_ref().into())
}

fn hex_array<const N: usize>(field: &str, text: &str) -> Result<[u8; N], KeyExportError> {
    let mut out = [0u8; N];
    // Lowercase only, as the spec writes binary values; uppercase would make two files for one key.
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(KeyExportError::BadFile(format!("{field}: uppercase hex")));
    }
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| KeyExportError::BadFile(format!("{field}: want {} hex digits", N * 2)))?;
    Ok(out)
}

impl KeyExport {
    /// Encrypts `secret` under `passphrase` with a fresh random salt and nonce.
    pub fn seal(secret: &UserSecret, passphrase: &str) -> Result<KeyExport, KeyExportError> {
        Self::seal_random(secret, passphrase, DEFAULT_ITERATIONS)
    }

    fn seal_random(
        secret: &UserSecret,
        passphrase: &str,
        iterations: u32,
    ) -> Result<KeyExport, KeyExportError> {
        let mut salt = [0u8; SALT_BYTES];
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut salt).map_err(|_| KeyExportError::Random)?;
        getrandom::fill(&mut nonce).map_err(|_| KeyExportError::Random)?;
        Self::seal_with(secret, passphrase, iterations, salt, nonce)
    }

    /// Encrypts with the given parameters. Deterministic: for test vectors; real exports use
    /// [`KeyExport::seal`] (a reused salt and nonce under one passphrase would leak).
    pub fn seal_with(
        secret: &UserSecret,
        passphrase: &str,
        iterations: u32,
        salt: [u8; SALT_BYTES],
        nonce: [u8; NONCE_BYTES],
    ) -> Result<KeyExport, KeyExportError> {
        check_new_passphrase(passphrase)?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(KeyExportError::WeakKdf {
                iterations: iterations.into(),
            });
        }
        let seed = secret.expose_seed();
        let sealed = cipher_for(passphrase, &salt, iterations)
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: seed.as_ref(),
                    aad: ASSOCIATED_DATA,
                },
            )
            .map_err(|_| KeyExportError::BadFile("encryption failed".into()))?;
        let ciphertext: [u8; CIPHERTEXT_BYTES] = sealed
            .as_slice()
            .try_into()
            .map_err(|_| KeyExportError::BadFile("unexpected ciphertext length".into()))?;
        Ok(KeyExport {
            user: secret.public(),
            iterations,
            salt,
            nonce,
            ciphertext,
        })
    }

    /// Decrypts the seed and checks it is the key the file names.
    pub fn open(&self, passphrase: &str) -> Result<UserSecret, KeyExportError> {
        if passphrase.len() > MAX_PASSPHRASE_BYTES {
            return Err(KeyExportError::BadPassphrase);
        }
        let plain = Zeroizing::new(
            cipher_for(passphrase, &self.salt, self.iterations)
                .decrypt(
                    &Nonce::from(self.nonce),
                    Payload {
                        msg: &self.ciphertext,
                        aad: ASSOCIATED_DATA,
                    },
                )
                .map_err(|_| KeyExportError::WrongPassphrase)?,
        );
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            plain
                .as_slice()
                .try_into()
                .map_err(|_| KeyExportError::BadFile("seed is not 32 bytes".into()))?,
        );
        let secret = UserSecret::from_seed(&seed);
        if secret.public() != self.user {
            return Err(KeyExportError::KeyMismatch);
        }
        Ok(secret)
    }

    /// The file's JSON text (one line, fields in the spec's order).
    pub fn to_json(&self) -> String {
        let wire = Wire {
            causerie_key_export: EXPORT_VERSION,
            user: self.user.to_string(),
            kdf: KDF_NAME.to_owned(),
            iterations: self.iterations.into(),
            salt: hex::encode(self.salt),
            cipher: CIPHER_NAME.to_owned(),
            nonce: hex::encode(self.nonce),
            ciphertext: hex::encode(self.ciphertext),
        };
        // A struct of strings and integers always serialises.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses and checks a file's bytes (shape, version, names, lengths, KDF cost).
    pub fn from_json(bytes: &[u8]) -> Result<KeyExport, KeyExportError> {
        if bytes.len() > MAX_EXPORT_FILE_BYTES {
            return Err(KeyExportError::BadFile(format!(
                "larger than {MAX_EXPORT_FILE_BYTES} bytes"
            )));
        }
        // The version is checked before the rest so a future format gets the right reason.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| KeyExportError::BadFile(e.to_string()))?;
        let version = value.get("causerie_key_export").and_then(|v| v.as_u64());
        if version != Some(EXPORT_VERSION) {
            return Err(KeyExportError::BadFile(format!(
                "causerie_key_export is {}, want {EXPORT_VERSION}",
                value
                    .get("causerie_key_export")
                    .map_or_else(|| "missing".to_owned(), ToString::to_string)
            )));
        }
        let wire: Wire =
            serde_json::from_value(value).map_err(|e| KeyExportError::BadFile(e.to_string()))?;
        if wire.kdf != KDF_NAME {
            return Err(KeyExportError::BadFile(format!("kdf {:?}", wire.kdf)));
        }
        if wire.cipher != CIPHER_NAME {
            return Err(KeyExportError::BadFile(format!("cipher {:?}", wire.cipher)));
        }
        let iterations = u32::try_from(wire.iterations)
            .ok()
            .filter(|n| (MIN_ITERATIONS..=MAX_ITERATIONS).contains(n))
            .ok_or(KeyExportError::WeakKdf {
                iterations: wire.iterations,
            })?;
        if wire.user.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(KeyExportError::BadFile("user: uppercase hex".into()));
        }
        let user = UserKey::from_hex(&wire.user)
            .map_err(|e| KeyExportError::BadFile(format!("user: {}", e.reason())))?;
        Ok(KeyExport {
            user,
            iterations,
            salt: hex_array("salt", &wire.salt)?,
            nonce: hex_array("nonce", &wire.nonce)?,
            ciphertext: hex_array("ciphertext", &wire.ciphertext)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSPHRASE: &str = "correct horse battery staple";

    fn vector_secret() -> UserSecret {
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        UserSecret::from_seed(&seed)
    }

    fn quick(secret: &UserSecret) -> KeyExport {
        KeyExport::seal_with(secret, PASSPHRASE, MIN_ITERATIONS, [7; 16], [9; 12]).unwrap()
    }

    #[test]
    fn round_trip_through_json() {
        let secret = UserSecret::generate().unwrap();
        let file = quick(&secret);
        let parsed = KeyExport::from_json(file.to_json().as_bytes()).unwrap();
        assert_eq!(parsed, file);
        let opened = parsed.open(PASSPHRASE).unwrap();
        assert_eq!(*opened.expose_seed(), *secret.expose_seed());
    }

    #[test]
    fn pretty_printed_files_are_read() {
        // The web client writes the same fields indented, with a final newline.
        let file = quick(&vector_secret());
        let value: serde_json::Value = serde_json::from_str(&file.to_json()).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap() + "\n";
        assert_eq!(KeyExport::from_json(pretty.as_bytes()).unwrap(), file);
    }

    #[test]
    fn random_seal_uses_fresh_salt_and_nonce() {
        let secret = vector_secret();
        // The default cost is pinned by the fixed vector; this checks the randomness only.
        let a = KeyExport::seal_random(&secret, PASSPHRASE, MIN_ITERATIONS).unwrap();
        let b = KeyExport::seal_random(&secret, PASSPHRASE, MIN_ITERATIONS).unwrap();
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(
            *a.open(PASSPHRASE).unwrap().expose_seed(),
            *b.open(PASSPHRASE).unwrap().expose_seed()
        );
    }

    #[test]
    fn wrong_passphrase_is_refused() {
        let file = quick(&vector_secret());
        let err = file.open("correct horse battery stapler").unwrap_err();
        assert_eq!(err.reason(), "wrong_passphrase");
        assert_eq!(file.open("").unwrap_err().reason(), "wrong_passphrase");
    }

    #[test]
    fn tampering_is_refused() {
        let file = quick(&vector_secret());
        // Encrypted seed (first, last byte) and tag (first, last byte).
        for i in [0, 31, 32, CIPHERTEXT_BYTES - 1] {
            let mut bad = file.clone();
            bad.ciphertext[i] ^= 1;
            assert_eq!(
                bad.open(PASSPHRASE).unwrap_err().reason(),
                "wrong_passphrase"
            );
        }
        let mut bad = file.clone();
        bad.salt[0] ^= 1;
        assert_eq!(
            bad.open(PASSPHRASE).unwrap_err().reason(),
            "wrong_passphrase"
        );
        let mut bad = file.clone();
        bad.nonce[0] ^= 1;
        assert_eq!(
            bad.open(PASSPHRASE).unwrap_err().reason(),
            "wrong_passphrase"
        );
        // The iteration count is not authenticated data, but changing it changes the key.
        let mut bad = file.clone();
        bad.iterations += 1;
        assert_eq!(
            bad.open(PASSPHRASE).unwrap_err().reason(),
            "wrong_passphrase"
        );
    }

    #[test]
    fn other_user_is_key_mismatch() {
        let mut file = quick(&vector_secret());
        file.user = UserSecret::generate().unwrap().public();
        assert_eq!(file.open(PASSPHRASE).unwrap_err().reason(), "key_mismatch");
    }

    fn with_field(json: &str, field: &str, value: serde_json::Value) -> Vec<u8> {
        let mut map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).unwrap();
        map.insert(field.to_owned(), value);
        serde_json::to_vec(&map).unwrap()
    }

    #[test]
    fn malformed_files_are_refused_with_reasons() {
        let json = quick(&vector_secret()).to_json();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "bad_export_file"),
            (b"[]".to_vec(), "bad_export_file"),
            (b"{\"causerie_key_export\": 1}".to_vec(), "bad_export_file"),
            (
                with_field(&json, "causerie_key_export", 2.into()),
                "bad_export_file",
            ),
            (
                with_field(&json, "causerie_key_export", "1".into()),
                "bad_export_file",
            ),
            (with_field(&json, "extra", 1.into()), "bad_export_file"),
            (with_field(&json, "kdf", "scrypt".into()), "bad_export_file"),
            (
                with_field(&json, "cipher", "chacha20-poly1305".into()),
                "bad_export_file",
            ),
            (with_field(&json, "iterations", 99_999.into()), "weak_kdf"),
            (
                with_field(&json, "iterations", 10_000_001.into()),
                "weak_kdf",
            ),
            (
                with_field(&json, "iterations", (-1).into()),
                "bad_export_file",
            ),
            (with_field(&json, "iterations", u64::MAX.into()), "weak_kdf"),
            (with_field(&json, "salt", "00".into()), "bad_export_file"),
            (
                with_field(&json, "nonce", "zz".repeat(12).into()),
                "bad_export_file",
            ),
            (
                with_field(&json, "ciphertext", "00".repeat(47).into()),
                "bad_export_file",
            ),
            (
                with_field(&json, "salt", "AB".repeat(16).into()),
                "bad_export_file",
            ),
            (
                with_field(&json, "user", "00".repeat(32).into()),
                "bad_export_file",
            ),
            (vec![b' '; MAX_EXPORT_FILE_BYTES + 1], "bad_export_file"),
        ];
        for (bytes, reason) in cases {
            let err = KeyExport::from_json(&bytes).unwrap_err();
            assert_eq!(err.reason(), reason, "{}", String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn sealing_refuses_bad_parameters() {
        let secret = vector_secret();
        let err = KeyExport::seal_with(&secret, "", MIN_ITERATIONS, [0; 16], [0; 12]);
        assert_eq!(err.unwrap_err().reason(), "passphrase_too_short");
        // Counted in characters: seven accented letters are 14 bytes but too short.
        let err = KeyExport::seal_with(&secret, "ééééééé", MIN_ITERATIONS, [0; 16], [0; 12]);
        assert_eq!(err.unwrap_err().reason(), "passphrase_too_short");
        assert!(
            KeyExport::seal_with(&secret, "éééééééé", MIN_ITERATIONS, [0; 16], [0; 12]).is_ok()
        );
        // The refusal says what to choose.
        assert_eq!(
            check_new_passphrase("abc").unwrap_err().to_string(),
            "choose a passphrase of at least 8 characters (this one has 3)"
        );
        let long = "x".repeat(MAX_PASSPHRASE_BYTES + 1);
        let err = KeyExport::seal_with(&secret, &long, MIN_ITERATIONS, [0; 16], [0; 12]);
        assert_eq!(err.unwrap_err().reason(), "bad_passphrase");
        let err = KeyExport::seal_with(&secret, PASSPHRASE, 1_000, [0; 16], [0; 12]);
        assert_eq!(err.unwrap_err().reason(), "weak_kdf");
    }

    /// The fixed vector the web client is checked against. Iterations are the default, so the
    /// vector also pins the cost new exports use.
    fn vector() -> serde_json::Value {
        let secret = vector_secret();
        let salt: [u8; SALT_BYTES] = core::array::from_fn(|i| 0xa0 + i as u8);
        let nonce: [u8; NONCE_BYTES] = core::array::from_fn(|i| 0xc0 + i as u8);
        let file =
            KeyExport::seal_with(&secret, PASSPHRASE, DEFAULT_ITERATIONS, salt, nonce).unwrap();
        let file_json: serde_json::Value = serde_json::from_str(&file.to_json()).unwrap();
        serde_json::json!({
            "description": "Causerie key export file, version 1 (specs/client-api.md, \"Key export file\"). Opening `file` with `passphrase` must give `seed`; any other passphrase must fail with wrong_passphrase. Sealing `seed` with `passphrase`, `file.salt` and `file.nonce` must give exactly `file`.",
            "passphrase": PASSPHRASE,
            "seed": hex::encode(*secret.expose_seed()),
            "user": secret.public().to_string(),
            "associated_data": String::from_utf8_lossy(ASSOCIATED_DATA),
            "file": file_json,
            "wrong_passphrase": "Correct horse battery staple",
        })
    }

    #[test]
    fn fixed_vector_matches_specs_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../specs/test-vectors/key-export.json");
        let expected = vector();
        if std::env::var_os("CAUSERIE_WRITE_VECTORS").is_some() {
            let text = serde_json::to_string_pretty(&expected).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        }
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(on_disk, expected, "rewrite with CAUSERIE_WRITE_VECTORS=1");
        let file_bytes = serde_json::to_vec(&on_disk["file"]).unwrap();
        let file = KeyExport::from_json(&file_bytes).unwrap();
        let secret = file.open(on_disk["passphrase"].as_str().unwrap()).unwrap();
        assert_eq!(hex::encode(*secret.expose_seed()), on_disk["seed"]);
        let wrong = on_disk["wrong_passphrase"].as_str().unwrap();
        assert_eq!(file.open(wrong).unwrap_err().reason(), "wrong_passphrase");
    }
}
