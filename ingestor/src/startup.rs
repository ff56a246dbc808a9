use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use shared::catalogue::Catalogue;
use shared::config::{IngestorSettings, PriceSource};
use shared::context::ServiceContext;
use shared::metrics::{service_registry, OpsServer};
use shared::storage::LatestPrice;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::breaker::CircuitBreaker;
use crate::failover::Failover;
use crate::feeds::FeedPlan;
use crate::filter::QuoteFilter;
use crate::history::{BackfillTarget, History, HistorySource, ProviderHistory};
use crate::http::{Budget, PoliteClient};
use crate::latest::LatestPrices;
use crate::metrics::IngestorMetrics;
use crate::poller::Poller;
use crate::providers::binance::tls::ExtraAuthority;
use crate::providers::binance::{self, Binance};
use crate::providers::coingecko::{self, Coin, CoinGecko};
use crate::providers::simulated::Simulated;
use crate::providers::yahoo::{self, Ticker, Yahoo};
use crate::providers::PriceProvider;
use crate::publisher::Publisher;
use crate::sink::Sink;
use crate::store::Store;
use crate::{ops, IngestorError};

/// The ingestor, bound and ready to run.
pub struct Application {
    ops: OpsServer,
    pollers: Vec<Poller>,
    binance: Option<Binance>,
    history: Option<History>,
    /// Latest prices waiting to be written, and where.
    latest: (LatestPrices, Store),
}

impl Application {
    /// Binds the ops port and prepares one poller per provider, starting from the stored
    /// latest prices. Nothing is fetched or published before [`Application::run_until_stopped`].
    pub async fn build(context: ServiceContext) -> Result<Application, IngestorError> {
        let settings = &context.settings.ingestor;
        let registry = service_registry("ingestor");
        let stored = context.db.latest_prices().await?;
        let topic = context.settings.bus.kafka.price_events_topic.clone();
        let plan = FeedPlan::new(settings, &context.catalogue);
        let metrics = IngestorMetrics::register(
            &registry,
            context
                .catalogue
                .instruments()
                .map(|i| (plan.primary(i), i.symbol.as_str(), i.asset_class.as_str())),
            &topic,
        );
        let latest = LatestPrices::default();
        let publisher = Publisher::new(context.bus.clone(), latest.clone(), topic, metrics.clone());
        let failover = Failover::new(
            plan.routes(),
            settings.failover.stale_after,
            settings.failover.switch_back_after,
            metrics.clone(),
        );
        let sink = Sink::new(
            QuoteFilter::new(settings.glitch_band_percent, &stored),
            failover,
            publisher,
            metrics.clone(),
        );
        let client = http_client(settings, None)?;
        let (providers, backfill) = providers_for(
            settings,
            &plan,
            &client,
            &context.catalogue,
            &stored,
            &metrics,
        )?;
        let history = History::build(&context, &registry, backfill).await?;
        let pollers = providers
            .into_iter()
            .map(|provider| {
                Poller::new(
                    provider,
                    CircuitBreaker::new(
                        settings.circuit_breaker.failure_threshold,
                        settings.circuit_breaker.open_for,
                    ),
                    &sink,
                )
            })
            .collect();
        let binance = if plan.binance.is_empty() {
            None
        } else {
            // Read once, before anything runs: a bad file is a startup error naming it.
            let extra = settings
                .binance
                .ca_file
                .as_deref()
                .map(ExtraAuthority::read)
                .transpose()?;
            // One attempt per REST call: the fallback polls again soon anyway, and a 429/418
            // must stop calls at once rather than wait inside a retry.
            let retry = shared::config::RetrySettings {
                max_attempts: 1,
                ..settings.retry.clone()
            };
            let budget = Budget {
                requests_per_minute: 60,
                burst: 5,
            };
            // Its own client: the extra authority is trusted for Binance alone.
            let http = PoliteClient::new(
                http_client(settings, extra.as_ref())?,
                binance::SOURCE,
                budget,
                &retry,
                metrics.clone(),
            );
            Some(Binance::new(
                &settings.binance,
                &settings.retry,
                plan.binance.clone(),
                http,
                extra.as_ref(),
                &sink,
                settings.http.timeout,
            )?)
        };
        let addr = SocketAddr::new(context.settings.gateway.host, settings.port);
        let ops = OpsServer::bind(addr, ops::router(registry, context.catalogue.clone()))
            .await
            .map_err(IngestorError::Bind)?;
        Ok(Application {
            ops,
            pollers,
            binance,
            history,
            latest: (latest, Store::new(context.db.clone())),
        })
    }

    pub fn port(&self) -> u16 {
        self.ops.port()
    }

