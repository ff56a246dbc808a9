//! A page of a user's alerts: what `GET /alerts` asks for ([`AlertFilter`]), the one statement
//! that reads it on either engine ([`push_alert_page!`]), and its read alone ([`read_page`]).

use shared::domain::{Alert, Symbol, UserId};
use shared::storage::{alerts, now, on_lease, AlertRow, Database, StorageResult};
use sqlx::QueryBuilder;

/// Which of a user's alerts a page holds: those of one symbol, or those (in)active now, or all;
/// `limit` of them, newest first, after skipping `skip`.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub symbol: Option<Symbol>,
    pub active: Option<bool>,
    pub skip: i64,
    pub limit: i64,
}

/// Pushes the select of `$filter`'s page of `$user_id`'s alerts
/// ([`shared::storage::ALERT_COLUMNS`], newest first) onto the query builder `$sql`.
macro_rules! push_alert_page {
    ($sql:expr, $user_id:expr, $filter:expr) => {{
        let filter: &AlertFilter = $filter;
        $sql.push(format_args!(
            "select {} from alerts where user_id = ",
            shared::storage::ALERT_COLUMNS
        ))
        .push_bind($user_id);
        if let Some(symbol) = &filter.symbol {
            $sql.push(" and symbol = ").push_bind(symbol.as_str());
        }
        if let Some(active) = filter.active {
            $crate::store::alert_page::push_active_filter(&mut $sql, active);
        }
        $sql.push(" order by id desc limit ")
            .push_bind(filter.limit);
        $sql.push(" offset ").push_bind(filter.skip);
    }};
}
pub(super) use push_alert_page;

/// `filter`'s page of `user_id`'s alerts, by one statement on either engine.
pub(super) async fn read_page(
    db: &Database,
    user_id: UserId,
    filter: &AlertFilter,
) -> StorageResult<Vec<Alert>> {
    let rows = on_lease!(db, pool => {
        let mut sql = QueryBuilder::new("");
        push_alert_page!(sql, user_id, filter);
        sql.build_query_as::<AlertRow>().fetch_all(pool).await
    })?;
    alerts(rows)
}

/// Narrows either engine's statement to the alerts whose `active` reads `active` now: on and
/// not expired (an expired alert reads `active: false`, as
/// [`shared::domain::Alert::is_active_at`] says).
pub(super) fn push_active_filter<'a, DB>(sql: &mut QueryBuilder<'a, DB>, active: bool)
where
    DB: sqlx::Database,
    chrono::DateTime<chrono::Utc>: 'a + sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let (expiry, at) = if DB::NAME == "SQLite" {
        (
            "julianday(json_extract(options, '$.expires_at'))",
            "julianday(",
        )
    } else {
        ("(options->>'expires_at')::timestamptz", "(")
    };
    let negated = if active { "" } else { "not " };
    sql.push(format_args!(
        " and {negated}(active and ({expiry} is null or {expiry} > {at}"
    ));
    sql.push_bind(now()).push(")))");
}
