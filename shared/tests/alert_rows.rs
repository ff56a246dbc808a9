//! An alert row decodes to the same alert whether its columns are read by place (when a
//! statement selects `ALERT_COLUMNS` together and in order, after other columns or not) or by
//! name (when it selects them otherwise).

use shared::domain::Alert;
use shared::storage::{AlertRow, ALERT_COLUMNS};
use sqlx::FromRow;
use testkit::{fresh_database, Engine};

async fn an_alert_row_reads_alike_by_place_and_by_name(engine: Engine) {
    let test = fresh_database(engine).await;
    let at = shared::storage::now();
    // Every integer column holds a value of its own, so two columns read in each other's
    // place give another alert.
    for insert in [
        "insert into users (id, email, password_hash, created_at, updated_at) \
         values (7, 'rows@example.com', 'h', $1, $1)",
        "insert into alerts (id, user_id, symbol, condition, target_price, target_price_high, \
         notification_types, cooldown_minutes, active, triggered_count, last_triggered_at, \
         version, created_at, updated_at) \
         values (42, 7, 'ETH', 'range', 1.25, 2.5, 'email,sms', 17, true, 3, $1, 5, $1, $1)",
    ] {
        shared::on_pool!(&test.db, pool => sqlx::query(insert)
            .bind(at)
            .execute(pool)
            .await
            .map(|_| ()))
        .expect("seed");
    }
    let reversed: Vec<&str> = ALERT_COLUMNS.split(',').map(str::trim).rev().collect();
    let reversed = reversed.join(", ");
    let statements = [
        format!("select {ALERT_COLUMNS} from alerts"),
        format!("select 1 as page, {ALERT_COLUMNS}, 2 as extra from alerts"),
        format!("select {reversed} from alerts"),
        format!("select user_id as id, {reversed} from alerts"),
    ];
    let mut read = Vec::new();
    for sql in &statements {
        let row = shared::on_pool!(&test.db, pool => sqlx::query(sql)
            .fetch_one(pool)
            .await
            .and_then(|row| AlertRow::from_row(&row)))
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
        read.push(Alert::try_from(row).unwrap_or_else(|error| panic!("{sql}: {error}")));
    }
    let alert = &read[0];
    assert_eq!(alert.id(), 42);
    assert_eq!(alert.user_id(), 7);
    assert_eq!(alert.spec().cooldown_minutes(), 17);
    assert_eq!(alert.triggered_count(), 3);
    assert_eq!(alert.version(), 5);
    assert_eq!(alert.spec().target_price().to_string(), "1.25");
    assert_eq!(
        alert.spec().target_price_high().map(|p| p.to_string()),
        Some("2.5".to_owned())
    );
    assert_eq!(alert.spec().notification_types().to_string(), "email,sms");
    assert!(alert.last_triggered_at().is_some());
    for (sql, other) in statements.iter().zip(&read).skip(1) {
        assert_eq!(other, alert, "{sql}");
    }
    test.db.close().await;
}

testkit::on_both_engines!(an_alert_row_reads_alike_by_place_and_by_name);
