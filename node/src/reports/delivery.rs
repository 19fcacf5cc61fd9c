//! The reports task: delivers the outbox's letters and handles the report letters in this
//! node's inbox. One task per node; it wakes when a letter is queued, when a letter arrives,
//! when a delivery ends, and every [`DELIVERY_TICK`].

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use causerie_crypto::audit::AuditKind;
use causerie_crypto::report::{Queue, Status};
use causerie_crypto::{NodeKey, Receipt, Report};
use causerie_storage::{InboxId, MAX_INBOX_ITEMS, MAX_INBOX_PAGE, ReportTable};
use libp2p::PeerId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::records::{OutboxRecord, ReceivedReport};
use super::{
    DELIVERY_TICK, DELIVERY_TIMEOUT, LETTER_RECEIPT, LETTER_REPORT, MAX_LETTER_AGE_MS,
    MAX_LETTERS_IN_FLIGHT, MAX_RECEIPTS_PER_REPORT, REDACTION_CHECK_INTERVAL, RETRY_MAX, RETRY_MIN,
    Reports, ReportsError, review_entries,
};
use crate::clock::now_ms;
use crate::letter::NodeLetter;
use crate::net::wire::{ErrorReason, Request, Response};
use crate::node::NodeError;

/// How one delivery attempt ended.
enum Attempt {
    /// The node has the letter durably.
    Delivered,
    /// Try again later.
    Retry(&'static str),
    /// The node refused the letter itself: it will never take it.
    Refused(&'static str),
}

/// The libp2p identity of a node key.
pub(crate) fn peer_of(key: &NodeKey) -> Option<PeerId> {
    let public = libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(public).to_peer_id())
}

fn backoff_ms(attempts: u32) -> u64 {
    let min = u64::try_from(RETRY_MIN.as_millis()).unwrap_or(u64::MAX);
    let max = u64::try_from(RETRY_MAX.as_millis()).unwrap_or(u64::MAX);
    min.saturating_mul(1u64 << attempts.min(20)).min(max)
}

pub(super) async fn run(reports: Reports, shutdown: CancellationToken) {
    let (done, mut finished) = mpsc::channel::<(u64, Attempt)>(MAX_LETTERS_IN_FLIGHT);
    let mut in_flight: BTreeSet<u64> = BTreeSet::new();
    let mut connected: BTreeSet<PeerId> = BTreeSet::new();
    let letters = reports.0.node.letters_arrived();
    let mut last_check = std::time::Instant::now();
    let mut checked_after: Option<causerie_crypto::ReportId> = None;
    let mut ticks = tokio::time::interval(DELIVERY_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut ended = Vec::new();
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            Some(result) = finished.recv() => ended.push(result),
            _ = reports.0.wake.notified() => {}
            _ = letters.notified() => {}
            _ = ticks.tick() => {}
        }
        while let Ok(result) = finished.try_recv() {
            ended.push(result);
        }
        for (id, attempt) in ended {
            in_flight.remove(&id);
            if let Err(e) = reports.attempt_ended(id, attempt).await {
                tracing::warn!(letter = id, reason = e.reason(), "outbox not updated");
            }
        }
        if let Err(e) = reports.handle_inbox().await {
            tracing::warn!(reason = e.reason(), "report letters not handled");
        }
        // A node that connects again gets its letters at once rather than after its backoff.
        let now_connected: BTreeSet<PeerId> = reports
            .0
            .net
            .connected_peers()
            .await
            .unwrap_or_default()
            .into_iter()
            .collect();
        let fresh: BTreeSet<PeerId> = now_connected.difference(&connected).copied().collect();
        connected = now_connected;
        if let Err(e) = reports.start_due(&mut in_flight, &fresh, &done).await {
            tracing::warn!(reason = e.reason(), "outbox not read");
        }
        if last_check.elapsed() >= REDACTION_CHECK_INTERVAL {
            last_check = std::time::Instant::now();
            match reports.check_redacted(checked_after).await {
                Ok(next) => checked_after = next,
                Err(e) => tracing::warn!(reason = e.reason(), "reported events not checked"),
            }
        }
    }
}

