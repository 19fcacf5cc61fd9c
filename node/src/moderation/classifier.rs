//! The classifier hook (specs/moderation.md §6, a node rule): an external program, in any
//! language, that the node runs as a child process and asks about candidate events, one JSON
//! line per request on its stdin, one JSON line per answer on its stdout, matched by id.
//!
//! Requests are concurrent: [`Classifier::classify`] writes its line and waits for the answer
//! with the id it asked about, so a slow answer for one room never delays another room (the
//! child may answer in any order). Every wait is bounded by the configured timeout; at most
//! [`MAX_IN_FLIGHT`] requests wait at once; answer lines over [`MAX_ANSWER_LINE_BYTES`] and
//! lines that do not parse are counted by reason and ignored. When the classifier cannot answer
//! (timeout, crash, restarting, overloaded) the room's [`FailMode`] decides: `fail_open`
//! accepts, `fail_closed` holds for review (never a silent drop).
//!
//! Layout: [`Classifier`] is the cloneable handle; `supervise` is its one task, which starts the
//! child, restarts it after a crash or exit with an exponential backoff from
//! [`RESTART_BACKOFF_MIN`] to [`RESTART_BACKOFF_MAX`], and stops it on shutdown. Around each
//! child, a writer task feeds its stdin, a reader task splits its stdout into bounded lines and
//! a third logs its stderr.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use causerie_crypto::{EventId, RoomId, UserKey};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::counters::ReasonCounts;

/// How long a request waits for its answer by default (under one second, so a stuck
/// classifier costs a sender less than a second before the room's fail mode decides).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(800);
/// Longest configurable timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Most requests waiting for an answer at once; beyond, the fail mode decides at once
/// (`classifier_overloaded`).
pub const MAX_IN_FLIGHT: usize = 256;
/// Longest request line (an event is at most 65,536 bytes; JSON escaping can grow it).
pub const MAX_REQUEST_LINE_BYTES: usize = 512 * 1024;
/// Longest answer line the node reads; longer ones are skipped and counted.
pub const MAX_ANSWER_LINE_BYTES: usize = 8 * 1024;
/// Longest reason in an answer.
pub const MAX_CLASSIFIER_REASON_BYTES: usize = 1_024;
/// Most labels in an answer.
pub const MAX_LABELS: usize = 16;
/// Longest label.
pub const MAX_LABEL_BYTES: usize = 64;
/// Most arguments given to the program.
pub const MAX_CLASSIFIER_ARGS: usize = 32;
/// Longest stderr line of the child that is logged (the rest is cut).
pub const MAX_STDERR_LINE_BYTES: usize = 1_024;
/// First wait before restarting a classifier that exited or could not start.
pub const RESTART_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait between restarts (the wait doubles each time).
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A child that ran this long before exiting was healthy: the next restart waits
/// [`RESTART_BACKOFF_MIN`] again.
pub const HEALTHY_RUN: Duration = Duration::from_secs(10);
/// Lines queued for the child's stdin.
const WRITE_QUEUE_LEN: usize = MAX_IN_FLIGHT;

/// What a room does when the classifier cannot answer, or whether it is asked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// The room's events are not classified.
    Off,
    /// Accept (the default: a broken classifier must not silence rooms).
    #[default]
    FailOpen,
    /// Hold for review.
    FailClosed,
}

impl FailMode {
    /// Parses `off`, `fail_open` or `fail_closed`.
    pub fn parse(text: &str) -> Option<FailMode> {
        match text {
            "off" => Some(FailMode::Off),
            "fail_open" => Some(FailMode::FailOpen),
            "fail_closed" => Some(FailMode::FailClosed),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            FailMode::Off => "off",
            FailMode::FailOpen => "fail_open",
            FailMode::FailClosed => "fail_closed",
        }
    }
}

/// The classifier part of the node configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifierConfig {
    /// The program to run.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// How long a request waits for its answer.
    pub timeout: Duration,
    /// The fail mode of rooms whose state names none.
    pub fail_mode: FailMode,
    /// Fail modes of particular rooms, when their state names none.
    pub rooms: BTreeMap<RoomId, FailMode>,
}

/// Where a candidate event came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateSource {
    /// A local client submitted it.
    Client,
    /// A peer sent it (its libp2p peer id, when known).
    Peer(Option<String>),
}

