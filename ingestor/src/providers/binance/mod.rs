//! Binance: the combined market stream (`@trade` or `@miniTicker`) for every configured pair,
//! and the REST ticker as the fallback while the stream is down.
//!
//! The stream is not a polling cycle, so Binance has its own loop instead of a poller: connect,
//! subscribe, publish each frame as it comes; reconnect at once on `serverShutdown` and before
//! Binance's 24-hour cut, with backoff after a failure, polling REST meanwhile (never while a
//! 429/418 `Retry-After` holds). A lost stream or failed call marks Binance down for its
//! instruments, so the failover hands them to the next provider.

pub mod frames;
pub mod pairs;
mod rest;
mod stream;
pub mod tls;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use shared::config::{BinanceSettings, RetrySettings};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::frames::{parse_frame, Frame};
use self::pairs::PairRoute;
use self::rest::Rest;
use super::Observation;
use crate::http::{Backoff, PoliteClient};
use crate::sink::{CycleOutcome, Sink};
use crate::IngestorError;

pub const SOURCE: &str = "binance";

pub struct Binance {
    ws_url: String,
    /// The stream's TLS, with `BINANCE_CA_FILE`'s authority: every reconnect verifies alike.
    tls: Arc<rustls::ClientConfig>,
    rest_interval: Duration,
    max_connection_age: Duration,
    connect_timeout: Duration,
    backoff: Backoff,
    routes: Vec<PairRoute>,
    by_pair: HashMap<String, usize>,
    streams: Vec<String>,
    rest: Rest,
    sink: Sink,
}

/// Why a connection ended.
enum Ended {
    Shutdown,
    /// `serverShutdown` or the connection's age: reconnect at once.
    Renew,
    Lost {
        error: IngestorError,
        /// Frames arrived before it was lost: the next attempt starts the backoff afresh.
        had_frames: bool,
    },
}

impl Binance {
    /// Reconnects back off like `retry`'s retries. `http` must trust `extra` already (see
    /// [`tls::trusting`]); the stream's TLS is built here from it.
    pub fn new(
        settings: &BinanceSettings,
        retry: &RetrySettings,
        routes: Vec<PairRoute>,
        http: PoliteClient,
        extra: Option<&tls::ExtraAuthority>,
        sink: &Sink,
        connect_timeout: Duration,
    ) -> Result<Binance, IngestorError> {
        let by_pair = routes
            .iter()
            .enumerate()
            .map(|(index, route)| (route.pair.clone(), index))
            .collect();
        let streams = routes
            .iter()
            .map(|route| format!("{}@{}", route.pair.to_ascii_lowercase(), settings.stream))
            .collect();
        Ok(Binance {
            ws_url: settings.ws_url.clone(),
            tls: tls::client_config(extra)?,
            rest_interval: settings.rest_interval,
            max_connection_age: settings.max_connection_age,
            connect_timeout,
            backoff: Backoff {
                base: retry.backoff_base,
                max: retry.backoff_max,
            },
            routes,
            by_pair,
            streams,
            rest: Rest::new(http, &settings.rest_url),
            sink: sink.for_source(SOURCE),
        })
    }

    /// Streams (or, while it cannot, polls REST) until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        tracing::info!(pairs = self.routes.len(), "binance stream started");
        let mut failures = 0u32;
        loop {
            match self.stream_once(&shutdown).await {
                Ended::Shutdown => break,
                Ended::Renew => {
                    failures = 0;
                    continue;
                }
                Ended::Lost { error, had_frames } => {
                    failures = if had_frames {
                        1
                    } else {
                        failures.saturating_add(1)
                    };
                    self.sink.metrics().fetch_error(SOURCE);
                    // Reported once per outage: failed reconnects must not keep Binance down
                    // while its REST fallback supplies the prices.
                    if failures == 1 {
                        tracing::warn!(error = %error, "binance stream lost; polling REST until it is back");
                        self.report(vec![self.failed(error)]).await;
                    }
                }
            }
            let wait = self.backoff.delay(failures, &mut rand::thread_rng());
            if !self.fall_back(wait, &shutdown).await {
                break;
            }
        }
        tracing::info!("binance stream stopped");
    }

    async fn stream_once(&mut self, shutdown: &CancellationToken) -> Ended {
        let lost = |error| Ended::Lost {
            error,
            had_frames: false,
        };
        let connecting = stream::connect(&self.ws_url, &self.tls, self.connect_timeout);
        let mut connection = tokio::select! {
            _ = shutdown.cancelled() => return Ended::Shutdown,
            connected = connecting => match connected {
                Ok(connection) => connection,
                Err(error) => return lost(error),
            },
        };
        if let Err(error) = stream::subscribe(&mut connection, &self.streams).await {
            return lost(error);
        }
        let renew_at = Instant::now() + self.max_connection_age;
        let mut had_frames = false;
        let mut outcome = CycleOutcome::default();
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => {
                    let _ = connection.close(None).await;
                    return Ended::Shutdown;
                }
                _ = tokio::time::sleep_until(renew_at) => {
                    tracing::info!("binance connection renewed before its 24-hour limit");
                    let _ = connection.close(None).await;
                    return Ended::Renew;
                }
                next = stream::next_text(&mut connection) => next,
            };
            let text = match next {
                Ok(Some(text)) => text,
                Ok(None) => {
                    let error = IngestorError::Stream("closed by the server".to_owned());
                    return Ended::Lost { error, had_frames };
                }
                Err(error) => return Ended::Lost { error, had_frames },
            };
            had_frames = true;
            match parse_frame(text.as_str()) {
                Frame::Price { pair, price, time } => {
                    let Some(route) = self.by_pair.get(&pair).map(|&i| &self.routes[i]) else {
                        continue;
                    };
                    let received_at = shared::storage::now();
                    let observation =
                        route.observation(price, time.unwrap_or(received_at), received_at);
                    self.sink.accept(observation, &mut outcome).await;
                }
                Frame::ServerShutdown => {
                    tracing::info!("binance announced a server shutdown; reconnecting");
                    return Ended::Renew;
                }
                Frame::Refused { code, msg } => {
                    tracing::warn!(code, msg, "binance refused a subscription")
                }
                Frame::Subscribed | Frame::Unknown => {}
            }
        }
    }

    /// Polls REST every `rest_interval` (first at once) until `wait` has passed; false on
    /// shutdown.
    async fn fall_back(&mut self, wait: Duration, shutdown: &CancellationToken) -> bool {
        let until = Instant::now() + wait;
        loop {
            if !self.rest.is_paused() {
                let observations = tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    observations = self.rest.poll(&self.routes) => observations,
                };
                self.report(observations).await;
            }
            let next = (Instant::now() + self.rest_interval).min(until);
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep_until(next) => {}
            }
            if next >= until {
                return true;
            }
        }
    }

    fn failed(&self, error: IngestorError) -> Observation {
        Observation::Failed {
            error,
            affected: self.routes.iter().map(|r| r.symbol.clone()).collect(),
        }
    }

    async fn report(&self, observations: Vec<Observation>) {
        let mut outcome = CycleOutcome::default();
        for observation in observations {
            self.sink.accept(observation, &mut outcome).await;
        }
        if let Some(error) = outcome.first_failure {
            tracing::warn!(error = %error, "binance REST call failed");
        }
    }
}
