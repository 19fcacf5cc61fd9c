//! Key newtypes. A user is a key ([`UserKey`] / [`UserSecret`]); a node is a key too
//! ([`NodeKey`] / [`NodeSecret`], also its libp2p identity). Distinct types stop a node key from
//! being used where a user key is meant.
//!
//! Secrets print as `***` in `Debug`, have no `Display`, and are zeroized on drop (the dalek
//! signing key zeroizes itself; the key-file buffers are `Zeroizing`). Key files are created with
//! mode 0600 and refused when group or others can read them.

use std::cell::Cell;
use std::fmt;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::codec::{self, fixed_bytes, reason_error};
use crate::error::{CodecError, KeyError};
use crate::signing::{Domain, Signature};

/// A validated Ed25519 public key: a canonical point encoding of a point that is not of small order.
#[derive(Clone, Copy)]
pub struct PublicKey {
    bytes: [u8; 32],
    key: VerifyingKey,
}

impl PublicKey {
    /// Validates raw bytes: a canonical encoding (y below the field prime; the point decoder
    /// would otherwise reduce it, giving one point two byte forms and a user two identities; and
    /// no sign bit on x = 0, for the same reason) of a curve point that is not of small order.
    ///
    /// Validation decompresses the point, a few µs (over a tenth of a signature verification),
    /// so every thread remembers its most recently validated keys (see [`KEY_CACHE_SLOTS`]).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CodecError> {
        let slot = key_cache_slot(bytes);
        if let Some(key) = KEY_CACHE
            .with(|cache| cache[slot].get())
            .filter(|k| k.bytes == *bytes)
        {
            return Ok(key);
        }
        let key = Self::validate(bytes)?;
        KEY_CACHE.with(|cache| cache[slot].set(Some(key)));
        Ok(key)
    }

    /// The validation itself, uncached.
    fn validate(bytes: &[u8; 32]) -> Result<Self, CodecError> {
        if !is_canonical_y(bytes) || is_signed_zero_x(bytes) {
            return Err(CodecError::InvalidKey);
        }
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| CodecError::InvalidKey)?;
        if key.is_weak() {
            return Err(CodecError::WeakKey);
        }
        Ok(PublicKey { bytes: *bytes, key })
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Lowercase hex of the raw bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    /// Verifies `signature` over `domain prefix || message` with `verify_strict`.
    pub fn verify(&self, domain: Domain, message: &[u8], signature: &Signature) -> bool {
        self.verify_prefixed(&domain.signing_input(message), signature)
    }

    /// Plain RFC 8032 `verify_strict` of `signature` over `message`, with no domain prefix.
    ///
    /// Not for protocol data: every Causerie signature is domain-separated, use [`Self::verify`].
    /// This exists so that the RFC 8032 test vectors and interoperability checks can exercise
    /// exactly the verifier the protocol uses. It only verifies; there is deliberately no
    /// matching way to sign without a domain.
    pub fn verify_without_domain(&self, message: &[u8], signature: &Signature) -> bool {
        self.verify_prefixed(message, signature)
    }

    /// Verifies over an input that already starts with the domain prefix.
    pub(crate) fn verify_prefixed(&self, input: &[u8], signature: &Signature) -> bool {
        self.key.verify_strict(input, &signature.to_dalek()).is_ok()
    }
}

/// Slots in each thread's cache of validated public keys.
///
/// The cache memoises a pure function (bytes → validated point), so results never depend on it:
/// validity stays identical on every node, only the cost changes. Only keys that passed
/// validation are stored, so a rejected key is re-examined every time. Direct-mapped on two key
/// bytes: a lookup is one comparison; keys that collide (even deliberately) merely evict each
/// other and cost an uncached validation. 256 slots of ~230 bytes: under 60 KiB per thread.
pub const KEY_CACHE_SLOTS: usize = 256;

thread_local! {
    static KEY_CACHE: [Cell<Option<PublicKey>>; KEY_CACHE_SLOTS] =
        const { [const { Cell::new(None) }; KEY_CACHE_SLOTS] };
}

fn key_cache_slot(bytes: &[u8; 32]) -> usize {
    // Public keys are uniformly distributed; any two bytes index well.
    (usize::from(bytes[0]) | usize::from(bytes[1]) << 8) % KEY_CACHE_SLOTS
}

