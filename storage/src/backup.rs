//! Backups: a store's every key-value pair (and files beside it, such as the node key) in one
//! framed, versioned, checksummed file, written as a stream and read back as a stream.
//!
//! # File format (format version [`BACKUP_FORMAT_VERSION`])
//!
//! Integers are big-endian.
//!
//! ```text
//! magic       8 bytes  "CSRBAK\r\n"
//! format      u16      BACKUP_FORMAT_VERSION (1)
//! schema      u32      the store's schema version (sled_store::SCHEMA_VERSION when written)
//! records     ...      each: tag u8, then
//!                        0x01 tree: name_len u16 | name          (pairs below belong to it)
//!                        0x02 pair: key_len u32 | key | value_len u32 | value
//!                        0x03 file: name_len u16 | name | len u32 | bytes
//!                        0x00 end:  pairs u64 | files u64       (the last record)
//! checksum    32 bytes SHA-256 of every byte before it
//! ```
//!
//! Limits: tree and file names at most [`MAX_BACKUP_NAME_BYTES`], keys at most
//! [`MAX_BACKUP_KEY_BYTES`], values at most [`MAX_BACKUP_VALUE_BYTES`], files at most
//! [`MAX_BACKUP_FILE_BYTES`], at most [`MAX_BACKUP_TREES`] trees and [`MAX_BACKUP_FILES`]
//! files. A pair before any tree record, a second end record, or bytes after the checksum make
//! the file corrupt.
//!
//! Reading checks the file in two streamed passes: first the checksum over the whole file (so
//! any changed or missing byte is refused as `backup_checksum_mismatch` before anything is
//! written), then the records, which [`restore_sled`] writes into a fresh sled database.
//!
//! # Consistency
//!
//! [`crate::Store::backup`] on the sled backend holds the commit lock while it streams, so the
//! event tree (events, DAG, state, attestations) is exactly the state after one commit: a node
//! that calls it from its actor between two group commits has every event it acknowledged in
//! the backup. The other trees (accounts, inbox, review, audit, reports, registration
//! records) are written outside commits by their own appenders; each pair is read whole, and an
//! append made while the backup runs may or may not be in it, so those trees are as of some
//! moment during the backup, tree by tree.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// First bytes of every backup file.
pub const BACKUP_MAGIC: &[u8; 8] = b"CSRBAK\r\n";
/// Version of the framing this build writes and reads.
pub const BACKUP_FORMAT_VERSION: u16 = 1;
/// Longest tree or file name.
pub const MAX_BACKUP_NAME_BYTES: usize = 256;
/// Longest key.
pub const MAX_BACKUP_KEY_BYTES: usize = 64 * 1024;
/// Longest value (a sled value: an event chunk holds at least one whole event).
pub const MAX_BACKUP_VALUE_BYTES: usize = 16 * 1024 * 1024;
/// Largest file carried beside the store.
pub const MAX_BACKUP_FILE_BYTES: usize = 64 * 1024;
/// Most trees in one backup.
pub const MAX_BACKUP_TREES: usize = 64;
/// Most files in one backup.
pub const MAX_BACKUP_FILES: usize = 16;
/// Bytes of the checksum at the end.
const CHECKSUM_BYTES: usize = 32;
/// Bytes of magic, format and schema.
const HEADER_BYTES: usize = 8 + 2 + 4;
/// Most pairs one sled batch carries while restoring.
const RESTORE_BATCH: usize = 1_024;

const TAG_END: u8 = 0x00;
const TAG_TREE: u8 = 0x01;
const TAG_PAIR: u8 = 0x02;
const TAG_FILE: u8 = 0x03;

