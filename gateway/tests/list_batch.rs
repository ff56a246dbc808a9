//! Plain alert pages asked for together on PostgreSQL leave in shared statements, and each
//! caller still gets exactly the page it asked for: its own alerts, newest first, cut where it
//! asked (two pages of one user in one statement included). When a shared statement fails,
//! each of its pages is read alone: one bad page fails only itself, and nothing hangs.

use std::time::Duration;

use futures::future::join_all;
use gateway::store::{AlertFilter, Store};
use prometheus::{Histogram, HistogramOpts};
use serde_json::json;
use shared::domain::{Alert, UserId};
use shared::storage::{Database, StorageResult};
use testkit::{fresh_database, Engine};

/// The pages every user is asked for, as (skip, limit): whole lists, first pages, middles,
/// single alerts and pages past the end.
const PAGES: [(i64, i64); 7] = [(0, 50), (0, 3), (2, 4), (5, 1), (1, 50), (11, 5), (40, 10)];

/// The plain page `skip`, `limit` of `user_id`'s alerts.
async fn list(store: &Store, user_id: UserId, skip: i64, limit: i64) -> StorageResult<Vec<Alert>> {
    let filter = AlertFilter {
        skip,
        limit,
        ..AlertFilter::default()
    };
    store.list_alerts(user_id, &filter).await
}

/// `users` users holding 0, 1, … 11, 0, 1, … alerts; each user's alert ids, newest first.
async fn users_with_alerts(store: &Store, users: usize) -> Vec<(UserId, Vec<i64>)> {
    let mut owned = Vec::new();
    for number in 0..users {
        let user = testkit::insert_user(store.db(), &format!("u{number}@example.com"), None).await;
        let mut ids = Vec::new();
        for target in 0..number % 12 {
            let alert = testkit::new_alert(
                json!({"symbol": "BTC", "condition": "above", "target_price": target + 1}),
            );
            let created = store
                .create_alert(user.id, &alert, 100)
                .await
                .expect("storage")
                .expect("under the quota");
            ids.push(created.id());
        }
        ids.reverse();
        owned.push((user.id, ids));
    }
    owned
}

/// A store whose histogram of pages per statement the test reads.
fn observed_store(db: &Database) -> (Store, Histogram) {
    let batches = Histogram::with_opts(HistogramOpts::new("pages", "pages per statement"))
        .expect("a histogram");
    (Store::observed(db.clone(), batches.clone()), batches)
}

#[tokio::test]
async fn pages_read_together_are_each_exactly_the_page_its_caller_asked_for() {
    let test = fresh_database(Engine::Postgres).await;
    let (store, batches) = observed_store(&test.db);
    let owned = users_with_alerts(&store, 30).await;

    let asks: Vec<_> = owned
        .iter()
        .flat_map(|(user_id, ids)| {
            PAGES
                .iter()
                .map(move |&(skip, limit)| (*user_id, ids, skip, limit))
        })
        .collect();
    let answers = join_all(
        asks.iter()
            .map(|&(user_id, _, skip, limit)| list(&store, user_id, skip, limit)),
    )
    .await;

    for ((user_id, ids, skip, limit), answer) in asks.iter().zip(answers) {
        let answer = answer.expect("a page");
        assert!(answer.iter().all(|alert| alert.user_id() == *user_id));
        let listed: Vec<i64> = answer.iter().map(|alert| alert.id()).collect();
        let wanted: Vec<i64> = ids
            .iter()
            .copied()
            .skip(usize::try_from(*skip).expect("a skip"))
            .take(usize::try_from(*limit).expect("a limit"))
            .collect();
        assert_eq!(listed, wanted, "user {user_id}, skip {skip}, limit {limit}");
    }
    // Otherwise the test above proves nothing about batches.
    let statements = batches.get_sample_count();
    assert!(
        statements < asks.len() as u64,
        "{} pages in {statements} statements",
        asks.len()
    );
    assert_eq!(batches.get_sample_sum(), asks.len() as f64);
}

#[tokio::test]
async fn a_page_that_fails_its_shared_statement_fails_alone() {
    let test = fresh_database(Engine::Postgres).await;
    let (store, batches) = observed_store(&test.db);
    let owned = users_with_alerts(&store, 24).await;
    // PostgreSQL refuses a negative limit, and with it the whole statement that carries it.
    const BROKEN: usize = 12;
    let asks = owned.iter().enumerate().map(|(number, (user_id, _))| {
        let limit = if number == BROKEN { -1 } else { 50 };
        list(&store, *user_id, 0, limit)
    });
    let answers = join_all(asks).await;
    for (number, ((_, ids), answer)) in owned.iter().zip(answers).enumerate() {
        if number == BROKEN {
            assert!(answer.is_err(), "{answer:?}");
        } else {
            let listed: Vec<i64> = answer.expect("a page").iter().map(|a| a.id()).collect();
            assert_eq!(&listed, ids);
        }
    }
    assert!(
        batches.get_sample_count() < owned.len() as u64,
        "some pages were batched"
    );
}

#[tokio::test]
async fn a_closed_pool_fails_every_page_rather_than_leaving_it_waiting() {
    let test = fresh_database(Engine::Postgres).await;
    let store = Store::new(test.db.clone());
    let owned = users_with_alerts(&store, 4).await;
    test.db.close().await;
    let asks = join_all(
        owned
            .iter()
            .map(|(user_id, _)| list(&store, *user_id, 0, 50)),
    );
    let answers = tokio::time::timeout(Duration::from_secs(30), asks)
        .await
        .expect("answered, not left waiting");
    for answer in answers {
        assert!(answer.is_err(), "{answer:?}");
    }
}
