//! The one way the ingestor calls a provider: within its call budget, honouring `Retry-After`,
//! retrying transient failures with backoff, and measuring every call.

mod backoff;
mod pause;
mod retry_after;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use shared::config::RetrySettings;
use tokio::time::Instant;

pub use backoff::Backoff;
pub use pause::PauseGate;
pub use retry_after::{parse_retry_after, rate_limit_pause};

use crate::metrics::IngestorMetrics;
use crate::IngestorError;

/// A provider's call budget: a sustained rate and how many calls may go back to back.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub requests_per_minute: u32,
    pub burst: u32,
}

impl Budget {
    fn limiter(&self) -> DefaultDirectRateLimiter {
        let rate = NonZeroU32::new(self.requests_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        RateLimiter::direct(Quota::per_minute(rate).allow_burst(burst))
    }
}

/// An HTTP client for one provider. Cheap to share by reference among that provider's calls;
/// a clone shares the budget, the pause and the 429 count (the poller and the history
/// backfill of one provider spend one budget).
#[derive(Clone)]
pub struct PoliteClient {
    client: reqwest::Client,
    source: &'static str,
    budget: Arc<DefaultDirectRateLimiter>,
    pause: Arc<PauseGate>,
    backoff: Backoff,
    max_attempts: u32,
    default_retry_after: Duration,
    max_retry_after: Duration,
    /// 429s since the provider last answered normally.
    rate_limits_in_a_row: Arc<AtomicU32>,
    metrics: IngestorMetrics,
}

impl PoliteClient {
    pub fn new(
        client: reqwest::Client,
        source: &'static str,
        budget: Budget,
        retry: &RetrySettings,
        metrics: IngestorMetrics,
    ) -> PoliteClient {
        PoliteClient {
            client,
            source,
            budget: Arc::new(budget.limiter()),
            pause: Arc::default(),
            backoff: Backoff {
                base: retry.backoff_base,
                max: retry.backoff_max,
            },
            max_attempts: retry.max_attempts.max(1),
            default_retry_after: retry.default_retry_after,
            max_retry_after: retry.max_retry_after,
            rate_limits_in_a_row: Arc::new(AtomicU32::new(0)),
            metrics,
        }
    }

    /// GETs `url` and returns the body of a 2xx answer.
    ///
    /// Every attempt waits for the provider-wide pause (set by any 429) and for the call budget.
    /// 429, 5xx, 408, timeouts and connection errors are retried up to `max_attempts`; a 404 is
    /// returned at once as [`IngestorError::NotFound`].
    #[tracing::instrument(skip_all, fields(source = self.source, url))]
    pub async fn get(
        &self,
        url: &str,
        query: &[(&str, &str)],
        headers: &HeaderMap,
    ) -> Result<Vec<u8>, IngestorError> {
        let mut attempt = 1;
        loop {
            self.pause.wait().await;
            self.budget.until_ready().await;
            let started = Instant::now();
            let result = self.attempt(url, query, headers).await;
            self.metrics
                .observe_latency(self.source, started.elapsed().as_secs_f64());
            let error = match result {
                Ok(body) => {
                    self.rate_limits_in_a_row.store(0, Ordering::Relaxed);
                    return Ok(body);
                }
                Err(IngestorError::NotFound) => {
                    self.rate_limits_in_a_row.store(0, Ordering::Relaxed);
                    return Err(IngestorError::NotFound);
                }
                Err(error) => error,
            };
            self.metrics.fetch_error(self.source);
            tracing::debug!(source = self.source, url, attempt, error = %error, "provider call failed");
            if let IngestorError::RateLimited { retry_after } = &error {
                self.pause.pause_for(*retry_after);
            }
            if !error.is_transient() || attempt >= self.max_attempts {
                return Err(error);
            }
            if !matches!(error, IngestorError::RateLimited { .. }) {
                let delay = self.backoff.delay(attempt, &mut rand::thread_rng());
                tokio::time::sleep(delay).await;
            }
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        url: &str,
        query: &[(&str, &str)],
        headers: &HeaderMap,
    ) -> Result<Vec<u8>, IngestorError> {
        let response = self
            .client
            .get(url)
            .query(query)
            .headers(headers.clone())
            .send()
            .await
            .map_err(IngestorError::Transport)?;
        let status = response.status();
        if status.is_success() {
            return read_body(response).await;
        }
        match status {
            // 418: Binance's ban for calling on after 429s; its `Retry-After` says when it ends.
            StatusCode::TOO_MANY_REQUESTS | StatusCode::IM_A_TEAPOT => {
                let asked = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
                let in_a_row = self.rate_limits_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
                let retry_after = rate_limit_pause(
                    asked,
                    in_a_row,
                    self.default_retry_after,
                    self.max_retry_after,
                );
                Err(IngestorError::RateLimited { retry_after })
            }
            StatusCode::NOT_FOUND => Err(IngestorError::NotFound),
            other if other.is_client_error() => Err(refused(other, response).await),
            other => Err(IngestorError::Status {
                status: other.as_u16(),
            }),
        }
    }
}

impl PoliteClient {
    /// Whether a `Retry-After` is holding this provider's requests back now.
    pub fn is_paused(&self) -> bool {
        self.pause.is_paused()
    }
}

/// A 4xx: [`IngestorError::Refused`] when the body is a `{"code","msg"}` error (Binance's
/// shape), else the bare status.
async fn refused(status: StatusCode, response: reqwest::Response) -> IngestorError {
    #[derive(serde::Deserialize)]
    struct CodeAndMessage {
        code: i64,
        msg: String,
    }
    let status = status.as_u16();
    match read_body(response)
        .await
        .map(|body| serde_json::from_slice::<CodeAndMessage>(&body))
    {
        Ok(Ok(error)) => IngestorError::Refused {
            status,
            code: error.code,
            message: error.msg,
        },
        _ => IngestorError::Status { status },
    }
}

/// Price answers are a few kilobytes; anything far larger is not one, and is not kept in memory.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, IngestorError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(IngestorError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(IngestorError::TooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
