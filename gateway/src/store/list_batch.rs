//! Pages of alerts read together, on PostgreSQL. The plain pages of `GET /alerts` (no `symbol`
//! or `active` filter) asked for while earlier reads are still out leave in one statement: a
//! lateral join that runs each page's own index range scan, as the single-page statement does.
//!
//! At most [`ListBatches::TURNS`] of these statements are out at once. A page asked for while
//! one of the turns is free is read at once, in its caller's task, alone: an idle or lightly
//! loaded gateway adds neither a wait nor a hand-off. Under load the asks queue; when a turn
//! comes free, one of the waiting callers takes it and sends every page queued meanwhile (up to
//! [`ListBatches::MAX_PAGES`]) in one statement, in a task of its own so that no caller going
//! away cancels the others' read. PostgreSQL then pays its per-statement work (the round trip,
//! the executor's start, a backend's wake-up) once per batch, and two busy backends, not one
//! per connection, share its two cores (docs/BENCHMARKS.md).
//!
//! A statement takes its asks from the queue before it starts, so each page is read after it
//! was asked for: a caller still sees every write answered before it asked. Rows go back to
//! their page by its place in the batch, never by user, so two asks of one user (other pages)
//! stay apart. A statement that fails answers none of its pages: each caller then reads its own
//! alone, so one bad page fails only itself, and each caller gets its own error.

use std::cmp::Reverse;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use prometheus::Histogram;
use shared::domain::{Alert, UserId};
use shared::storage::{alerts, AlertRow, Database, StorageError, StorageResult, ALERT_COLUMNS};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::alert_page::{read_page, AlertFilter};

/// One asked page: `limit` alerts of `user_id`'s, newest first, after skipping `skip`.
#[derive(Clone, Copy)]
struct Page {
    user_id: UserId,
    skip: i64,
    limit: i64,
}

/// A page asked for while every turn was taken, and where its answer goes.
struct Ask {
    page: Page,
    reply: oneshot::Sender<StorageResult<Vec<Alert>>>,
}

/// A row of the batch statement: its page's place in the batch (from 1), then the alert.
#[derive(sqlx::FromRow)]
struct PageRow {
    page: i64,
    #[sqlx(flatten)]
    alert: AlertRow,
}

/// What became of a queued page.
enum Queued {
    /// The statement that carried it answered.
    Answered(StorageResult<Vec<Alert>>),
    /// The statement that carried it failed, leaving the page to be read alone.
    Unanswered,
    /// The turns are closed: the store is shutting down.
    Closed,
}

impl From<Result<StorageResult<Vec<Alert>>, oneshot::error::RecvError>> for Queued {
    fn from(answer: Result<StorageResult<Vec<Alert>>, oneshot::error::RecvError>) -> Self {
        // A statement that fails drops its asks' senders unanswered.
        answer.map_or(Queued::Unanswered, Queued::Answered)
    }
}

/// Reads plain alert pages, together when they are asked for together. Cheap to clone.
#[derive(Clone)]
pub(super) struct ListBatches(Arc<Batching>);

struct Batching {
    db: Database,
    turns: Arc<Semaphore>,
    queue: Mutex<Vec<Ask>>,
    /// Pages per statement.
    pages: Histogram,
}

impl std::fmt::Debug for ListBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListBatches").finish_non_exhaustive()
    }
}

impl ListBatches {
    /// Statements out at once. Two keep both of this machine's cores busy (one batch is read
    /// while the last is decoded) and let the asks of a busy moment gather. Measured at 64
    /// connections: 17.2–17.8 k pages/s with two, 16.4 k with three, 15.9 k with four, 13.7 k
    /// with eight (smaller batches, more PostgreSQL work per page). At 8 connections two make
    /// 9.0–9.3 k, three 9.5 k, reads one by one 10.2–11.0 k (docs/BENCHMARKS.md).
    pub(super) const TURNS: usize = 2;
    /// The most pages in one statement.
    pub(super) const MAX_PAGES: usize = 64;

    /// `pages` observes how many pages each statement carries.
    pub(super) fn new(db: Database, pages: Histogram) -> ListBatches {
        ListBatches(Arc::new(Batching {
            db,
            turns: Arc::new(Semaphore::new(Self::TURNS)),
            queue: Mutex::new(Vec::new()),
            pages,
        }))
    }

    /// `limit` of `user_id`'s alerts, newest first, after skipping `skip`.
    pub(super) async fn page(
        &self,
        user_id: UserId,
        skip: i64,
        limit: i64,
    ) -> StorageResult<Vec<Alert>> {
        let page = Page {
            user_id,
            skip,
            limit,
        };
        let batching = &self.0;
        if let Ok(turn) = batching.turns.try_acquire() {
            if batching.queued() == 0 {
                batching.pages.observe(1.0);
                let answer = read_alone(&batching.db, page).await;
                drop(turn);
                return answer;
            }
            drop(turn);
        }
        match self.queue_and_wait(page).await {
            Queued::Answered(answer) => answer,
            // One bad page fails only itself: it gets its own answer or error.
            Queued::Unanswered => read_alone(&batching.db, page).await,
            Queued::Closed => Err(gone()),
        }
    }

