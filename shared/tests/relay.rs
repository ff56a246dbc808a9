//! The outbox relay on PostgreSQL. A flush opens its transaction and takes the table's relay
//! lock in plain SQL (two round trips per batch: lock and read, settle and commit), which sqlx
//! cannot see into; so these check that replicas flushing at once still publish every row once
//! and in order, and that a flush cut short leaves neither its lock nor its transaction behind.

use std::sync::Arc;

use shared::bus::{EventBus, InProcessBus, OutboxRelay, Topic};
use shared::storage::{Database, OutboxTable};
use testkit::{eventually, fresh_database_url, Engine, PATIENCE};

/// Queues rows `numbers` in `table`, each payload its number, in one transaction.
async fn queue(db: &Database, table: OutboxTable, numbers: std::ops::Range<usize>) {
    let sql = match table {
        OutboxTable::TriggerEvents => {
            "insert into evaluator_outbox \
            (event_id, message_key, payload, created_at) values ($1, 'k', $1, now())"
        }
        OutboxTable::AlertChanges => {
            "insert into alert_change_outbox \
            (message_key, payload, created_at) values ('k', $1, now())"
        }
    };
    shared::on_pool!(db, pool => async {
        let mut transaction = pool.begin().await?;
        for number in numbers {
            sqlx::query(sql).bind(number.to_string()).execute(&mut *transaction).await?;
        }
        transaction.commit().await
    }.await)
    .expect("queue outbox rows");
}

/// A replica's relay of `table` onto `alert-changes` (the topic is the bus's business only).
fn relay(db: &Database, bus: Arc<dyn EventBus>, table: OutboxTable) -> OutboxRelay {
    OutboxRelay::new(db.clone(), bus, table, Topic::AlertChanges)
}

async fn scalar(db: &Database, sql: &str) -> i64 {
    shared::on_pool!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)
        .expect("a count")
}

/// Advisory locks held in this database (the relay lock is the only one taken here).
const ADVISORY_LOCKS: &str = "select count(*) from pg_locks where locktype = 'advisory' \
    and granted and database = (select oid from pg_database where datname = current_database())";

/// Two replicas' relays flush one table over and over while rows keep coming, in batches
/// of up to 256 (so most flushes read more than one batch, and each waits for the other's
/// lock): the bus gets every row once, in the order written.
async fn replicas_flushing_at_once_publish_every_row_once_in_order(table: OutboxTable) {
    const ROWS: usize = 3_000;
    let (url, _scratch) = fresh_database_url(Engine::Postgres).await;
    let replicas = [
        Database::connect(&url, 4).await.expect("first replica"),
        Database::connect(&url, 4).await.expect("second replica"),
    ];
    let bus = InProcessBus::new(2 * ROWS);
    let mut published = bus
        .subscribe(Topic::AlertChanges, "test")
        .await
        .expect("subscribe");
    let bus: Arc<dyn EventBus> = Arc::new(bus);
    let writing = tokio::spawn({
        let db = replicas[0].clone();
        async move {
            for chunk in (0..ROWS).step_by(100) {
                queue(&db, table, chunk..chunk + 100).await;
                tokio::task::yield_now().await;
            }
        }
    });
    let flushing = replicas.iter().map(|db| {
        let relay = relay(db, bus.clone(), table);
        async move {
            let mut flushes = 0;
            while flushes < 20 || relay.backlog().await.expect("backlog") > 0 {
                relay.flush().await.expect("flush");
                flushes += 1;
            }
        }
    });
    tokio::time::timeout(6 * PATIENCE, async {
        writing.await.expect("the writer");
        futures::future::join_all(flushing).await;
        // Each flushes once more after the last row is in, so neither stops mid-way.
        for db in &replicas {
            let last = relay(db, bus.clone(), table).flush().await;
            last.expect("last flush");
        }
    })
    .await
    .expect("the relays empty the outbox");
    let mut payloads = Vec::new();
    while let Some(message) = published.try_next().expect("the bus is open") {
        payloads.push(String::from_utf8(message.payload).expect("utf-8"));
    }
    let expected: Vec<String> = (0..ROWS).map(|n| n.to_string()).collect();
    assert_eq!(payloads.len(), ROWS, "every row published once");
    assert!(payloads == expected, "in the order written");
    let left = format!(
        "select count(*) from {} where published_at is null",
        table.name()
    );
    assert_eq!(scalar(&replicas[0], &left).await, 0, "every row settled");
    if table == OutboxTable::TriggerEvents {
        let stamped = "select count(*) from evaluator_outbox \
            where published_at between now() - interval '5 minutes' and clock_timestamp()";
        assert_eq!(
            scalar(&replicas[0], stamped).await,
            ROWS as i64,
            "marked now"
        );
    }
    assert_eq!(
        scalar(&replicas[0], ADVISORY_LOCKS).await,
        0,
        "no lock left"
    );
}

#[tokio::test]
async fn replicas_relaying_alert_changes_at_once_publish_every_row_once_in_order() {
    replicas_flushing_at_once_publish_every_row_once_in_order(OutboxTable::AlertChanges).await;
}

#[tokio::test]
async fn replicas_relaying_trigger_events_at_once_publish_every_row_once_in_order() {
    replicas_flushing_at_once_publish_every_row_once_in_order(OutboxTable::TriggerEvents).await;
}

/// A relay stopped mid-flush (its service shutting down, its task aborted) while it holds the
/// lock: the connection is closed, not pooled mid-transaction, so the lock goes with it and
/// another replica publishes the rows (the first one's again: a duplicate, never a loss).
#[tokio::test]
async fn a_flush_cut_short_leaves_neither_its_lock_nor_its_transaction_behind() {
    let (url, _scratch) = fresh_database_url(Engine::Postgres).await;
    let stopped = Database::connect(&url, 4).await.expect("replica");
    let other = Database::connect(&url, 4).await.expect("other replica");
    queue(&stopped, OutboxTable::AlertChanges, 0..10).await;
    // A bus with room for one message and a subscriber that never reads: the second publish
    // waits for ever, with the flush holding the lock.
    let full = InProcessBus::new(1);
    let _never_read = full
        .subscribe(Topic::AlertChanges, "stuck")
        .await
        .expect("subscribe");
    let stopping = relay(&stopped, Arc::new(full), OutboxTable::AlertChanges);
    let flush = tokio::spawn(async move { stopping.flush().await });
    eventually("the flush holds the lock", || async {
        scalar(&other, ADVISORY_LOCKS).await == 1
    })
    .await;
    flush.abort();
    let bus = InProcessBus::new(100);
    let mut published = bus
        .subscribe(Topic::AlertChanges, "test")
        .await
        .expect("subscribe");
    let taking_over = relay(&other, Arc::new(bus), OutboxTable::AlertChanges);
    let count = tokio::time::timeout(PATIENCE, taking_over.flush())
        .await
        .expect("the other replica gets the lock")
        .expect("and publishes");
    assert_eq!(count, 10, "every row, the stopped flush's first one again");
    assert_eq!(published.next().await.expect("a message").payload, b"0");
    let in_transaction = "select count(*) from pg_stat_activity \
        where datname = current_database() and state like 'idle in transaction%'";
    assert_eq!(
        scalar(&other, in_transaction).await,
        0,
        "no transaction left open"
    );
    // The stopped replica's own pool works on, with nothing left to publish.
    assert_eq!(
        scalar(&stopped, "select count(*) from alert_change_outbox").await,
        0
    );
}