/// Why a backup file could not be read or restored. Each has a stable reason name.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("backup io: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed while writing or checking the restored data.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The file does not start with the backup magic.
    #[error("not a causerie backup file")]
    NotABackup,
    /// The file is shorter than a header, end record and checksum.
    #[error("backup file truncated")]
    Truncated,
    /// The SHA-256 at the end does not match the file: a changed, missing or added byte.
    #[error("backup checksum mismatch: the file was changed or truncated")]
    ChecksumMismatch,
    /// A framing this build does not know.
    #[error(
        "backup format version {0} is not supported (this build reads {BACKUP_FORMAT_VERSION})"
    )]
    FormatUnsupported(u16),
    /// The store in the backup was written by a newer build.
    #[error(
        "backup of store schema version {found}, this build reads {expected}: it was taken by a newer causerie; restore it with that version"
    )]
    SchemaNewer {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// The store in the backup has an older schema this build cannot read.
    #[error(
        "backup of store schema version {found}, this build reads {expected}: restore it with the causerie version that took it"
    )]
    SchemaOlder {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// A record over its limit, an unknown tag, or a misplaced record.
    #[error("corrupt backup: {0}")]
    Corrupt(&'static str),
    /// The restore target already holds something.
    #[error("{0} is not empty; restore into a new or empty directory")]
    NotEmpty(std::path::PathBuf),
    /// The backend keeps nothing that a restore could rebuild.
    #[error("this store backend has no files to back up")]
    Unsupported,
}

impl From<sled::Error> for BackupError {
    fn from(error: sled::Error) -> Self {
        BackupError::Store(StoreError::Backend(error))
    }
}

impl BackupError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            BackupError::Io(_) => "io_error",
            BackupError::Store(e) => e.reason(),
            BackupError::NotABackup => "not_a_backup",
            BackupError::Truncated => "backup_truncated",
            BackupError::ChecksumMismatch => "backup_checksum_mismatch",
            BackupError::FormatUnsupported(_) => "backup_format_unsupported",
            BackupError::SchemaNewer { .. } => "backup_schema_newer",
            BackupError::SchemaOlder { .. } => "backup_schema_older",
            BackupError::Corrupt(_) => "backup_corrupt",
            BackupError::NotEmpty(_) => "restore_target_not_empty",
            BackupError::Unsupported => "backup_unsupported",
        }
    }
}

/// What one backup wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Trees written.
    pub trees: u64,
    /// Key-value pairs written.
    pub pairs: u64,
    /// Files written beside the store.
    pub files: u64,
    /// Bytes of the whole backup file.
    pub bytes: u64,
    /// How long the store's commit lock was held, in milliseconds (the files and checksum
    /// are written after it is released).
    pub store_millis: u64,
}

/// Writes a backup file as a stream, hashing as it goes.
pub struct BackupWriter<W: Write> {
    out: W,
    hasher: Sha256,
    report: BackupReport,
    in_tree: bool,
}

impl<W: Write> BackupWriter<W> {
    /// Starts a backup of a store of schema `schema`: writes the header.
    pub fn new(out: W, schema: u32) -> Result<Self, BackupError> {
        let mut writer = BackupWriter {
            out,
            hasher: Sha256::new(),
            report: BackupReport::default(),
            in_tree: false,
        };
        writer.put(BACKUP_MAGIC)?;
        writer.put(&BACKUP_FORMAT_VERSION.to_be_bytes())?;
        writer.put(&schema.to_be_bytes())?;
        Ok(writer)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), BackupError> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)?;
        self.report.bytes += bytes.len() as u64;
        Ok(())
    }

    fn name(&mut self, name: &[u8]) -> Result<(), BackupError> {
        if name.len() > MAX_BACKUP_NAME_BYTES {
            return Err(BackupError::Corrupt("name over its limit"));
        }
        self.put(&(name.len() as u16).to_be_bytes())?;
        self.put(name)
    }

    /// Starts a tree: the pairs that follow belong to it.
    pub fn tree(&mut self, name: &[u8]) -> Result<(), BackupError> {
        if self.report.trees as usize >= MAX_BACKUP_TREES {
            return Err(BackupError::Corrupt("too many trees"));
        }
        self.put(&[TAG_TREE])?;
        self.name(name)?;
        self.report.trees += 1;
        self.in_tree = true;
        Ok(())
    }

    /// One key-value pair of the current tree.
    pub fn pair(&mut self, key: &[u8], value: &[u8]) -> Result<(), BackupError> {
        if !self.in_tree {
            return Err(BackupError::Corrupt("pair before any tree"));
        }
        if key.len() > MAX_BACKUP_KEY_BYTES || value.len() > MAX_BACKUP_VALUE_BYTES {
            return Err(BackupError::Corrupt("pair over its limit"));
        }
        self.put(&[TAG_PAIR])?;
        self.put(&(key.len() as u32).to_be_bytes())?;
        self.put(key)?;
        self.put(&(value.len() as u32).to_be_bytes())?;
        self.put(value)?;
        self.report.pairs += 1;
        Ok(())
    }

    /// A file carried beside the store (the node key), by name.
    pub fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), BackupError> {
        if self.report.files as usize >= MAX_BACKUP_FILES || bytes.len() > MAX_BACKUP_FILE_BYTES {
            return Err(BackupError::Corrupt("file over its limit"));
        }
        self.put(&[TAG_FILE])?;
        self.name(name.as_bytes())?;
        self.put(&(bytes.len() as u32).to_be_bytes())?;
        self.put(bytes)?;
        self.report.files += 1;
        Ok(())
    }

    /// Writes the end record and the checksum, flushes, and returns the output and the report.
    pub fn finish(mut self) -> Result<(W, BackupReport), BackupError> {
        self.put(&[TAG_END])?;
        self.put(&self.report.pairs.to_be_bytes())?;
        self.put(&self.report.files.to_be_bytes())?;
        let sum = std::mem::take(&mut self.hasher).finalize();
        self.out.write_all(&sum)?;
        self.out.flush()?;
        self.report.bytes += CHECKSUM_BYTES as u64;
        Ok((self.out, self.report))
    }
}