impl CandidateSource {
    /// Its form in a request line.
    pub fn wire(&self) -> String {
        match self {
            CandidateSource::Client => "client".into(),
            CandidateSource::Peer(Some(peer)) => format!("peer:{peer}"),
            CandidateSource::Peer(None) => "peer".into(),
        }
    }
}

/// An event the classifier is asked about.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its id.
    pub id: EventId,
    /// Its room.
    pub room: RoomId,
    /// Its author.
    pub author: UserKey,
    /// Its kind.
    pub kind: String,
    /// Its content as JSON (the client API's form).
    pub content: Json,
    /// The author's attestation as JSON (the client API's form), if the node holds it.
    pub attestation: Option<Json>,
    /// Where it came from.
    pub source: CandidateSource,
    /// When this node received it (ms since the Unix epoch).
    pub received_ms: u64,
}

/// One request line.
#[derive(Serialize)]
struct RequestLine<'a> {
    id: String,
    room: String,
    author: String,
    kind: &'a str,
    content: &'a Json,
    attestation: &'a Option<Json>,
    source: String,
    received_ms: u64,
}

/// One answer line, before its checks.
#[derive(Deserialize)]
struct AnswerLine {
    id: String,
    decision: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
}

/// What the classifier answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Take the event.
    Accept,
    /// Refuse it.
    Reject {
        /// Why, for the author and the moderators.
        reason: Option<String>,
    },
    /// Put it in the room's review queue.
    Hold {
        /// Why, for the moderators.
        reason: Option<String>,
    },
    /// Take it, flagged with labels (it is also queued for review, shown meanwhile).
    Labels {
        /// The labels (1 to [`MAX_LABELS`]).
        labels: Vec<String>,
        /// Why, for the moderators.
        reason: Option<String>,
    },
}

impl Decision {
    /// Its name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject { .. } => "reject",
            Decision::Hold { .. } => "hold",
            Decision::Labels { .. } => "labels",
        }
    }
}

/// Why the classifier gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the timeout.
    Timeout,
    /// The child exited before answering.
    Crashed,
    /// The child is not running (restarting after a crash, or could not start).
    Unavailable,
    /// [`MAX_IN_FLIGHT`] requests already wait.
    Overloaded,
    /// The request line would exceed [`MAX_REQUEST_LINE_BYTES`].
    RequestTooLarge,
}

impl Failure {
    /// Stable reason name.
    pub fn reason(self) -> &'static str {
        match self {
            Failure::Timeout => "classifier_timeout",
            Failure::Crashed => "classifier_crashed",
            Failure::Unavailable => "classifier_unavailable",
            Failure::Overloaded => "classifier_overloaded",
            Failure::RequestTooLarge => "classifier_request_too_large",
        }
    }
}

/// Who decided a [`Ruling`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuledBy {
    /// Nobody: the room's classifier is off.
    Off,
    /// The classifier's answer.
    Classifier,
    /// The room's fail mode, because the classifier failed this way.
    FailMode(FailMode, Failure),
}

/// What the node does with a candidate: the classifier's answer, or the room's fail mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    /// The decision.
    pub decision: Decision,
    /// Who made it.
    pub by: RuledBy,
}

impl Ruling {
    /// The reason to show and to keep: the classifier's, or the failure's name.
    pub fn reason(&self) -> Option<String> {
        match (&self.decision, self.by) {
            (_, RuledBy::FailMode(_, failure)) => Some(failure.reason().to_owned()),
            (
                Decision::Reject { reason }
                | Decision::Hold { reason }
                | Decision::Labels { reason, .. },
                _,
            ) => reason.clone(),
            (Decision::Accept, _) => None,
        }
    }

    /// The labels the classifier gave (empty unless [`Decision::Labels`]).
    pub fn labels(&self) -> &[String] {
        match &self.decision {
            Decision::Labels { labels, .. } => labels,
            _ => &[],
        }
    }
}

/// The classifier's counters, rendered in `/metrics`.
#[derive(Debug, Default)]
pub struct ClassifierMetrics {
    /// Rulings by decision and who made it (`accept`, `hold_fail_closed`, ...).
    pub rulings: ReasonCounts,
    /// Requests the classifier did not answer, by failure.
    pub failures: ReasonCounts,
    /// Answer lines ignored, by reason (`bad_json`, `line_too_long`, `unknown_id`, ...).
    pub bad_lines: ReasonCounts,
    /// Times the child was started after the first.
    pub restarts: AtomicU64,
    /// Requests waiting for an answer now.
    pub in_flight: AtomicU64,
}