    /// Serves the ops port and polls every provider until `shutdown`.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), IngestorError> {
        let stop = shutdown.child_token();
        let mut pollers = JoinSet::new();
        for poller in self.pollers {
            pollers.spawn(poller.run(stop.clone()));
        }
        if let Some(binance) = self.binance {
            pollers.spawn(binance.run(stop.clone()));
        }
        let history = self
            .history
            .map(|history| tokio::spawn(history.run(stop.clone())));
        // Stopped after the pollers, so it writes the last prices they published.
        let (latest, store) = self.latest;
        let stop_writing = CancellationToken::new();
        let writer = tokio::spawn(latest.write_until(store, stop_writing.clone()));
        let served = self.ops.run(stop.clone()).await;
        // The ops server stops on shutdown or on failure; either way the pollers stop too.
        stop.cancel();
        while pollers.join_next().await.is_some() {}
        stop_writing.cancel();
        let _ = writer.await;
        if let Some(history) = history {
            let _ = history.await;
        }
        served.map_err(IngestorError::Serve)
    }
}

/// The pollers' providers.
type Providers = Vec<Box<dyn PriceProvider>>;

/// The providers' HTTP client, trusting `extra` besides the public roots.
fn http_client(
    settings: &IngestorSettings,
    extra: Option<&ExtraAuthority>,
) -> Result<reqwest::Client, IngestorError> {
    let builder = reqwest::Client::builder()
        .timeout(settings.http.timeout)
        .connect_timeout(settings.http.timeout.min(Duration::from_secs(5)))
        .user_agent(settings.http.user_agent.clone());
    binance::tls::trusting(builder, extra)?
        .build()
        .map_err(IngestorError::HttpClient)
}

fn providers_for(
    settings: &IngestorSettings,
    plan: &FeedPlan,
    client: &reqwest::Client,
    catalogue: &Catalogue,
    stored: &[LatestPrice],
    metrics: &IngestorMetrics,
) -> Result<(Providers, Vec<BackfillTarget>), IngestorError> {
    if settings.price_source == PriceSource::Simulated {
        let stored = stored
            .iter()
            .filter_map(|p| Some((p.symbol.parse().ok()?, p.price)))
            .collect::<HashMap<_, _>>();
        let provider = Simulated::new(catalogue.instruments(), &stored, &settings.simulated)
            .reporting_to(metrics.clone());
        return Ok((vec![Box::new(provider)], Vec::new()));
    }
    let mut providers: Vec<Box<dyn PriceProvider>> = Vec::new();
    let mut backfill = Vec::new();
    let coins: Vec<Coin> = catalogue
        .instruments()
        .filter(|i| plan.feeds(&i.symbol, coingecko::SOURCE))
        .map(|i| Coin {
            id: i.provider_id.clone(),
            symbol: i.symbol.clone(),
        })
        .collect();
    if !coins.is_empty() {
        let budget = Budget {
            requests_per_minute: settings.coingecko.requests_per_minute,
            burst: settings.coingecko.burst,
        };
        let http = PoliteClient::new(
            client.clone(),
            coingecko::SOURCE,
            budget,
            &settings.retry,
            metrics.clone(),
        );
        let history = ProviderHistory {
            http: http.clone(),
            base_url: settings.coingecko.effective_base_url(),
            headers: coingecko::api_key_headers(
                settings.coingecko.api_key.as_ref(),
                settings.coingecko.api_plan,
            ),
        };
        backfill.extend(coins.iter().map(|coin| BackfillTarget {
            symbol: coin.symbol.clone(),
            source: HistorySource::CoinGecko {
                id: coin.id.clone(),
            },
            provider: history.clone(),
        }));
        providers.push(Box::new(CoinGecko::new(http, &settings.coingecko, coins)));
    }
    let tickers: Vec<Ticker> = catalogue
        .instruments()
        .filter(|i| plan.feeds(&i.symbol, yahoo::SOURCE))
        .map(|i| Ticker {
            ticker: i.provider_id.clone(),
            symbol: i.symbol.clone(),
            currency: i.currency.clone(),
        })
        .collect();
    if !tickers.is_empty() {
        let budget = Budget {
            requests_per_minute: settings.yahoo.requests_per_minute,
            burst: settings.yahoo.burst,
        };
        let http = PoliteClient::new(
            client.clone(),
            yahoo::SOURCE,
            budget,
            &settings.retry,
            metrics.clone(),
        );
        let history = ProviderHistory {
            http: http.clone(),
            base_url: settings.yahoo.base_url.trim_end_matches('/').to_owned(),
            headers: reqwest::header::HeaderMap::new(),
        };
        backfill.extend(tickers.iter().map(|ticker| BackfillTarget {
            symbol: ticker.symbol.clone(),
            source: HistorySource::Yahoo {
                ticker: ticker.ticker.clone(),
            },
            provider: history.clone(),
        }));
        providers.push(Box::new(Yahoo::new(http, &settings.yahoo, tickers)));
    }
    Ok((providers, backfill))
}
