//! Resync: reads every appointment Zocdoc changed since the last successful run, through the list
//! API, and upserts each one (the same path as processing).
//!
//! First run (no watermark): the appointments whose start time lies in a configurable range
//! (default 30 days back, 60 days ahead). Later runs: those whose `last_modified_time_utc` is at
//! or after the watermark minus a small overlap (default 2 minutes, for clock skew; upserts are
//! idempotent). Every query is sorted by `last_modified_time_utc` ascending, 100 per page.
//!
//! Splitting: one query reaches at most 1,000 appointments. When a window is capped, the pages
//! already read hold its first 1,000 in last-modified order, so they are kept and the window is
//! split at the last one read: the rest is queried from that instant on (Zocdoc rounds the
//! minimum down to the second, so the few already read in that second come again; upserts are
//! idempotent). Each page is thus read about once: the calls stay near `N / 100` plus one
//! partial page per window. If 1,000 or more appointments were modified within one second, that
//! second cannot be read in full through the list: the run counts it in
//! [`ResyncSummary::crowded_seconds`], logs it, and goes on from the next second (webhooks still
//! cover those appointments one by one).
//!
//! The watermark (in `sync_state`) advances only when a run completes: to the newest
//! `last_modified_time_utc` read (Zocdoc's clock, so our clock's skew does not matter), or to the
//! run's start when nothing was read. A failed or cancelled run leaves it as it was; what it
//! upserted stays (it is correct data). Progress is published on a `watch` channel.
//!
//! Gap recovery ([`Resync::recover_gap`]) is the same run, called on start-up and on every tunnel
//! (re)connect; its report reads "N changes recovered".

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use deskbridge_zocdoc::api::{
    Error as ApiError, ListQuery, MAX_PAGE_SIZE, MAX_RESULTS_PER_QUERY, SortBy, SortDirection,
    TimeWindow,
};
use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use tokio::sync::watch;

use crate::appointments;
use crate::clock::Clock;
use crate::reader::AppointmentReader;
use crate::store::{Store, StoreError, format_timestamp, parse_timestamp};

/// The `sync_state` key of the watermark.
pub const WATERMARK_KEY: &str = "resync.last_modified_watermark";

/// What a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResyncConfig {
    /// First run: appointments starting this long before now…
    pub first_run_back: SignedDuration,
    /// …up to this long after now.
    pub first_run_ahead: SignedDuration,
    /// Later runs start this long before the watermark.
    pub overlap: SignedDuration,
    /// Appointments per page (1..=100; 100 keeps the calls fewest).
    pub page_size: u32,
}

impl Default for ResyncConfig {
    fn default() -> Self {
        Self {
            first_run_back: SignedDuration::from_hours(30 * 24),
            first_run_ahead: SignedDuration::from_hours(60 * 24),
            overlap: SignedDuration::from_mins(2),
            page_size: MAX_PAGE_SIZE,
        }
    }
}

/// Where a run stands, published after every page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Distinct appointments read so far.
    pub done: u64,
    /// Zocdoc's count of appointments matching the run (an estimate: it moves while paging).
    pub total_estimate: u64,
    /// Appointments new or changed locally so far.
    pub changed: u64,
    /// Windows (queries) started so far.
    pub windows: u32,
    /// List calls made so far.
    pub api_calls: u32,
    /// Whether the run has ended (completed, failed or cancelled).
    pub finished: bool,
}

/// What a completed run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResyncSummary {
    /// Distinct appointments read.
    pub fetched: u64,
    /// Of those, appointments new or changed locally.
    pub changed: u64,
    /// Windows (queries) walked: the first plus one per split.
    pub windows: u32,
    /// List calls made (retries inside the client not counted).
    pub api_calls: u32,
    /// Seconds holding 1,000 or more changes, which could not be read in full (also counts a
    /// capped window ending on an appointment without a last-modified time, where the walk
    /// cannot go on).
    pub crowded_seconds: u32,
    /// Whether it was a first run (start-time range).
    pub first_run: bool,
    /// The watermark stored at the end.
    pub watermark: Timestamp,
}