impl ClassifierMetrics {
    /// Appends the counters to `out` in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        self.rulings.render(
            out,
            "causerie_classifier_rulings_total",
            "Classifier rulings, by decision and who made it.",
        );
        self.failures.render(
            out,
            "causerie_classifier_failures_total",
            "Classifier requests not answered, by reason.",
        );
        self.bad_lines.render(
            out,
            "causerie_classifier_bad_lines_total",
            "Classifier answer lines ignored, by reason.",
        );
        let _ = writeln!(
            out,
            "# HELP causerie_classifier_restarts_total Classifier restarts.\n# TYPE causerie_classifier_restarts_total counter\ncauserie_classifier_restarts_total {}",
            self.restarts.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP causerie_classifier_in_flight Classifier requests waiting.\n# TYPE causerie_classifier_in_flight gauge\ncauserie_classifier_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
    }
}

type Answer = Result<Decision, Failure>;

/// A request on its way to the supervisor.
struct Pending {
    id: String,
    line: Vec<u8>,
    reply: oneshot::Sender<Answer>,
}

/// Cloneable handle to the classifier task. [`Classifier::classify`] is cancel-safe (a dropped
/// request is forgotten; its answer, if it comes, is counted as `late_answer`).
#[derive(Clone)]
pub struct Classifier {
    requests: mpsc::Sender<Pending>,
    in_flight: Arc<Semaphore>,
    config: Arc<ClassifierConfig>,
    metrics: Arc<ClassifierMetrics>,
}

/// Decrements the in-flight gauge when a request ends, however it ends.
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Classifier {
    /// Starts the classifier task (and the child) on the current runtime; it stops the child
    /// and ends when `shutdown` is cancelled.
    pub fn spawn(
        config: ClassifierConfig,
        shutdown: CancellationToken,
    ) -> (Classifier, JoinHandle<()>) {
        let (requests, receiver) = mpsc::channel(MAX_IN_FLIGHT);
        let metrics = Arc::new(ClassifierMetrics::default());
        let config = Arc::new(config);
        let task = tokio::spawn(supervise(
            config.clone(),
            receiver,
            metrics.clone(),
            shutdown,
        ));
        (
            Classifier {
                requests,
                in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
                config,
                metrics,
            },
            task,
        )
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<ClassifierMetrics> {
        self.metrics.clone()
    }

    /// The fail mode of `room`: the room's own rule (`room.content_rules`, field `classifier`)
    /// when its state names one, else the node's configuration for the room, else the node's
    /// default.
    pub fn fail_mode(&self, room: &RoomId, room_rule: Option<FailMode>) -> FailMode {
        room_rule
            .or_else(|| self.config.rooms.get(room).copied())
            .unwrap_or(self.config.fail_mode)
    }

    /// Asks about `candidate` and applies `mode` when no answer comes; logs and counts the
    /// ruling.
    pub async fn classify(&self, candidate: &Candidate, mode: FailMode) -> Ruling {
        let ruling = match mode {
            FailMode::Off => Ruling {
                decision: Decision::Accept,
                by: RuledBy::Off,
            },
            _ => match self.ask(candidate).await {
                Ok(decision) => Ruling {
                    decision,
                    by: RuledBy::Classifier,
                },
                Err(failure) => return self.fail(candidate, mode, failure),
            },
        };
        self.record(candidate, ruling)
    }

    /// The ruling of `mode` for `candidate` when the classifier could not answer (`failure`),
    /// logged and counted; the classifier is not asked.
    pub fn fail(&self, candidate: &Candidate, mode: FailMode, failure: Failure) -> Ruling {
        self.metrics.failures.increment(failure.reason());
        let ruling = match mode {
            FailMode::Off => Ruling {
                decision: Decision::Accept,
                by: RuledBy::Off,
            },
            FailMode::FailClosed => Ruling {
                decision: Decision::Hold { reason: None },
                by: RuledBy::FailMode(mode, failure),
            },
            FailMode::FailOpen => Ruling {
                decision: Decision::Accept,
                by: RuledBy::FailMode(mode, failure),
            },
        };
        self.record(candidate, ruling)
    }

    /// Counts and logs a ruling.
    fn record(&self, candidate: &Candidate, ruling: Ruling) -> Ruling {
        self.metrics.rulings.increment(ruling_name(&ruling));
        if ruling.by != RuledBy::Off {
            tracing::info!(
                id = %candidate.id,
                room = %candidate.room,
                source = %candidate.source.wire(),
                decision = ruling.decision.name(),
                reason = ruling.reason().as_deref().unwrap_or(""),
                labels = ?ruling.labels(),
                by = ruled_by_name(ruling.by),
                "classifier decision"
            );
        }
        ruling
    }

    async fn ask(&self, candidate: &Candidate) -> Answer {
        let Ok(_permit) = self.in_flight.try_acquire() else {
            return Err(Failure::Overloaded);
        };
        self.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        let _gauge = InFlight(&self.metrics.in_flight);
        let id = candidate.id.to_string();
        let request = RequestLine {
            id: id.clone(),
            room: candidate.room.to_string(),
            author: hex::encode(candidate.author.as_bytes()),
            kind: &candidate.kind,
            content: &candidate.content,
            attestation: &candidate.attestation,
            source: candidate.source.wire(),
            received_ms: candidate.received_ms,
        };
        let mut line = serde_json::to_vec(&request).map_err(|_| Failure::RequestTooLarge)?;
        if line.len() >= MAX_REQUEST_LINE_BYTES {
            return Err(Failure::RequestTooLarge);
        }
        line.push(b'\n');
        let (reply, answer) = oneshot::channel();
        let deadline = Instant::now() + self.config.timeout;
        let sent =
            tokio::time::timeout_at(deadline, self.requests.send(Pending { id, line, reply }))
                .await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(Failure::Unavailable),
            Err(_) => return Err(Failure::Timeout),
        }
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(Failure::Unavailable),
            Err(_) => Err(Failure::Timeout),
        }
    }
}