/// Whether the 255-bit y coordinate of a compressed Edwards point (little-endian, top bit is the
/// sign of x) is below p = 2^255 - 19. Only the 19 values p..2^255-1 fail, all of the form
/// `ed..ff ff … ff 7f` once the sign bit is masked.
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    !(bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed)
}

/// Whether the bytes encode x = 0 with the sign bit set, which RFC 8032 §5.1.3 refuses (x = 0
/// has no negative, so these are a second encoding of a point) but the point decoder accepts.
/// x = 0 exactly when y² = 1, so only y = 1 (the identity) and y = p − 1 (the point of order 2)
/// are concerned (specs/identity.md §1.1).
fn is_signed_zero_x(bytes: &[u8; 32]) -> bool {
    let sign = bytes[31] & 0x80 != 0;
    let y_is_one = bytes[0] == 1 && bytes[1..31].iter().all(|b| *b == 0) && bytes[31] & 0x7f == 0;
    let y_is_p_minus_one =
        bytes[0] == 0xec && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[31] & 0x7f == 0x7f;
    sign && (y_is_one || y_is_p_minus_one)
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for PublicKey {}
impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PublicKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        crate::hash::cmp_bytes32(&self.bytes, &other.bytes)
    }
}
impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.to_hex()[..12])
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fixed_bytes::serialize(&self.bytes, serializer)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: [u8; 32] = fixed_bytes::deserialize(deserializer)?;
        PublicKey::from_bytes(&bytes).map_err(|e| reason_error(e.reason()))
    }
}

macro_rules! key_pair {
    ($(#[$pdoc:meta])* $public:ident, $(#[$sdoc:meta])* $secret:ident, $kind:literal) => {
        $(#[$pdoc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $public(pub PublicKey);

        impl $public {
            /// Validates raw bytes.
            pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CodecError> {
                PublicKey::from_bytes(bytes).map($public)
            }
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                self.0.as_bytes()
            }
            /// Parses 64 hex digits.
            pub fn from_hex(text: &str) -> Result<Self, CodecError> {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(text, &mut bytes)
                    .map_err(|_| CodecError::Malformed("bad key hex".into()))?;
                Self::from_bytes(&bytes)
            }
            /// Verifies `signature` over `domain prefix || message`.
            pub fn verify(&self, domain: Domain, message: &[u8], signature: &Signature) -> bool {
                self.0.verify(domain, message, signature)
            }
        }

        impl fmt::Debug for $public {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}:{:?}", $kind, self.0)
            }
        }

        impl fmt::Display for $public {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        $(#[$sdoc])*
        pub struct $secret(SigningKey);

        impl $secret {
            /// Generates a fresh key from the operating system's random source.
            pub fn generate() -> Result<Self, KeyError> {
                let mut seed = Zeroizing::new([0u8; 32]);
                getrandom::fill(seed.as_mut()).map_err(|_| KeyError::Random)?;
                Ok(Self::from_seed(&seed))
            }
            /// Builds the key from its 32-byte seed (RFC 8032 secret key).
            pub fn from_seed(seed: &[u8; 32]) -> Self {
                $secret(SigningKey::from_bytes(seed))
            }
            /// The public half.
            pub fn public(&self) -> $public {
                let key = self.0.verifying_key();
                $public(PublicKey { bytes: key.to_bytes(), key })
            }
            /// Signs `domain prefix || message`.
            pub fn sign(&self, domain: Domain, message: &[u8]) -> Signature {
                self.sign_prefixed(&domain.signing_input(message))
            }
            /// Signs an input that already starts with the domain prefix.
            pub(crate) fn sign_prefixed(&self, input: &[u8]) -> Signature {
                Signature(self.0.sign(input).to_bytes())
            }
            /// Signs a signing input a node handed over (an event draft's or a challenge's): it
            /// must start with one of the protocol's domain prefixes, so a key never signs
            /// bytes that could mean something outside the protocol. `None` otherwise.
            pub fn sign_input(&self, input: &[u8]) -> Option<Signature> {
                Domain::ALL
                    .iter()
                    .any(|d| input.starts_with(d.prefix()))
                    .then(|| self.sign_prefixed(input))
            }
            /// Writes a new key file with mode 0600; refuses to overwrite an existing file.
            pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
                write_key_file(path, $kind, &self.0)
            }
            /// Reads a key file written by [`Self::write_new`].
            pub fn read(path: &Path) -> Result<Self, KeyError> {
                read_key_file(path, $kind).map($secret)
            }
            /// The secret seed, for export by the key owner's own tools only.
            pub fn expose_seed(&self) -> Zeroizing<[u8; 32]> {
                Zeroizing::new(self.0.to_bytes())
            }
        }

        impl fmt::Debug for $secret {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(***)", stringify!($secret))
            }
        }
    };
}

