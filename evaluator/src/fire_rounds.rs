//! A batch's fires on PostgreSQL in a few statements instead of three round trips each (re-read,
//! update, outbox row), which bounded the batch rate over the network.
//!
//! The candidates go in rounds: round *k* holds every alert's *k*-th candidate of the batch, so
//! within a round each alert appears once and one statement reads them all, and one updates them
//! all. An alert's later candidates are checked in a later round, against its row as the earlier
//! fire left it, exactly as one candidate after the other would. The trigger events then go to
//! the outbox in one statement in tick order, the order candidate by candidate writes them.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::domain::{AlertId, RearmWait, TriggerPolicy};
use shared::events::TriggerEvent;
use shared::storage::{StorageError, StorageResult};
use sqlx::types::Json;
use sqlx::{PgConnection, SqliteConnection};

use crate::fire_check::{FireCheck, FireRow, FIRE_ROWS_SQL};
use crate::last_prices::storage_time;
use crate::store::{DecidedTick, FireOutcome};

/// Why storage refused the batch's fires (nothing of the batch is to be kept).
pub(crate) enum Refused {
    /// A candidate was decided on another version of its alert than storage holds.
    AlertChanged,
    /// A candidate's stored alert no longer allows the fire.
    Rejected,
}

/// One round's fires, as `jsonb_to_recordset` reads them.
#[derive(Serialize)]
struct Fire<'a> {
    id: AlertId,
    at: DateTime<Utc>,
    version: i64,
    once: bool,
    rearm_wait: Option<&'a str>,
}

/// The round's fires as one compare-and-set per alert on the version decided on (see the
/// single-candidate statement in `record`).
const FIRES_UPDATE_SQL: &str = "update alerts a set triggered_count = a.triggered_count + 1, \
    last_triggered_at = f.at, active = a.active and not f.once, rearm_wait = f.rearm_wait, \
    version = a.version + 1, updated_at = $2 \
    from jsonb_to_recordset($1) as f(id bigint, at timestamptz, version bigint, once boolean, \
    rearm_wait text) \
    where a.id = f.id and a.version = f.version";

/// One outbox row per event, inserted (and so numbered) in `n` order.
#[derive(Serialize)]
struct OutboxRow {
    n: usize,
    event_id: String,
    message_key: String,
    payload: String,
}

const OUTBOX_ROWS_SQL: &str = "insert into evaluator_outbox \
    (event_id, message_key, payload, created_at) \
    select e.event_id, e.message_key, e.payload, $2 \
    from jsonb_to_recordset($1) as e(n bigint, event_id text, message_key text, payload text) \
    order by e.n";

/// The outcomes of a batch's candidates tick by tick, or why the batch is refused.
pub(crate) type Rounds = Result<Vec<Vec<FireOutcome>>, Refused>;

/// A connection that can record a batch's fires in rounds: PostgreSQL, where each statement is
/// a network round trip. SQLite answers `None` (a statement there is a function call), and the
/// caller records candidate by candidate.
pub(crate) trait FiresInRounds {
    fn fires_in_rounds<'a>(
        &'a mut self,
        ticks: &'a [DecidedTick<'a>],
        written: DateTime<Utc>,
    ) -> impl Future<Output = StorageResult<Option<Rounds>>> + Send + 'a;
}

impl FiresInRounds for PgConnection {
    async fn fires_in_rounds<'a>(
        &'a mut self,
        ticks: &'a [DecidedTick<'a>],
        written: DateTime<Utc>,
    ) -> StorageResult<Option<Rounds>> {
        record_fires_in_rounds(self, ticks, written).await.map(Some)
    }
}

impl FiresInRounds for SqliteConnection {
    fn fires_in_rounds<'a>(
        &'a mut self,
        _: &'a [DecidedTick<'a>],
        _: DateTime<Utc>,
    ) -> impl Future<Output = StorageResult<Option<Rounds>>> + Send + 'a {
        std::future::ready(Ok(None))
    }
}

/// Records every candidate of `ticks` (a batch without re-arms) in the open transaction `tx`:
/// the outcomes tick by tick, or why the batch is refused (the caller rolls back).
async fn record_fires_in_rounds(
    tx: &mut PgConnection,
    ticks: &[DecidedTick<'_>],
    written: DateTime<Utc>,
) -> StorageResult<Rounds> {
    let mut rounds: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut seen: HashMap<AlertId, usize> = HashMap::new();
    for (t, decided) in ticks.iter().enumerate() {
        for (c, candidate) in decided.candidates.iter().enumerate() {
            let round = seen.entry(candidate.alert_id).or_default();
            if rounds.len() <= *round {
                rounds.push(Vec::new());
            }
            rounds[*round].push((t, c));
            *round += 1;
        }
    }
    let mut events: Vec<Vec<Option<TriggerEvent>>> = ticks
        .iter()
        .map(|decided| vec![None; decided.candidates.len()])
        .collect();
    for round in rounds {
        let ids: Vec<AlertId> = round
            .iter()
            .map(|&(t, c)| ticks[t].candidates[c].alert_id)
            .collect();
        let mut checks = HashMap::with_capacity(ids.len());
        for row in sqlx::query_as::<_, FireRow>(FIRE_ROWS_SQL)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
        {
            let check = FireCheck::try_from(row)?;
            checks.insert(check.alert.id(), check);
        }
        let mut fires = Vec::with_capacity(round.len());
        for &(t, c) in &round {
            let decided = &ticks[t];
            let candidate = &decided.candidates[c];
            let at = storage_time(decided.tick);
            let check = checks.remove(&candidate.alert_id);
            if check
                .as_ref()
                .is_some_and(|check| check.alert.version() != candidate.version)
            {
                return Ok(Err(Refused::AlertChanged));
            }
            let Some(row) = check.filter(|row| row.allows(candidate, &decided.tick.symbol, at))
            else {
                return Ok(Err(Refused::Rejected));
            };
            fires.push(Fire {
                id: candidate.alert_id,
                at,
                version: candidate.version,
                once: row.alert.spec().options().trigger() == TriggerPolicy::Once,
                rearm_wait: candidate.rearm_wait.map(RearmWait::as_str),
            });
            events[t][c] = Some(row.event(decided.tick, decided.previous, at));
        }
        let updated = sqlx::query(FIRES_UPDATE_SQL)
            .bind(Json(&fires))
            .bind(written)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated != fires.len() as u64 {
            return Ok(Err(Refused::Rejected));
        }
    }
    let mut rows = Vec::new();
    for event in events.iter().flatten().flatten() {
        rows.push(OutboxRow {
            n: rows.len(),
            event_id: event.event_id.to_string(),
            message_key: event.user_id.to_string(),
            payload: serde_json::to_string(event)
                .map_err(|e| StorageError::Corrupt(format!("unencodable event: {e}")))?,
        });
    }
    if !rows.is_empty() {
        sqlx::query(OUTBOX_ROWS_SQL)
            .bind(Json(&rows))
            .bind(written)
            .execute(&mut *tx)
            .await?;
    }
    Ok(Ok(events
        .into_iter()
        .map(|tick| {
            tick.into_iter()
                .flatten()
                .map(|event| FireOutcome::Fired(Box::new(event)))
                .collect()
        })
        .collect()))
}