    /// Queues `page` and waits for its answer, or for a turn to send the queue with.
    async fn queue_and_wait(&self, page: Page) -> Queued {
        let batching = &self.0;
        let (reply, mut answer) = oneshot::channel();
        batching.lock().push(Ask { page, reply });
        loop {
            tokio::select! {
                biased;
                answer = &mut answer => return Queued::from(answer),
                turn = batching.turns.clone().acquire_owned() => {
                    let Ok(turn) = turn else { return Queued::Closed };
                    self.send_queued(turn);
                    // Asks leave in order: with none left, this one has left too.
                    if batching.queued() == 0 {
                        return Queued::from((&mut answer).await);
                    }
                }
            }
        }
    }

    /// Sends the queued asks in one statement, in a task of its own (no caller going away
    /// cancels the others' read) that keeps `turn` until the statement is answered.
    fn send_queued(&self, turn: OwnedSemaphorePermit) {
        let batch: Vec<Ask> = {
            let mut queue = self.0.lock();
            let taken = queue.len().min(Self::MAX_PAGES);
            queue.drain(..taken).collect()
        };
        if batch.is_empty() {
            return;
        }
        self.0.pages.observe(batch.len() as f64);
        let batches = self.clone();
        tokio::spawn(async move {
            answer_batch(&batches.0.db, batch).await;
            drop(turn);
        });
    }
}

impl Batching {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Ask>> {
        // The queue is a list of asks: no update to it can be left half done.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn queued(&self) -> usize {
        self.lock().len()
    }
}

/// The turns are closed: the store is shutting down.
fn gone() -> StorageError {
    StorageError::Database(sqlx::Error::PoolClosed)
}

/// The pages of a batch, one index range scan each (the inner `user_id`, unqualified, is the
/// alert's: the innermost scope wins).
static PAGES_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "select asked.page, listed.* from unnest($1::int8[], $2::int8[], $3::int8[]) \
         with ordinality as asked(user_id, skip, lim, page) cross join lateral \
         (select {ALERT_COLUMNS} from alerts where alerts.user_id = asked.user_id \
         order by id desc limit asked.lim offset asked.skip) as listed"
    )
});

/// One page's alerts, newest first, by the statement of an unbatched read (cheaper for
/// PostgreSQL than a batch of one).
async fn read_alone(db: &Database, page: Page) -> StorageResult<Vec<Alert>> {
    let filter = AlertFilter {
        skip: page.skip,
        limit: page.limit,
        ..AlertFilter::default()
    };
    read_page(db, page.user_id, &filter).await
}

/// Each page's alerts, newest first, in one statement.
async fn read(db: &Database, pages: &[Page]) -> StorageResult<Vec<StorageResult<Vec<Alert>>>> {
    // Only PostgreSQL batches, and only PostgreSQL leases.
    let Some(mut lease) = db.lease().await? else {
        return Err(gone());
    };
    let rows = sqlx::query_as::<_, PageRow>(&PAGES_SQL)
        .bind(pages.iter().map(|page| page.user_id).collect::<Vec<_>>())
        .bind(pages.iter().map(|page| page.skip).collect::<Vec<_>>())
        .bind(pages.iter().map(|page| page.limit).collect::<Vec<_>>())
        .fetch_all(&mut *lease)
        .await?;
    lease.release();
    let mut read: Vec<Vec<AlertRow>> = pages.iter().map(|_| Vec::new()).collect();
    for row in rows {
        let place = usize::try_from(row.page - 1).ok();
        if let Some(page) = place.and_then(|place| read.get_mut(place)) {
            page.push(row.alert);
        }
    }
    Ok(read
        .into_iter()
        .map(|rows| {
            // The join's output keeps each scan's order in practice; SQL does not promise it.
            alerts(rows).map(|mut page| {
                page.sort_unstable_by_key(|alert| Reverse(alert.id()));
                page
            })
        })
        .collect())
}

/// Reads the batch's pages and answers each ask with its own. When the statement fails, the
/// asks go unanswered, and each caller reads its page alone.
async fn answer_batch(db: &Database, batch: Vec<Ask>) {
    let pages: Vec<Page> = batch.iter().map(|ask| ask.page).collect();
    match read(db, &pages).await {
        Ok(read) => {
            for (ask, page) in batch.into_iter().zip(read) {
                // An ask whose caller went away has nobody to answer.
                let _ = ask.reply.send(page);
            }
        }
        Err(error) => {
            tracing::warn!(
                %error,
                pages = pages.len(),
                "a batched alert list read failed; its pages are read one by one"
            );
        }
    }
}