/// Checks a backup file's magic, length and checksum in one streamed pass.
pub fn check_file(path: &Path) -> Result<(), BackupError> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut magic = [0u8; 8];
    if len < 8 {
        return Err(BackupError::Truncated);
    }
    file.read_exact(&mut magic)?;
    if &magic != BACKUP_MAGIC {
        return Err(BackupError::NotABackup);
    }
    // The smallest file: header, end record, checksum.
    if len < (HEADER_BYTES + 1 + 16 + CHECKSUM_BYTES) as u64 {
        return Err(BackupError::Truncated);
    }
    let mut hasher = Sha256::new();
    hasher.update(magic);
    let mut remaining = len - 8 - CHECKSUM_BYTES as u64;
    let mut buffer = vec![0u8; 64 * 1024];
    while remaining > 0 {
        let want = remaining.min(buffer.len() as u64) as usize;
        file.read_exact(&mut buffer[..want])?;
        hasher.update(&buffer[..want]);
        remaining -= want as u64;
    }
    let mut sum = [0u8; CHECKSUM_BYTES];
    file.read_exact(&mut sum)?;
    if hasher.finalize().as_slice() != sum {
        return Err(BackupError::ChecksumMismatch);
    }
    Ok(())
}

/// One record read from a backup.
enum Record {
    Tree(Vec<u8>),
    Pair(Vec<u8>, Vec<u8>),
    File(String, Vec<u8>),
    End(u64, u64),
}

struct Reader<R: Read> {
    input: R,
}

impl<R: Read> Reader<R> {
    /// Fills `out` from the input; an input that ends first is truncated.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), BackupError> {
        self.input.read_exact(out).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => BackupError::Truncated,
            _ => BackupError::Io(e),
        })
    }

    fn bytes(&mut self, len: usize) -> Result<Vec<u8>, BackupError> {
        let mut out = vec![0u8; len];
        self.fill(&mut out)?;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BackupError> {
        let mut out = [0u8; N];
        self.fill(&mut out)?;
        Ok(out)
    }

    fn sized(&mut self, len: usize, max: usize) -> Result<Vec<u8>, BackupError> {
        if len > max {
            return Err(BackupError::Corrupt("record over its limit"));
        }
        self.bytes(len)
    }

    fn name(&mut self) -> Result<Vec<u8>, BackupError> {
        let len = u16::from_be_bytes(self.array()?) as usize;
        self.sized(len, MAX_BACKUP_NAME_BYTES)
    }

    fn record(&mut self) -> Result<Record, BackupError> {
        let [tag] = self.array()?;
        match tag {
            TAG_TREE => Ok(Record::Tree(self.name()?)),
            TAG_PAIR => {
                let len = u32::from_be_bytes(self.array()?) as usize;
                let key = self.sized(len, MAX_BACKUP_KEY_BYTES)?;
                let len = u32::from_be_bytes(self.array()?) as usize;
                let value = self.sized(len, MAX_BACKUP_VALUE_BYTES)?;
                Ok(Record::Pair(key, value))
            }
            TAG_FILE => {
                let name = String::from_utf8(self.name()?)
                    .map_err(|_| BackupError::Corrupt("file name not UTF-8"))?;
                let len = u32::from_be_bytes(self.array()?) as usize;
                Ok(Record::File(name, self.sized(len, MAX_BACKUP_FILE_BYTES)?))
            }
            TAG_END => Ok(Record::End(
                u64::from_be_bytes(self.array()?),
                u64::from_be_bytes(self.array()?),
            )),
            _ => Err(BackupError::Corrupt("unknown record tag")),
        }
    }
}