impl Reports {
    /// Starts an attempt for every due letter not in flight, up to [`MAX_LETTERS_IN_FLIGHT`].
    async fn start_due(
        &self,
        in_flight: &mut BTreeSet<u64>,
        fresh: &BTreeSet<PeerId>,
        done: &mpsc::Sender<(u64, Attempt)>,
    ) -> Result<(), ReportsError> {
        if in_flight.len() >= MAX_LETTERS_IN_FLIGHT {
            return Ok(());
        }
        let now = now_ms();
        let page = self
            .scan(
                ReportTable::Outbox,
                Vec::new(),
                None,
                causerie_storage::MAX_REPORT_SCAN,
            )
            .await?;
        for (key, bytes) in page {
            let Ok(id) = <[u8; 8]>::try_from(key.as_slice()).map(u64::from_be_bytes) else {
                continue;
            };
            if in_flight.contains(&id) {
                continue;
            }
            let record = OutboxRecord::decode(&bytes)?;
            let reconnected = peer_of(&record.to).is_some_and(|p| fresh.contains(&p));
            if record.next_ms > now && !reconnected {
                continue;
            }
            in_flight.insert(id);
            let reports = self.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let attempt = reports.deliver(&record).await;
                let _ = done.send((id, attempt)).await;
            });
            if in_flight.len() >= MAX_LETTERS_IN_FLIGHT {
                break;
            }
        }
        Ok(())
    }

    /// One attempt at delivering a letter: to this node's own inbox, or over the network.
    async fn deliver(&self, record: &OutboxRecord) -> Attempt {
        let letter = match NodeLetter::decode(&record.letter) {
            Ok(letter) => letter,
            Err(e) => return Attempt::Refused(e.reason()),
        };
        if record.to == self.0.key {
            return match self.0.node.inbox().deliver(letter).await {
                Ok(_) => Attempt::Delivered,
                Err(NodeError::Letter(e)) => Attempt::Refused(e.reason()),
                Err(e) => Attempt::Retry(e.reason()),
            };
        }
        let Some(peer) = peer_of(&record.to) else {
            return Attempt::Refused("bad_node_key");
        };
        let request = Request::Deliver {
            message: serde_bytes::ByteBuf::from(letter.as_bytes().to_vec()),
        };
        match tokio::time::timeout(DELIVERY_TIMEOUT, self.0.net.request(peer, request)).await {
            Err(_) => Attempt::Retry("timeout"),
            Ok(Err(e)) => Attempt::Retry(e.reason()),
            Ok(Ok(Response::Delivered)) => Attempt::Delivered,
            Ok(Ok(Response::Error {
                reason: ErrorReason::MessageRefused,
            })) => Attempt::Refused("message_refused"),
            Ok(Ok(Response::Error { reason })) => Attempt::Retry(reason.reason()),
            Ok(Ok(_)) => Attempt::Retry("bad_response"),
        }
    }

    /// Removes a delivered or refused letter; schedules a failed one again.
    async fn attempt_ended(&self, id: u64, attempt: Attempt) -> Result<(), ReportsError> {
        let key = id.to_be_bytes().to_vec();
        let metrics = &self.0.metrics;
        match attempt {
            Attempt::Delivered => {
                metrics.letters_delivered.fetch_add(1, Ordering::Relaxed);
                self.remove(ReportTable::Outbox, key).await?;
            }
            Attempt::Refused(reason) => {
                metrics.refused.increment("letter_refused");
                tracing::warn!(
                    letter = id,
                    reason,
                    "letter refused by its recipient; dropped"
                );
                self.remove(ReportTable::Outbox, key).await?;
            }
            Attempt::Retry(reason) => {
                metrics.letters_retried.fetch_add(1, Ordering::Relaxed);
                let Some(bytes) = self.get(ReportTable::Outbox, key.clone()).await? else {
                    return Ok(());
                };
                let mut record = OutboxRecord::decode(&bytes)?;
                let now = now_ms();
                if now.saturating_sub(record.queued_ms) > MAX_LETTER_AGE_MS {
                    metrics.refused.increment("letter_expired");
                    tracing::warn!(letter = id, to = %record.to, "letter undelivered for too long; dropped");
                    self.remove(ReportTable::Outbox, key).await?;
                    return Ok(());
                }
                record.attempts = record.attempts.saturating_add(1);
                record.next_ms = now.saturating_add(backoff_ms(record.attempts));
                tracing::debug!(letter = id, to = %record.to, reason, attempts = record.attempts, "letter not delivered; retrying");
                self.put(ReportTable::Outbox, key, record.encode()?).await?;
            }
        }
        Ok(())
    }

    async fn remove(&self, table: ReportTable, key: Vec<u8>) -> Result<bool, ReportsError> {
        Ok(self
            .0
            .store
            .read(move |store| store.report_remove(table, &key))
            .await?)
    }

    /// Handles every report and receipt letter in the inbox (other kinds stay for their
    /// readers). A letter whose handling failed for a passing reason stays and is tried again.
    async fn handle_inbox(&self) -> Result<(), ReportsError> {
        let inbox = self.0.node.inbox();
        let mut after: Option<InboxId> = None;
        for _ in 0..=MAX_INBOX_ITEMS.div_ceil(MAX_INBOX_PAGE) {
            let page = inbox.letters(after, MAX_INBOX_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            for (id, letter) in page {
                let handled = match letter.kind() {
                    LETTER_REPORT => self.take_report(&letter).await,
                    LETTER_RECEIPT => self.take_receipt(&letter).await,
                    _ => continue,
                };
                match handled {
                    Err(ReportsError::Node(NodeError::Store(e))) => {
                        tracing::warn!(
                            letter = id.0,
                            reason = e.reason(),
                            "report letter kept for later"
                        );
                        continue;
                    }
                    Err(e) => {
                        self.0.metrics.refused.increment(e.reason());
                        tracing::warn!(letter = id.0, from = %letter.from(), reason = e.reason(), "report letter dropped");
                    }
                    Ok(()) => {}
                }
                inbox.remove(id).await?;
            }
        }
        Ok(())
    }

    /// A report another node (or this one) delivered: queued where this node answers for it,
    /// receipts back to the reporter's node.
    async fn take_report(&self, letter: &NodeLetter) -> Result<(), ReportsError> {
        let report = Report::decode(letter.body())?;
        if letter.from() != report.reporter_node() {
            return Err(ReportsError::WrongReporterNode);
        }
        if let Some(known) = self.received_report(report.id()).await? {
            // Delivered again (the first receipt may be lost): say again where it stands.
            for queue in [Queue::Review, Queue::Operator] {
                if let Some(status) = known.status(queue) {
                    self.send_receipt(&report, queue, status, None).await?;
                }
            }
            return Ok(());
        }
        if self.standing(*report.reporter()).await?.muted {
            self.0.metrics.refused.increment("reporting_muted");
            return self
                .dismiss(
                    &report,
                    "this node does not take reports from this reporter",
                )
                .await;
        }
        let now = now_ms();
        let local_moderators = match report.room() {
            Some(room) => self.moderators(room).await?.contains(&self.0.key),
            None => false,
        };
        let review = local_moderators && !report.events().is_empty();
        let home = match report.user() {
            Some(user) => self.home_of(user, &report).await? == Some(self.0.key),
            None => false,
        };
        let operator = home || (local_moderators && report.user().is_none());
        if !review && !operator {
            return self
                .dismiss(
                    &report,
                    "this node neither attests the reported user nor homes a moderator of the room",
                )
                .await;
        }
        let mut queued_review = false;
        if review {
            for entry in review_entries(&report, now) {
                match self.0.node.review().queue(&entry).await {
                    Ok(_) => queued_review = true,
                    Err(e) => {
                        tracing::warn!(report = %report.id(), reason = e.reason(), "report not queued for review")
                    }
                }
            }
        }
        let record = ReceivedReport {
            report: report.clone(),
            from: *letter.from(),
            received_ms: now,
            review: queued_review.then_some(Status::Received),
            operator: operator.then_some(Status::Received),
        };
        self.put(
            ReportTable::Received,
            report.id().as_bytes().to_vec(),
            record.encode()?,
        )
        .await?;
        if report.reporter_node() != &self.0.key {
            // The reporter's own home node counted it when it took it.
            self.update_standing(*report.reporter(), |s| s.reports += 1)
                .await?;
        }
        self.0.metrics.received.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            report = %report.id(),
            from = %letter.from(),
            review = queued_review,
            operator,
            category = report.category().name(),
            "report received"
        );
        for (queue, held) in [(Queue::Review, queued_review), (Queue::Operator, operator)] {
            if held {
                self.audit(AuditKind::ReportReceived, &report, queue, None)
                    .await;
                self.send_receipt(&report, queue, Status::Received, None)
                    .await?;
            }
        }
        Ok(())
    }

    /// Tells the reporter's node that this node dismissed `report` without queueing it, and
    /// why.
    async fn dismiss(&self, report: &Report, note: &str) -> Result<(), ReportsError> {
        self.send_receipt(
            report,
            Queue::Operator,
            Status::Dismissed,
            Some(note.into()),
        )
        .await
    }

    /// Reports still `received` in a review queue whose events this node now shows redacted
    /// (a moderator redacted them, or banned their author with a purge, and the review item
    /// left the queue with them) are actioned for that queue. One page of the received table
    /// per call, strictly after `after`; returns where the next call starts.
    async fn check_redacted(
        &self,
        after: Option<causerie_crypto::ReportId>,
    ) -> Result<Option<causerie_crypto::ReportId>, ReportsError> {
        let page = self
            .received(
                Some(Queue::Review),
                after,
                causerie_storage::MAX_REPORT_SCAN,
            )
            .await?;
        let next = if page.len() < causerie_storage::MAX_REPORT_SCAN {
            None
        } else {
            page.last().map(|r| r.report.id())
        };
        for received in page {
            if received.review != Some(Status::Received) || received.report.events().is_empty() {
                continue;
            }
            let ids = received.report.events().iter().map(|e| e.id()).collect();
            let held = self.0.node.events(ids).await?;
            if !held.is_empty() && held.iter().all(|e| e.is_redacted()) {
                self.decide(
                    received.report.id(),
                    Queue::Review,
                    Status::Actioned,
                    Some("the reported events were removed from the room".into()),
                )
                .await?;
            }
        }
        Ok(next)
    }

    /// A receipt for a report one of this node's users made: kept with the report (the latest
    /// per node and queue; a decision is never replaced by `received`).
    async fn take_receipt(&self, letter: &NodeLetter) -> Result<(), ReportsError> {
        let receipt = Receipt::decode(letter.body())?;
        if letter.from() != receipt.node() {
            return Err(ReportsError::WrongReporterNode);
        }
        let Some(mut sent) = self
            .sent_report(*receipt.reporter(), receipt.report())
            .await?
        else {
            return Err(ReportsError::NoSuchReport);
        };
        let same = |r: &Receipt| r.node() == receipt.node() && r.queue() == receipt.queue();
        let previous = sent.receipts.iter().find(|r| same(r)).map(Receipt::status);
        if previous.is_some_and(|p| p != Status::Received) && receipt.status() == Status::Received {
            return Ok(());
        }
        sent.receipts.retain(|r| !same(r));
        if sent.receipts.len() >= MAX_RECEIPTS_PER_REPORT {
            return Err(ReportsError::Full);
        }
        sent.receipts.push(receipt.clone());
        let key = [
            receipt.reporter().as_bytes().as_slice(),
            receipt.report().as_bytes(),
        ]
        .concat();
        self.put(ReportTable::Sent, key, sent.encode()?).await?;
        if previous != Some(receipt.status()) {
            match receipt.status() {
                Status::Actioned => {
                    self.update_standing(*receipt.reporter(), |s| s.actioned += 1)
                        .await?;
                }
                Status::Dismissed => {
                    self.update_standing(*receipt.reporter(), |s| s.dismissed += 1)
                        .await?;
                }
                Status::Received => {}
            }
        }
        tracing::info!(
            report = %receipt.report(),
            node = %receipt.node(),
            queue = receipt.queue().name(),
            status = receipt.status().name(),
            "report receipt kept"
        );
        Ok(())
    }
}
