//! Failover per instrument: of an instrument's providers, in order of preference, the first
//! healthy one feeds it. A provider is down for an instrument when it has sent no tick for it
//! within `stale_after`, or its last call for it failed (errors, rate limits, a lost stream).
//! A preferred provider takes the instrument back only once it has been healthy for
//! `switch_back_after`, so a provider going on, off and on again does not flap the feed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use shared::domain::Symbol;
use tokio::time::Instant;

use crate::metrics::IngestorMetrics;

pub struct Failover {
    routes: Mutex<HashMap<Symbol, Route>>,
    stale_after: Duration,
    switch_back_after: Duration,
    metrics: IngestorMetrics,
}

struct Route {
    feeds: Vec<Feed>,
    /// Index of the provider feeding the instrument now.
    active: usize,
}

struct Feed {
    source: &'static str,
    last_tick: Instant,
    /// Since when it has ticked without a gap or a failure; `None` right after a failure.
    healthy_since: Option<Instant>,
}

impl Feed {
    fn is_up(&self, now: Instant, stale_after: Duration) -> bool {
        self.healthy_since.is_some() && now.duration_since(self.last_tick) <= stale_after
    }
}

impl Failover {
    /// `routes` are each instrument's providers in order of preference. At start every provider counts as healthy, so the preferred
    /// one feeds unless it sends nothing within `stale_after`.
    pub fn new(
        routes: impl IntoIterator<Item = (Symbol, Vec<&'static str>)>,
        stale_after: Duration,
        switch_back_after: Duration,
        metrics: IngestorMetrics,
    ) -> Failover {
        let now = Instant::now();
        let routes = routes
            .into_iter()
            // Every instrument shows who feeds it; only those with a choice need routing.
            .inspect(|(symbol, sources)| metrics.set_feed(symbol.as_str(), sources, 0))
            .filter(|(_, sources)| sources.len() > 1)
            .map(|(symbol, sources)| {
                let feeds = sources
                    .into_iter()
                    .map(|source| Feed {
                        source,
                        last_tick: now,
                        healthy_since: Some(now),
                    })
                    .collect();
                (symbol, Route { feeds, active: 0 })
            })
            .collect();
        Failover {
            routes: Mutex::new(routes),
            stale_after,
            switch_back_after,
            metrics,
        }
    }

    /// Records a quote of `symbol` from `source` at `now`; true when `source` feeds `symbol`
    /// (its quote may be published).
    pub fn on_quote(&self, source: &'static str, symbol: &Symbol, now: Instant) -> bool {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let Some(route) = routes.get_mut(symbol) else {
            return true;
        };
        let Some(index) = route.feeds.iter().position(|f| f.source == source) else {
            return false;
        };
        let feed = &mut route.feeds[index];
        if !feed.is_up(now, self.stale_after) {
            feed.healthy_since = Some(now);
        }
        feed.last_tick = now;
        let target = self.target(route, now);
        if target != route.active {
            let from = route.feeds[route.active].source;
            let to = route.feeds[target].source;
            tracing::info!(%symbol, from, to, "instrument feed switched");
            route.active = target;
            let sources: Vec<&str> = route.feeds.iter().map(|f| f.source).collect();
            self.metrics.set_feed(symbol.as_str(), &sources, target);
            self.metrics.feed_switched(symbol.as_str(), to);
        }
        route.active == index
    }

    /// A call of `source` for `symbols` failed: it is down for them until it ticks again.
    pub fn on_failure(&self, source: &'static str, symbols: &[Symbol]) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        for symbol in symbols {
            if let Some(feed) = routes
                .get_mut(symbol)
                .and_then(|route| route.feeds.iter_mut().find(|f| f.source == source))
            {
                feed.healthy_since = None;
            }
        }
    }

    /// Who should feed the route now: the first healthy provider, except that one preferred
    /// to a still-healthy active provider must first have been healthy for the hold time.
    fn target(&self, route: &Route, now: Instant) -> usize {
        let up = |feed: &Feed| feed.is_up(now, self.stale_after);
        let Some(best) = route.feeds.iter().position(up) else {
            return route.active;
        };
        let active = &route.feeds[route.active];
        if best < route.active && up(active) {
            let held = route.feeds[best]
                .healthy_since
                .is_some_and(|since| now.duration_since(since) >= self.switch_back_after);
            if !held {
                return route.active;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use prometheus::Registry;

    use super::*;

    const STALE: Duration = Duration::from_secs(10);
    const HOLD: Duration = Duration::from_secs(30);

    fn failover() -> (Failover, Symbol, Instant) {
        let metrics = IngestorMetrics::register(&Registry::new(), [], "price-events");
        let btc: Symbol = "BTC".parse().expect("symbol");
        let routes = [(btc.clone(), vec!["binance", "coingecko"])];
        (
            Failover::new(routes, STALE, HOLD, metrics),
            btc,
            Instant::now(),
        )
    }

    fn at(start: Instant, seconds: u64) -> Instant {
        start + Duration::from_secs(seconds)
    }

    #[test]
    fn the_secondary_feeds_only_once_the_primary_is_stale_or_failed() {
        let (failover, btc, start) = failover();
        assert!(failover.on_quote("binance", &btc, at(start, 1)));
        assert!(!failover.on_quote("coingecko", &btc, at(start, 5)));
        // Eleven seconds without a primary tick: stale.
        assert!(failover.on_quote("coingecko", &btc, at(start, 12)));
        let (failover, btc, start) = self::failover();
        failover.on_failure("binance", std::slice::from_ref(&btc));
        assert!(failover.on_quote("coingecko", &btc, at(start, 1)));
    }

    #[test]
    fn the_primary_takes_back_once_after_the_hold_and_an_on_off_primary_never_does() {
        let (failover, btc, start) = failover();
        failover.on_failure("binance", std::slice::from_ref(&btc));
        assert!(failover.on_quote("coingecko", &btc, at(start, 1)));
        // Back, but flapping: on for 20 s, a failure, on again (the secondary keeps ticking).
        let steps = [
            ("binance", 2, false),
            ("coingecko", 8, true),
            ("binance", 12, false),
            ("coingecko", 16, true),
            ("binance", 20, false),
        ];
        for (source, second, feeds) in steps {
            assert_eq!(
                failover.on_quote(source, &btc, at(start, second)),
                feeds,
                "{source} at {second}"
            );
        }
        failover.on_failure("binance", std::slice::from_ref(&btc));
        let steps = [
            ("coingecko", 23, true),
            ("binance", 24, false),
            ("coingecko", 30, true),
            ("binance", 34, false),
            ("coingecko", 40, true),
            ("binance", 44, false),
            ("coingecko", 50, true),
        ];
        for (source, second, feeds) in steps {
            assert_eq!(
                failover.on_quote(source, &btc, at(start, second)),
                feeds,
                "{source} at {second}"
            );
        }
        // Healthy since 24 s: at 54 s it has held for 30 s.
        assert!(failover.on_quote("binance", &btc, at(start, 54)));
        assert!(!failover.on_quote("coingecko", &btc, at(start, 55)));
    }
}