key_pair!(
    /// A user's public key: the user's identity in every room.
    UserKey,
    /// A user's secret key. Lives only on the user's side (key file or browser).
    UserSecret,
    "user"
);
key_pair!(
    /// A node's public key; the node's libp2p peer id is derived from it.
    NodeKey,
    /// A node's secret key, in the node's data directory.
    NodeSecret,
    "node"
);

/// Largest key file accepted.
const KEY_FILE_MAX_BYTES: usize = 256;

/// On-disk key file (canonical CBOR; fields in canonical order).
#[derive(Serialize, Deserialize)]
struct KeyFile {
    kind: String,
    #[serde(with = "fixed_bytes")]
    seed: [u8; 32],
    v: u8,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.seed.zeroize();
    }
}

fn write_key_file(path: &Path, kind: &'static str, key: &SigningKey) -> Result<(), KeyError> {
    let file = KeyFile {
        kind: kind.to_owned(),
        seed: key.to_bytes(),
        v: 1,
    };
    let bytes = Zeroizing::new(codec::encode(&file)?);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut handle = options.open(path)?;
    handle.write_all(&bytes)?;
    handle.sync_all()?;
    Ok(())
}

fn read_key_file(path: &Path, kind: &'static str) -> Result<SigningKey, KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions { mode });
        }
    }
    let bytes = Zeroizing::new(std::fs::read(path)?);
    let file: KeyFile = codec::decode_canonical(&bytes, KEY_FILE_MAX_BYTES)
        .map_err(|_| KeyError::WrongFile { expected: kind })?;
    if file.kind != kind || file.v != 1 {
        return Err(KeyError::WrongFile { expected: kind });
    }
    Ok(SigningKey::from_bytes(&file.seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let secret = UserSecret::from_seed(&[7; 32]);
        let shown = format!("{secret:?}");
        assert_eq!(shown, "UserSecret(***)");
        assert!(!shown.contains(&hex::encode([7u8; 32])));
    }

    #[test]
    fn key_file_round_trip_and_permissions() {
        let dir = std::env::temp_dir().join(format!("causerie-key-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("user.key");
        let _ = std::fs::remove_file(&path);
        let secret = UserSecret::generate().unwrap();
        secret.write_new(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(UserSecret::read(&path).unwrap().public(), secret.public());
        // A user key file is not a node key file.
        assert!(matches!(
            NodeSecret::read(&path),
            Err(KeyError::WrongFile { .. })
        ));
        // Never overwritten.
        assert!(matches!(secret.write_new(&path), Err(KeyError::Io(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                UserSecret::read(&path),
                Err(KeyError::Permissions { .. })
            ));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn key_cache_is_transparent() {
        // Keys that share a cache slot evict each other; results never change.
        let mut keys = Vec::new();
        for i in 0..4 * KEY_CACHE_SLOTS as u32 {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_be_bytes());
            keys.push(*UserSecret::from_seed(&seed).public().as_bytes());
        }
        for _ in 0..2 {
            for bytes in &keys {
                let cached = PublicKey::from_bytes(bytes).unwrap();
                let fresh = PublicKey::validate(bytes).unwrap();
                assert_eq!(cached.as_bytes(), fresh.as_bytes());
                assert_eq!(cached.key, fresh.key);
            }
        }
        // A rejected key is never cached: same reason every time, also right after a valid key
        // with the same slot bytes.
        let mut weak = [0u8; 32];
        weak[0] = 1; // the identity point
        let mut valid_same_slot = keys[0];
        valid_same_slot[..2].copy_from_slice(&weak[..2]);
        let _ = PublicKey::from_bytes(&valid_same_slot);
        for _ in 0..2 {
            assert_eq!(
                PublicKey::from_bytes(&weak).unwrap_err(),
                CodecError::WeakKey
            );
        }
    }

    #[test]
    fn domain_separation() {
        let secret = UserSecret::from_seed(&[1; 32]);
        let sig = secret.sign(Domain::Event, b"hello");
        for domain in Domain::ALL {
            assert_eq!(
                secret.public().verify(domain, b"hello", &sig),
                domain == Domain::Event
            );
        }
    }
}
