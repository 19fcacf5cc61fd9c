//! Report delivery benchmark (specs/accountability.md §1.3), on three real nodes started
//! in-process on loopback by the cluster harness: the room is hosted on B and C, its author is
//! homed on A (which does not host it), the reporters are homed on C.
//!
//! - **A up**: `--reports N` reports (default 50), one after another; for each, the time from
//!   just before the reporter's node is asked to prepare it until it is in A's operator queue.
//! - **A down**: A is stopped, `--down N` reports (default 10) are made, A is started again;
//!   for each, the time from the report until it is in A's queue, and from A's start until then.
//!
//! Prints p50, p99 and max of each. Each reporter makes at most ten reports (the per-reporter
//! burst), so the benchmark registers as many reporters as it needs.
//!
//! `cargo bench -p causerie-tests --bench reports` (release profile), or with `--profile dev`
//! (dependencies are optimised there too).

use std::time::{Duration, Instant};

use causerie_crypto::event::kinds;
use causerie_crypto::report::{Category, Target};
use causerie_crypto::{Event, ReportId, RoomId};
use causerie_node::reports::{ReportRequest, Reports};
use causerie_room::content::PowerLevels;
use causerie_tests::bench::{ms, percentile, say};
use causerie_tests::cluster::{Cluster, Result, TestUser, event_ids, text_content};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
/// How long one report may take to reach A.
const REPORT_TIMEOUT: Duration = Duration::from_secs(120);
/// Reports per reporter (the per-reporter burst).
const PER_REPORTER: usize = 10;

fn option(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .clamp(1, 10_000)
}

fn reports(cluster: &Cluster, index: usize) -> Reports {
    cluster.nodes[index].running().reports.clone()
}

fn print(name: &str, mut times: Vec<Duration>) {
    times.sort();
    say(&format!(
        "{name:<40} n={:<4} p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
        times.len(),
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 99.0)),
        ms(times.last().copied().unwrap_or_default()),
    ));
}

/// Waits (polling every millisecond) until `id` is in A's operator queue; when it got there.
async fn arrival(cluster: &Cluster, id: ReportId) -> Result<Instant> {
    let a = reports(cluster, A);
    let deadline = Instant::now() + REPORT_TIMEOUT;
    loop {
        if matches!(a.received_report(id).await, Ok(Some(r)) if r.operator.is_some()) {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            return Err(causerie_tests::cluster::HarnessError::Timeout(
                REPORT_TIMEOUT,
                format!("report {id} in A's queue"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

struct Reporters {
    list: Vec<TestUser>,
    made: usize,
}

impl Reporters {
    async fn next(&mut self, cluster: &Cluster, room: RoomId) -> Result<TestUser> {
        if self.made.is_multiple_of(PER_REPORTER) {
            let user = cluster
                .user(C, &format!("reporter-{}", self.list.len()))
                .await?;
            cluster.join(&user, room).await?;
            self.list.push(user);
        }
        self.made += 1;
        Ok(self.list[self.list.len() - 1].clone())
    }
}

fn failed(error: impl std::fmt::Display) -> causerie_tests::cluster::HarnessError {
    std::io::Error::other(error.to_string()).into()
}

async fn report(cluster: &Cluster, reporter: &TestUser, event: &Event) -> Result<ReportId> {
    let c = reports(cluster, C);
    let draft = c
        .prepare(
            reporter.key,
            ReportRequest {
                target: Target::Event,
                category: Category::Harassment,
                text: "benchmark".into(),
                room: None,
                user: None,
                events: vec![event.id()],
            },
        )
        .await
        .map_err(failed)?;
    let signed = draft.sign(&reporter.secret).map_err(failed)?;
    let sent = c.submit(reporter.key, signed).await.map_err(failed)?;
    Ok(sent.report.id())
}

async fn run() -> Result<()> {
    let count = option("--reports", 50);
    let down = option("--down", 10);
    let mut cluster = Cluster::start(3).await?;
    let harasser = cluster.user(A, "harasser").await?;
    let moderator = cluster.user(B, "moderator").await?;
    let room = cluster.create_room(&moderator).await?;
    cluster.join_room(C, room, B).await?;
    cluster
        .node(B)
        .add_attestation(harasser.attestation.clone())
        .await?;
    let mut via_b = harasser.clone();
    via_b.home = B;
    cluster.join(&via_b, room).await?;
    let levels = PowerLevels::default();
    cluster
        .send(
            &moderator,
            room,
            kinds::POWER_LEVELS,
            Some(""),
            levels.to_content(),
        )
        .await?;
    let event = cluster
        .send(&via_b, room, kinds::MESSAGE, None, text_content("go away"))
        .await?;
    causerie_tests::cluster::wait_until(REPORT_TIMEOUT, "the message on C", || async {
        event_ids(cluster.node(C), room)
            .await
            .map(|ids| ids.contains(&event.id()))
            .unwrap_or(false)
    })
    .await?;
    let mut reporters = Reporters {
        list: Vec::new(),
        made: 0,
    };

    let mut up = Vec::with_capacity(count);
    for _ in 0..count {
        let reporter = reporters.next(&cluster, room).await?;
        let start = Instant::now();
        let id = report(&cluster, &reporter, &event).await?;
        up.push(arrival(&cluster, id).await? - start);
    }

    // Reporters first, so that A's absence is all the reports wait for.
    let mut made = Vec::new();
    let mut down_reporters = Vec::new();
    for _ in 0..down {
        down_reporters.push(reporters.next(&cluster, room).await?);
    }
    cluster.stop(A).await;
    for reporter in &down_reporters {
        let start = Instant::now();
        made.push((report(&cluster, reporter, &event).await?, start));
    }
    let restart = Instant::now();
    cluster.restart(A, true).await?;
    let mut since_report = Vec::new();
    let mut since_restart = Vec::new();
    for (id, start) in made {
        let at = arrival(&cluster, id).await?;
        since_report.push(at - start);
        since_restart.push(at - restart);
    }
    say("report delivery to the author's home node (loopback, 3 nodes)");
    print("report -> A's queue (A up)", up);
    print("report -> A's queue (A down, then back)", since_report);
    print("A started again -> A's queue", since_restart);
    cluster.shutdown().await;
    Ok(())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    if let Err(e) = runtime.block_on(run()) {
        panic!("benchmark failed: {e}");
    }
}
