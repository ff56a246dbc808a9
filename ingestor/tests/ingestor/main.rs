//! Black-box tests of the ingestor: the real service and its real HTTP client against fake
//! providers on loopback, a fresh database per test, ticks observed on the in-process bus.

mod binance;
mod binance_standin;
mod binance_tls;
mod budget;
mod coingecko;
mod failover;
mod fake_providers;
mod fixtures;
mod helpers;
mod history;
mod history_packs;
mod history_service;
mod ops;
mod pipeline;
mod resilience;
mod simulated;
mod store;
mod yahoo;
