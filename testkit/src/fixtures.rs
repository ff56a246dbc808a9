//! Rows a service's tests need that another service writes in production (users, alerts and
//! webhooks are the gateway's; deliveries the notifier's; latest prices the ingestor's):
//! written here with plain SQL, so no service's tests depend on another service's crate.

use sqlx::types::Json;

use uuid::Uuid;

use shared::domain::{Alert, AlertId, AlertPatch, Channel, NewAlert, UserId};
use shared::on_pool;
use shared::storage::{alerts, now, AlertRow, Database, LatestPrice, ALERT_COLUMNS};

/// A user as the tests of other services see one.
#[derive(Debug, Clone, PartialEq)]
pub struct TestUser {
    pub id: UserId,
    pub email: String,
    pub phone: Option<String>,
}

/// An active user with `email` (lower-cased) and an optional E.164 `phone`.
pub async fn insert_user(db: &Database, email: &str, phone: Option<&str>) -> TestUser {
    const SQL: &str = "insert into users (email, password_hash, phone, is_active, created_at, \
        updated_at) values ($1, 'not-a-real-hash', $2, true, $3, $3) returning id";
    let email = email.to_ascii_lowercase();
    let id: UserId = on_pool!(db, pool => sqlx::query_scalar(SQL)
        .bind(&email)
        .bind(phone)
        .bind(now())
        .fetch_one(pool)
        .await)
    .expect("insert a user");
    TestUser {
        id,
        email,
        phone: phone.map(str::to_owned),
    }
}

/// `alert`, stored active for `user`.
pub async fn insert_alert(db: &Database, user: UserId, alert: &NewAlert) -> Alert {
    let sql = format!(
        "insert into alerts (user_id, symbol, condition, target_price, target_price_high, \
         notification_types, cooldown_minutes, active, options, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, true, $8, $9, $9) returning {ALERT_COLUMNS}"
    );
    let spec = alert.spec();
    let row = on_pool!(db, pool => sqlx::query_as::<_, AlertRow>(&sql)
        .bind(user)
        .bind(spec.symbol().as_str())
        .bind(spec.condition().as_str())
        .bind(spec.target_price())
        .bind(spec.target_price_high())
        .bind(spec.notification_types().to_string())
        .bind(spec.cooldown_minutes())
        .bind(Json(spec.options()))
        .bind(now())
        .fetch_one(pool)
        .await)
    .expect("insert an alert");
    // As the gateway's create does: the user's quota bound never understates their active alerts.
    on_pool!(db, pool => sqlx::query(
        "update users set active_alerts_bound = active_alerts_bound + 1 where id = $1")
        .bind(user)
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("raise the quota bound");
    single(vec![row])
}

/// Alert `id` as stored, if it exists.
pub async fn read_alert(db: &Database, id: AlertId) -> Option<Alert> {
    let sql = format!("select {ALERT_COLUMNS} from alerts where id = $1");
    let rows = on_pool!(db, pool => sqlx::query_as::<_, AlertRow>(&sql)
        .bind(id)
        .fetch_all(pool)
        .await)
    .expect("read an alert");
    (!rows.is_empty()).then(|| single(rows))
}

/// Writes `patch` to alert `id` as the API would (a new version), and returns it.
pub async fn write_alert(db: &Database, id: AlertId, patch: &AlertPatch) -> Alert {
    let sql = format!(
        "update alerts set target_price = $2, target_price_high = $3, notification_types = $4, \
         cooldown_minutes = $5, active = $6, options = $7, version = version + 1, \
         updated_at = $8 where id = $1 returning {ALERT_COLUMNS}"
    );
    let spec = patch.spec();
    let row = on_pool!(db, pool => sqlx::query_as::<_, AlertRow>(&sql)
        .bind(id)
        .bind(spec.target_price())
        .bind(spec.target_price_high())
        .bind(spec.notification_types().to_string())
        .bind(spec.cooldown_minutes())
        .bind(patch.active())
        .bind(Json(spec.options()))
        .bind(now())
        .fetch_one(pool)
        .await)
    .expect("write an alert");
    single(vec![row])
}

/// Deletes alert `id`; `true` when it existed.
pub async fn delete_alert(db: &Database, id: AlertId) -> bool {
    let deleted = on_pool!(db, pool => sqlx::query("delete from alerts where id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
    .expect("delete an alert");
    deleted == 1
}

/// Sets `user`'s webhook as `PUT /auth/me/webhook` does.
pub async fn set_webhook(db: &Database, user: UserId, url: &str, secret: &str) {
    const SQL: &str = "insert into user_webhooks (user_id, url, secret, created_at, updated_at) \
        values ($1, $2, $3, $4, $4) on conflict (user_id) do update \
        set url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(user)
        .bind(url)
        .bind(secret)
        .bind(now())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("set a webhook");
}

/// Sets `user`'s configuration of chat `channel` (`{"chat_id"}`, `{"webhook_url"}`,
/// `{"server","topic","token"?}`) as `PUT /auth/me/channels/{kind}` stores it.
pub async fn set_chat_channel(
    db: &Database,
    user: UserId,
    channel: Channel,
    config: serde_json::Value,
) {
    const SQL: &str = "insert into user_channels (user_id, kind, config, created_at, updated_at) \
        values ($1, $2, $3, $4, $4) on conflict (user_id, kind) do update \
        set config = excluded.config, updated_at = excluded.updated_at";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(user)
        .bind(channel.as_str())
        .bind(config.to_string())
        .bind(now())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("set a chat channel");
}

/// A `pending` delivery of `event` on `channel`, as the notifier records one on receipt.
pub async fn insert_delivery(
    db: &Database,
    event: Uuid,
    channel: Channel,
    alert: AlertId,
    user: UserId,
) {
    const SQL: &str = "insert into deliveries (event_id, channel, alert_id, user_id, status, \
        attempts, next_attempt_at, payload, seq, created_at, updated_at) \
        values ($1, $2, $3, $4, 'pending', 0, $5, '{}', \
        (select coalesce(max(seq), 0) + 1 from deliveries), $5, $5)";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(event.to_string())
        .bind(channel.as_str())
        .bind(alert)
        .bind(user)
        .bind(now())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("insert a delivery");
}

/// `price` as the latest of its symbol, as the ingestor stores each quote it publishes.
pub async fn store_latest_price(db: &Database, price: &LatestPrice) {
    const SQL: &str = "insert into latest_prices (symbol, price, currency, source, quoted_at, \
        updated_at) values ($1, $2, $3, $4, $5, $6) on conflict (symbol) do update \
        set price = excluded.price, currency = excluded.currency, source = excluded.source, \
        quoted_at = excluded.quoted_at, updated_at = excluded.updated_at";
    on_pool!(db, pool => sqlx::query(SQL)
        .bind(&price.symbol)
        .bind(price.price)
        .bind(&price.currency)
        .bind(&price.source)
        .bind(price.quoted_at)
        .bind(now())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("store a latest price");
}

fn single(rows: Vec<AlertRow>) -> Alert {
    alerts(rows).expect("a valid alert").pop().expect("one row")
}