fn ruled_by_name(by: RuledBy) -> &'static str {
    match by {
        RuledBy::Off => "off",
        RuledBy::Classifier => "classifier",
        RuledBy::FailMode(mode, _) => mode.name(),
    }
}

fn ruling_name(ruling: &Ruling) -> &'static str {
    match (&ruling.decision, ruling.by) {
        (_, RuledBy::Off) => "off",
        (Decision::Accept, RuledBy::Classifier) => "accept",
        (Decision::Reject { .. }, RuledBy::Classifier) => "reject",
        (Decision::Hold { .. }, RuledBy::Classifier) => "hold",
        (Decision::Labels { .. }, RuledBy::Classifier) => "labels",
        (Decision::Hold { .. }, RuledBy::FailMode(..)) => "hold_fail_closed",
        (_, RuledBy::FailMode(..)) => "accept_fail_open",
    }
}

/// Checks one answer line: its id and decision, or the reason it is ignored.
fn parse_answer(line: &[u8]) -> Result<(String, Decision), &'static str> {
    let answer: AnswerLine = serde_json::from_slice(line).map_err(|_| "bad_json")?;
    if let Some(reason) = &answer.reason
        && reason.len() > MAX_CLASSIFIER_REASON_BYTES
    {
        return Err("bad_reason");
    }
    let labels = answer.labels.unwrap_or_default();
    if labels.len() > MAX_LABELS
        || labels
            .iter()
            .any(|l| l.is_empty() || l.len() > MAX_LABEL_BYTES || l.chars().any(char::is_control))
    {
        return Err("bad_labels");
    }
    let reason = answer.reason;
    let decision = match answer.decision.as_str() {
        "accept" => Decision::Accept,
        "reject" => Decision::Reject { reason },
        "hold" => Decision::Hold { reason },
        "labels" if !labels.is_empty() => Decision::Labels { labels, reason },
        "labels" => return Err("bad_labels"),
        _ => return Err("bad_decision"),
    };
    Ok((answer.id, decision))
}

/// What the reader task reports.
enum Read {
    Line(Vec<u8>),
    TooLong,
}

/// Splits `stdout` into lines of at most [`MAX_ANSWER_LINE_BYTES`]; longer lines are skipped
/// whole and reported as [`Read::TooLong`]. Ends at end of file or when the receiver is gone.
async fn read_lines(stdout: impl AsyncRead + Unpin, lines: mpsc::Sender<Read>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut skipping = false;
    while let Some(ends) = next_piece(&mut reader, |part| {
        if !skipping {
            if line.len() + part.len() > MAX_ANSWER_LINE_BYTES {
                skipping = true;
                line.clear();
            } else {
                line.extend_from_slice(part);
            }
        }
    })
    .await
    {
        if ends {
            let read = if std::mem::take(&mut skipping) {
                Read::TooLong
            } else {
                Read::Line(std::mem::take(&mut line))
            };
            if lines.send(read).await.is_err() {
                return;
            }
        }
    }
}