/// The outcome of gap recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapRecovered {
    /// The resync's summary.
    pub summary: ResyncSummary,
}

impl fmt::Display for GapRecovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.summary.changed {
            1 => f.write_str("1 change recovered"),
            n => write!(f, "{n} changes recovered"),
        }
    }
}

/// Asks a running resync to stop; it stops before its next page. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Why a run did not complete. The watermark is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum ResyncError {
    /// Zocdoc's list call failed (after the client's own retries).
    #[error("{}", .0.staff_message())]
    Api(#[from] ApiError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run was cancelled.
    #[error("the resync was cancelled")]
    Cancelled,
}

impl From<rusqlite::Error> for ResyncError {
    fn from(error: rusqlite::Error) -> Self {
        ResyncError::Store(StoreError::Database(error))
    }
}

/// Runs resyncs through its own database connection.
pub struct Resync<R> {
    store: Store,
    reader: R,
    clock: Arc<dyn Clock>,
    config: ResyncConfig,
    progress: watch::Sender<Progress>,
}

/// A run's counters.
#[derive(Default)]
struct Walk {
    seen: HashSet<String>,
    progress: Progress,
    crowded_seconds: u32,
    newest: Option<Timestamp>,
}

impl<R> fmt::Debug for Resync<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resync")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<R: AppointmentReader> Resync<R> {
    /// A resync on `store` (its own connection) reading through `reader`.
    pub fn new(store: Store, reader: R, clock: Arc<dyn Clock>, config: ResyncConfig) -> Self {
        Self {
            store,
            reader,
            clock,
            config,
            progress: watch::Sender::new(Progress::default()),
        }
    }

    /// Progress of the current (or last) run.
    pub fn subscribe(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// The stored watermark, if a run has completed.
    pub fn watermark(&self) -> Result<Option<Timestamp>, ResyncError> {
        let value: Option<String> = self
            .store
            .conn()
            .query_row(
                "SELECT value FROM sync_state WHERE key = ?1",
                [WATERMARK_KEY],
                |row| row.get(0),
            )
            .optional()?;
        Ok(value.as_deref().and_then(parse_timestamp))
    }

    /// Gap recovery: a resync from the watermark, reported as "N changes recovered".
    pub async fn recover_gap(&mut self, cancel: &CancelToken) -> Result<GapRecovered, ResyncError> {
        let summary = self.run(cancel).await?;
        tracing::info!(changes = summary.changed, "gap recovery done");
        Ok(GapRecovered { summary })
    }

    /// One run: walks the windows, upserts every appointment read, and advances the watermark
    /// when it completes.
    pub async fn run(&mut self, cancel: &CancelToken) -> Result<ResyncSummary, ResyncError> {
        let started = self.clock.now();
        let previous = self.watermark()?;
        let mut walk = Walk::default();
        self.progress.send_replace(Progress::default());
        let result = self.walk(previous, started, cancel, &mut walk).await;
        walk.progress.finished = true;
        self.progress.send_replace(walk.progress);
        result?;
        let watermark = walk.newest.or(previous).unwrap_or(started);
        let watermark = previous.map_or(watermark, |previous| previous.max(watermark));
        self.store.conn().execute(
            "INSERT INTO sync_state (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                 updated_at = excluded.updated_at",
            params![
                WATERMARK_KEY,
                format_timestamp(watermark),
                format_timestamp(self.clock.now())
            ],
        )?;
        let summary = ResyncSummary {
            fetched: walk.progress.done,
            changed: walk.progress.changed,
            windows: walk.progress.windows,
            api_calls: walk.progress.api_calls,
            crowded_seconds: walk.crowded_seconds,
            first_run: previous.is_none(),
            watermark,
        };
        tracing::info!(
            fetched = summary.fetched,
            changed = summary.changed,
            windows = summary.windows,
            api_calls = summary.api_calls,
            "resync done"
        );
        Ok(summary)
    }

    async fn walk(
        &mut self,
        previous: Option<Timestamp>,
        started: Timestamp,
        cancel: &CancelToken,
        walk: &mut Walk,
    ) -> Result<(), ResyncError> {
        let base = match previous {
            Some(watermark) => ListQuery::modified_within(TimeWindow {
                min: Some(
                    watermark
                        .saturating_sub(self.config.overlap)
                        .unwrap_or(watermark),
                ),
                max: None,
            }),
            None => ListQuery {
                start_time_utc: TimeWindow::between(
                    started
                        .saturating_sub(self.config.first_run_back)
                        .unwrap_or(started),
                    started
                        .saturating_add(self.config.first_run_ahead)
                        .unwrap_or(started),
                ),
                sort_by: Some(SortBy::LastModifiedTimeUtc),
                sort_direction: Some(SortDirection::Ascending),
                ..ListQuery::default()
            },
        };
        let page_size = self.config.page_size.clamp(1, MAX_PAGE_SIZE);
        let pages_per_window = u32::try_from(MAX_RESULTS_PER_QUERY / u64::from(page_size))
            .unwrap_or(u32::MAX)
            .max(1);
        let mut min = base.last_modified_time_utc.min;
        loop {
            walk.progress.windows += 1;
            let mut last: Option<Timestamp> = None;
            let mut capped = false;
            let done_before = walk.progress.done;
            for page in 0..pages_per_window {
                if cancel.is_cancelled() {
                    return Err(ResyncError::Cancelled);
                }
                let query = ListQuery {
                    last_modified_time_utc: TimeWindow {
                        min,
                        max: base.last_modified_time_utc.max,
                    },
                    page: Some(page),
                    page_size: Some(page_size),
                    ..base.clone()
                };
                let listed = self.reader.list_page(&query).await?;
                walk.progress.api_calls += 1;
                self.store_page(&listed.appointments, walk)?;
                walk.progress.total_estimate = walk
                    .progress
                    .total_estimate
                    .max(done_before + listed.total_count)
                    .max(walk.progress.done);
                self.progress.send_replace(walk.progress);
                let returned = listed.appointments.len();
                if let Some(appointment) = listed.appointments.last() {
                    last = appointment.last_modified_time_utc;
                }
                let reached = u64::from(page + 1) * u64::from(page_size);
                if returned < page_size as usize {
                    break;
                }
                if reached >= MAX_RESULTS_PER_QUERY || page + 1 == pages_per_window {
                    capped = true;
                    break;
                }
                if listed.next_url.is_none() && reached >= listed.total_count {
                    break;
                }
            }
            if !capped {
                return Ok(());
            }
            let Some(last) = last else {
                tracing::warn!(
                    windows = walk.progress.windows,
                    "a capped window ended on an appointment without a last-modified time; \
                     the rest of the window cannot be reached by this resync"
                );
                walk.crowded_seconds += 1;
                return Ok(());
            };
            min = Some(next_window_start(min, last, &mut walk.crowded_seconds));
        }
    }

    /// Upserts one page in one transaction.
    fn store_page(
        &mut self,
        page: &[deskbridge_zocdoc::api::Appointment],
        walk: &mut Walk,
    ) -> Result<(), ResyncError> {
        let now = self.clock.now();
        let tx = self
            .store
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for appointment in page {
            let upserted = appointments::upsert(&tx, appointment, &[], now)?;
            if walk
                .seen
                .insert(appointment.appointment_id.as_str().to_owned())
            {
                walk.progress.done += 1;
            }
            if upserted.changed() {
                walk.progress.changed += 1;
            }
            if let Some(modified) = appointment.last_modified_time_utc {
                walk.newest = Some(walk.newest.map_or(modified, |newest| newest.max(modified)));
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Where the rest of a capped window starts: at `last`, the last-modified time of the last
/// appointment read. When `last` falls in the same second as the window's start (1,000 or more
/// changes in that second), the second is counted as crowded and skipped.
pub fn next_window_start(
    min: Option<Timestamp>,
    last: Timestamp,
    crowded_seconds: &mut u32,
) -> Timestamp {
    let same_second = min.is_some_and(|min| min.as_second() >= last.as_second());
    if same_second {
        *crowded_seconds += 1;
        tracing::warn!(
            second = %format_timestamp(last),
            "1,000 or more appointments changed within one second; some may be missed by this resync"
        );
        Timestamp::from_second(last.as_second().saturating_add(1)).unwrap_or(last)
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::clock::ManualClock;
    use crate::testing::{FakeZocdoc, appointment, at, store};

    /// `count` appointments starting within the first-run range, modified at `modified(i)`.
    fn many(
        count: usize,
        modified: impl Fn(usize) -> i64,
    ) -> Vec<deskbridge_zocdoc::api::Appointment> {
        (0..count)
            .map(|i| appointment(&format!("a{i:05}"), 86_400, modified(i)))
            .collect()
    }

    fn resync(
        fake: FakeZocdoc,
        clock: &Arc<ManualClock>,
    ) -> (tempfile::TempDir, Resync<FakeZocdoc>) {
        let (dir, store) = store();
        let resync = Resync::new(store, fake, clock.clone(), ResyncConfig::default());
        (dir, resync)
    }

    #[tokio::test]
    async fn capped_windows_are_split_and_every_appointment_is_read_once() {
        // 1,500 spread over a day, 1,200 packed into ten minutes: windows must split.
        let mut appointments = many(1_500, |i| (i as i64) * 57);
        appointments.extend(
            many(1_200, |i| 40_000 + (i as i64) / 2)
                .into_iter()
                .enumerate()
                .map(|(i, mut a)| {
                    a.appointment_id = format!("b{i:05}").into();
                    a
                }),
        );
        let total = appointments.len();
        let clock = Arc::new(ManualClock::new(at(100_000)));
        let (_dir, mut resync) = resync(FakeZocdoc::with(appointments), &clock);
        let progress = resync.subscribe();
        let summary = resync.run(&CancelToken::new()).await.unwrap();
        assert_eq!(summary.fetched, total as u64);
        assert_eq!(summary.changed, total as u64);
        assert!(summary.windows >= 3, "{summary:?}");
        assert_eq!(summary.crowded_seconds, 0);
        let bound = (1.05 * total.div_ceil(100) as f64).floor() as u32 + summary.windows;
        assert!(summary.api_calls <= bound, "{summary:?} > {bound}");
        assert_eq!(
            summary.api_calls,
            resync.reader.list_calls.load(Ordering::SeqCst)
        );
        assert_eq!(resync.store.appointments().unwrap().len(), total);
        let last = *progress.borrow();
        assert!(last.finished);
        assert_eq!(last.done, total as u64);
        assert!(last.total_estimate >= last.done);
        assert!(summary.first_run);
        assert_eq!(summary.watermark, at(1_499 * 57));
        assert_eq!(resync.watermark().unwrap(), Some(at(1_499 * 57)));
    }

    #[tokio::test]
    async fn a_crowded_second_is_counted_and_skipped_not_looped_on() {
        let mut appointments = many(1_050, |_| 500);
        appointments.push(appointment("later", 86_400, 600));
        let clock = Arc::new(ManualClock::new(at(100_000)));
        let (_dir, mut resync) = resync(FakeZocdoc::with(appointments), &clock);
        let summary = resync.run(&CancelToken::new()).await.unwrap();
        assert_eq!(summary.crowded_seconds, 1);
        assert_eq!(
            summary.fetched, 1_001,
            "the first 1,000 of the second, then the rest"
        );
        assert!(resync.store.appointment("later").unwrap().is_some());
    }

    #[tokio::test]
    async fn the_watermark_advances_only_on_success_and_later_runs_start_from_it() {
        let clock = Arc::new(ManualClock::new(at(100_000)));
        let fake = FakeZocdoc::with(many(350, |i| i as i64 * 10));
        *fake.fail_list_call.lock().unwrap() = Some(3);
        let (_dir, mut resync) = resync(fake, &clock);
        let error = resync.run(&CancelToken::new()).await.unwrap_err();
        assert!(matches!(error, ResyncError::Api(_)), "{error:?}");
        assert_eq!(resync.watermark().unwrap(), None);
        assert!(resync.subscribe().borrow().finished);
        assert_eq!(
            resync.store.appointments().unwrap().len(),
            200,
            "kept what was read"
        );

        let first = resync.run(&CancelToken::new()).await.unwrap();
        assert!(first.first_run);
        assert_eq!(first.watermark, at(3_490));

        // A later run reads only what changed since the watermark (minus the overlap).
        let mut moved = appointment("a00001", 90_000, 5_000);
        moved.start_time =
            deskbridge_zocdoc::api::OffsetTime::new(at(90_000), jiff::tz::Offset::UTC);
        resync.reader.put(moved);
        resync.reader.put(appointment("new", 86_400, 5_001));
        let recovered = resync.recover_gap(&CancelToken::new()).await.unwrap();
        assert!(!recovered.summary.first_run);
        assert_eq!(recovered.summary.changed, 2);
        assert_eq!(
            recovered.summary.fetched,
            2 + 13,
            "the overlap re-reads the last 2 minutes, both ends included"
        );
        assert_eq!(recovered.to_string(), "2 changes recovered");
        assert_eq!(resync.watermark().unwrap(), Some(at(5_001)));
    }

    #[tokio::test]
    async fn a_cancelled_run_stops_and_keeps_the_watermark() {
        let clock = Arc::new(ManualClock::new(at(100_000)));
        let (_dir, mut resync) = resync(FakeZocdoc::with(many(10, |i| i as i64)), &clock);
        let cancel = CancelToken::new();
        cancel.cancel();
        assert!(matches!(
            resync.run(&cancel).await,
            Err(ResyncError::Cancelled)
        ));
        assert_eq!(resync.reader.list_calls.load(Ordering::SeqCst), 0);
        assert_eq!(resync.watermark().unwrap(), None);
    }

    #[tokio::test]
    async fn a_run_cancelled_midway_stops_before_its_next_page() {
        let clock = Arc::new(ManualClock::new(at(100_000)));
        let fake = FakeZocdoc::with(many(1_000, |i| i as i64));
        let cancel = CancelToken::new();
        *fake.cancel_on_list_call.lock().unwrap() = Some((3, cancel.clone()));
        let (_dir, mut resync) = resync(fake, &clock);
        let progress = resync.subscribe();
        assert!(matches!(
            resync.run(&cancel).await,
            Err(ResyncError::Cancelled)
        ));
        assert_eq!(resync.reader.list_calls.load(Ordering::SeqCst), 3);
        assert_eq!(resync.watermark().unwrap(), None);
        let last = *progress.borrow();
        assert!(last.finished);
        assert_eq!((last.done, last.api_calls), (300, 3));
        assert_eq!(last.total_estimate, 1_000);
    }

    #[test]
    fn a_split_starts_at_the_last_read_unless_the_second_is_full() {
        let mut crowded = 0;
        assert_eq!(
            next_window_start(Some(at(10)), at(20), &mut crowded),
            at(20)
        );
        assert_eq!(next_window_start(None, at(20), &mut crowded), at(20));
        assert_eq!(crowded, 0);
        assert_eq!(
            next_window_start(Some(at(20)), at(20), &mut crowded),
            at(21)
        );
        assert_eq!(crowded, 1);
    }

    #[test]
    fn gap_recovery_reads_in_plain_words() {
        let summary = ResyncSummary {
            fetched: 1,
            changed: 1,
            windows: 1,
            api_calls: 1,
            crowded_seconds: 0,
            first_run: false,
            watermark: at(0),
        };
        assert_eq!(GapRecovered { summary }.to_string(), "1 change recovered");
    }
}
