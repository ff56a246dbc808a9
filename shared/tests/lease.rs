//! PostgreSQL leases: a connection handed from one request to the next skips sqlx's check on
//! release, so these check what that check was for, and that leases leave the pool its share.

use std::time::Duration;

use shared::storage::Database;
use testkit::{fresh_database_url, Engine};

/// How long a healthy statement may take here, however loaded the machine.
const PROMPT: Duration = Duration::from_secs(5);

async fn database(max_connections: u32) -> (Database, testkit::Scratch) {
    let (url, scratch) = fresh_database_url(Engine::Postgres).await;
    let db = Database::connect(&url, max_connections)
        .await
        .expect("connect");
    (db, scratch)
}

async fn select(db: &Database, value: i32) -> Result<i32, sqlx::Error> {
    shared::on_lease!(db, conn => sqlx::query_scalar::<_, i32>("select $1")
        .bind(value)
        .fetch_one(conn)
        .await)
}

#[tokio::test]
async fn a_request_cancelled_mid_statement_leaves_nothing_for_the_next_one() {
    // One turn: every lease after the cancelled one would get its connection if it went back.
    let (db, _scratch) = database(2).await;
    let cancelled = tokio::time::timeout(
        Duration::from_millis(200),
        async { shared::on_lease!(&db, conn => sqlx::query("select pg_sleep(30)").execute(conn).await.map(|_| ())) },
    )
    .await;
    assert!(cancelled.is_err(), "the long statement was cancelled");
    for value in 0..20 {
        let answer = tokio::time::timeout(PROMPT, select(&db, value))
            .await
            .expect("the next requests are answered promptly")
            .expect("and succeed");
        assert_eq!(answer, value, "each request reads its own answer");
    }
}

#[tokio::test]
async fn a_failed_statement_leaves_a_working_connection_behind() {
    let (db, _scratch) = database(2).await;
    let failed =
        shared::on_lease!(&db, conn => sqlx::query("select 1/0").execute(conn).await.map(|_| ()));
    assert!(failed.is_err(), "division by zero fails");
    for value in 0..5 {
        assert_eq!(select(&db, value).await.expect("succeeds"), value);
    }
}

#[tokio::test]
async fn leases_take_turns_and_leave_half_the_pool_to_everything_else() {
    // Four connections: two turns for leases, two for queries on the pool itself.
    let (db, _scratch) = database(4).await;
    let first = db.lease().await.expect("lease").expect("PostgreSQL");
    let second = db.lease().await.expect("lease").expect("PostgreSQL");
    let third = tokio::time::timeout(Duration::from_millis(300), db.lease()).await;
    assert!(third.is_err(), "a third lease waits while two are out");
    let pool_query = tokio::time::timeout(PROMPT, async {
        shared::on_pool!(&db, pool => sqlx::query_scalar::<_, i32>("select 1").fetch_one(pool).await)
    })
    .await
    .expect("the pool's own queries are not starved by leases");
    assert_eq!(pool_query.expect("succeeds"), 1);
    let waiting = tokio::spawn({
        let db = db.clone();
        async move { select(&db, 42).await }
    });
    first.release();
    let answer = tokio::time::timeout(PROMPT, waiting)
        .await
        .expect("the waiting request gets the released connection")
        .expect("task")
        .expect("succeeds");
    assert_eq!(answer, 42);
    second.release();
}

/// Backends connected to the test's database, besides the one asking.
async fn other_backends(url: &str) -> i64 {
    use sqlx::Connection;
    let mut observer = sqlx::PgConnection::connect(url).await.expect("observer");
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity \
         where datname = current_database() and pid <> pg_backend_pid()",
    )
    .fetch_one(&mut observer)
    .await
    .expect("pg_stat_activity")
}

#[tokio::test]
async fn closing_the_database_leaves_no_connection_parked_open() {
    let (url, _scratch) = fresh_database_url(Engine::Postgres).await;
    let db = Database::connect(&url, 4).await.expect("connect");
    // Two leases at once, so two connections: one released and parked ready, one still out
    // with a request.
    let parked = db.lease().await.expect("lease").expect("PostgreSQL");
    let out = db.lease().await.expect("lease").expect("PostgreSQL");
    parked.release();
    assert!(other_backends(&url).await >= 2, "both connections open");

    // Closing starts (leasing ends at once), then waits for what is still out.
    let mut closing = Box::pin(db.close());
    // Usually still waiting for `out` after this; if sqlx's close is already done, it must
    // not be polled again.
    let closed_early = tokio::time::timeout(Duration::from_millis(100), &mut closing)
        .await
        .is_ok();
    assert!(
        matches!(db.lease().await, Err(sqlx::Error::PoolClosed)),
        "no lease is granted once closing"
    );
    // Released after the close began, the lease goes back to the pool, which closes it,
    // instead of staying parked; the parked one was handed back when the close began.
    out.release();
    if !closed_early {
        tokio::time::timeout(PROMPT, closing)
            .await
            .expect("close ends once the last lease is back");
    }
    testkit::eventually("every connection of the closed pool is closed", || async {
        other_backends(&url).await == 0
    })
    .await;
}