/// Reads the next piece of a line from `reader`: hands `take` the buffered bytes up to the next
/// newline (or all of them when none is buffered), consumes them with the newline, and says
/// whether the line ended. `None` at end of file or on a read error.
async fn next_piece<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    take: impl FnOnce(&[u8]),
) -> Option<bool> {
    let available = match reader.fill_buf().await {
        Ok([]) | Err(_) => return None,
        Ok(available) => available,
    };
    let (part, consumed, ends) = match available.iter().position(|&b| b == b'\n') {
        Some(at) => (&available[..at], at + 1, true),
        None => (available, available.len(), false),
    };
    take(part);
    reader.consume(consumed);
    Some(ends)
}

/// Logs the child's stderr, a line at a time, cut at [`MAX_STDERR_LINE_BYTES`].
async fn log_stderr(stderr: impl AsyncRead + Unpin) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    while let Some(ends) = next_piece(&mut reader, |part| {
        let room = MAX_STDERR_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&part[..part.len().min(room)]);
    })
    .await
    {
        if ends {
            tracing::warn!(line = %String::from_utf8_lossy(&line), "classifier stderr");
            line.clear();
        }
    }
}

/// How one child's run ended.
enum Ended {
    Shutdown,
    Exited,
}

/// Runs the classifier: starts the child, restarts it with backoff, stops it on shutdown.
/// While no child runs, requests are answered [`Failure::Unavailable`] at once.
async fn supervise(
    config: Arc<ClassifierConfig>,
    mut requests: mpsc::Receiver<Pending>,
    metrics: Arc<ClassifierMetrics>,
    shutdown: CancellationToken,
) {
    let mut backoff = RESTART_BACKOFF_MIN;
    let mut first = true;
    loop {
        if !first {
            metrics.restarts.fetch_add(1, Ordering::Relaxed);
        }
        first = false;
        let started = Instant::now();
        let mut command = tokio::process::Command::new(&config.program);
        command
            .args(&config.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match command.spawn() {
            Ok(child) => {
                tracing::info!(program = %config.program.display(), pid = child.id(), "classifier started");
                match run_child(child, &mut requests, &metrics, &shutdown).await {
                    Ended::Shutdown => return,
                    Ended::Exited => {}
                }
            }
            Err(e) => {
                tracing::warn!(program = %config.program.display(), error = %e, "classifier did not start");
            }
        }
        if started.elapsed() >= HEALTHY_RUN {
            backoff = RESTART_BACKOFF_MIN;
        }
        tracing::warn!(
            backoff_ms = backoff.as_millis() as u64,
            "classifier restarts after a pause"
        );
        let until = Instant::now() + backoff;
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(until) => break,
                request = requests.recv() => match request {
                    Some(request) => {
                        let _ = request.reply.send(Err(Failure::Unavailable));
                    }
                    None => return,
                },
            }
        }
        backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
    }
}

/// Serves requests with one child until it exits or the node shuts down.
async fn run_child(
    mut child: tokio::process::Child,
    requests: &mut mpsc::Receiver<Pending>,
    metrics: &ClassifierMetrics,
    shutdown: &CancellationToken,
) -> Ended {
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.start_kill();
        return Ended::Exited;
    };
    let (write, mut to_write) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE_LEN);
    let writer = tokio::spawn(async move {
        while let Some(line) = to_write.recv().await {
            if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                return;
            }
        }
    });
    let (lines_sender, mut lines) = mpsc::channel(MAX_IN_FLIGHT);
    let reader = tokio::spawn(read_lines(stdout, lines_sender));
    let stderr_task = tokio::spawn(log_stderr(stderr));
    // Requests waiting for their answer, by id (several waiters when one event is asked about
    // twice at once). Bounded by MAX_IN_FLIGHT live waiters plus those whose caller gave up,
    // which are dropped once the map reaches MAX_IN_FLIGHT.
    let mut pending: BTreeMap<String, Vec<oneshot::Sender<Answer>>> = BTreeMap::new();
    let ended = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break Ended::Shutdown,
            status = child.wait() => {
                match status {
                    Ok(status) => tracing::warn!(%status, "classifier exited"),
                    Err(e) => tracing::warn!(error = %e, "classifier lost"),
                }
                break Ended::Exited;
            }
            read = lines.recv() => match read {
                Some(Read::Line(line)) => answer(&line, &mut pending, metrics),
                Some(Read::TooLong) => metrics.bad_lines.increment("line_too_long"),
                // Its stdout closed: it cannot answer any more.
                None => {
                    tracing::warn!("classifier closed its output");
                    break Ended::Exited;
                }
            },
            request = requests.recv() => {
                let Some(request) = request else { break Ended::Shutdown };
                if pending.len() >= MAX_IN_FLIGHT {
                    pending.retain(|_, waiters| {
                        waiters.retain(|w| !w.is_closed());
                        !waiters.is_empty()
                    });
                }
                match write.try_send(request.line) {
                    Ok(()) => pending.entry(request.id).or_default().push(request.reply),
                    Err(_) => {
                        let _ = request.reply.send(Err(Failure::Overloaded));
                    }
                }
            }
        }
    };
    let failure = match ended {
        Ended::Shutdown => Failure::Unavailable,
        Ended::Exited => Failure::Crashed,
    };
    for waiter in pending.into_values().flatten() {
        let _ = waiter.send(Err(failure));
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
    writer.abort();
    reader.abort();
    stderr_task.abort();
    ended
}