/// What a restore wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Schema version of the restored store.
    pub schema: u32,
    /// Trees restored.
    pub trees: u64,
    /// Key-value pairs restored.
    pub pairs: u64,
    /// The files carried beside the store, by name, for the caller to place.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Restores the backup at `file` into a new sled database at `store_dir` (which must not exist
/// or be empty): checks the checksum, the format and schema versions, writes every pair, then
/// opens the result as a [`crate::SledStore`] (which checks every record) and returns what it
/// restored. On any failure the directory's contents written so far are removed.
pub fn restore_sled(file: &Path, store_dir: &Path) -> Result<RestoreReport, BackupError> {
    if store_dir.exists() && std::fs::read_dir(store_dir)?.next().is_some() {
        return Err(BackupError::NotEmpty(store_dir.to_path_buf()));
    }
    check_file(file)?;
    let result = restore_checked(file, store_dir);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(store_dir);
    }
    result
}

fn restore_checked(file: &Path, store_dir: &Path) -> Result<RestoreReport, BackupError> {
    let input = std::io::BufReader::new(std::fs::File::open(file)?);
    let len = std::fs::metadata(file)?.len();
    // The checksum was checked; read everything before it.
    let mut reader = Reader {
        input: input.take(len - CHECKSUM_BYTES as u64),
    };
    let _magic: [u8; 8] = reader.array()?;
    let format = u16::from_be_bytes(reader.array()?);
    if format != BACKUP_FORMAT_VERSION {
        return Err(BackupError::FormatUnsupported(format));
    }
    let schema = u32::from_be_bytes(reader.array()?);
    let expected = crate::sled_store::SCHEMA_VERSION;
    if schema > expected {
        return Err(BackupError::SchemaNewer {
            found: schema,
            expected,
        });
    }
    if schema < expected {
        return Err(BackupError::SchemaOlder {
            found: schema,
            expected,
        });
    }
    let mut report = RestoreReport {
        schema,
        ..RestoreReport::default()
    };
    {
        let db = sled::Config::new()
            .path(store_dir)
            .flush_every_ms(None)
            .open()?;
        let mut tree: Option<sled::Tree> = None;
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        loop {
            match reader.record()? {
                Record::Tree(name) => {
                    if let Some(done) = tree.take() {
                        done.apply_batch(std::mem::take(&mut batch))?;
                        in_batch = 0;
                    }
                    if report.trees as usize >= MAX_BACKUP_TREES {
                        return Err(BackupError::Corrupt("too many trees"));
                    }
                    tree = Some(db.open_tree(name)?);
                    report.trees += 1;
                }
                Record::Pair(key, value) => {
                    let target = tree
                        .as_ref()
                        .ok_or(BackupError::Corrupt("pair before any tree"))?;
                    batch.insert(key, value);
                    in_batch += 1;
                    report.pairs += 1;
                    if in_batch == RESTORE_BATCH {
                        target.apply_batch(std::mem::take(&mut batch))?;
                        in_batch = 0;
                    }
                }
                Record::File(name, bytes) => {
                    if report.files.len() >= MAX_BACKUP_FILES {
                        return Err(BackupError::Corrupt("too many files"));
                    }
                    report.files.push((name, bytes));
                }
                Record::End(pairs, files) => {
                    if pairs != report.pairs || files != report.files.len() as u64 {
                        return Err(BackupError::Corrupt("end record counts differ"));
                    }
                    break;
                }
            }
        }
        if let Some(done) = tree {
            done.apply_batch(batch)?;
        }
        let mut rest = [0u8; 1];
        if reader.input.read(&mut rest)? != 0 {
            return Err(BackupError::Corrupt("bytes after the end record"));
        }
        db.flush()?;
    }
    // Opening checks the schema and every record, and rebuilds the indexes.
    let store = crate::SledStore::open(store_dir)?;
    let integrity = store.verify_integrity()?;
    if let Some(problem) = integrity.problems.first() {
        return Err(BackupError::Store(StoreError::corrupt(
            "restored store",
            problem.clone(),
        )));
    }
    Ok(report)
}