/// Hands one answer line to the requests waiting for its id, or counts why it is ignored.
fn answer(
    line: &[u8],
    pending: &mut BTreeMap<String, Vec<oneshot::Sender<Answer>>>,
    metrics: &ClassifierMetrics,
) {
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let (id, decision) = match parse_answer(line) {
        Ok(parsed) => parsed,
        Err(reason) => {
            metrics.bad_lines.increment(reason);
            return;
        }
    };
    let Some(waiters) = pending.remove(&id) else {
        metrics.bad_lines.increment("unknown_id");
        return;
    };
    let mut delivered = false;
    for waiter in waiters {
        delivered |= waiter.send(Ok(decision.clone())).is_ok();
    }
    if !delivered {
        metrics.bad_lines.increment("late_answer");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked() {
        let ok = |line: &str| parse_answer(line.as_bytes());
        assert_eq!(
            ok(r#"{"id":"x","decision":"accept"}"#),
            Ok(("x".into(), Decision::Accept))
        );
        assert_eq!(
            ok(r#"{"id":"x","decision":"reject","reason":"spam","extra":1}"#),
            Ok((
                "x".into(),
                Decision::Reject {
                    reason: Some("spam".into())
                }
            ))
        );
        assert_eq!(
            ok(r#"{"id":"x","decision":"labels","labels":["nsfw"]}"#),
            Ok((
                "x".into(),
                Decision::Labels {
                    labels: vec!["nsfw".into()],
                    reason: None
                }
            ))
        );
        assert_eq!(ok("not json"), Err("bad_json"));
        assert_eq!(ok(r#"{"id":"x"}"#), Err("bad_json"));
        assert_eq!(ok(r#"{"id":"x","decision":"maybe"}"#), Err("bad_decision"));
        assert_eq!(ok(r#"{"id":"x","decision":"labels"}"#), Err("bad_labels"));
        assert_eq!(
            ok(r#"{"id":"x","decision":"labels","labels":[""]}"#),
            Err("bad_labels")
        );
        let long = format!(
            r#"{{"id":"x","decision":"hold","reason":"{}"}}"#,
            "r".repeat(MAX_CLASSIFIER_REASON_BYTES + 1)
        );
        assert_eq!(ok(&long), Err("bad_reason"));
    }

    #[test]
    fn fail_modes_parse_and_name() {
        for mode in [FailMode::Off, FailMode::FailOpen, FailMode::FailClosed] {
            assert_eq!(FailMode::parse(mode.name()), Some(mode));
        }
        assert_eq!(FailMode::parse("closed"), None);
    }

    #[tokio::test]
    async fn long_lines_are_skipped_whole() {
        let mut input = Vec::new();
        input.extend_from_slice(b"first\n");
        input.extend(std::iter::repeat_n(b'x', MAX_ANSWER_LINE_BYTES + 10));
        input.extend_from_slice(b"\nsecond\n");
        let (sender, mut lines) = mpsc::channel(8);
        read_lines(&input[..], sender).await;
        let mut got = Vec::new();
        while let Some(read) = lines.recv().await {
            got.push(match read {
                Read::Line(line) => String::from_utf8(line).unwrap(),
                Read::TooLong => "<too long>".into(),
            });
        }
        assert_eq!(got, ["first", "<too long>", "second"]);
    }
}
