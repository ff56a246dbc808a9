use std::time::Duration;

use shared::catalogue::ProviderKind;
use testkit::Engine;

use super::fake_providers::{Canned, FakeProviders};
use super::fixtures::*;
use super::helpers::*;

#[tokio::test]
async fn charts_publish_exact_prices_in_the_currency_of_the_payload() {
    let fake = FakeProviders::start().await;
    fake.script_yahoo("AAPL", vec![], Canned::json(yahoo_aapl_chart()));
    fake.script_yahoo("WSU.DE", vec![], Canned::json(yahoo_wsu_de_chart()));
    fake.script_yahoo(
        "^NSEI",
        vec![],
        Canned::json(yahoo_chart("^NSEI", "22514.65", "INR", 1_790_950_000)),
    );
    // The catalogue says USD for WashTec: the payload's EUR has the final word.
    let settings = with_instruments(
        test_settings(&fake),
        vec![
            instrument("APPLE", ProviderKind::Yahoo, "AAPL", "USD"),
            instrument("WASHTEC", ProviderKind::Yahoo, "WSU.DE", "USD"),
            instrument("NIFTY50", ProviderKind::Yahoo, "^NSEI", "INR"),
        ],
    );
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let ticks = ingestor.first_ticks(3).await;

    let apple = &ticks["APPLE"];
    assert_eq!(
        (apple.price.to_string().as_str(), apple.currency.as_str()),
        ("333.69", "USD")
    );
    assert_eq!(apple.timestamp.timestamp(), 1_790_971_201);
    assert_eq!(apple.source, "yahoo");
    let washtec = &ticks["WASHTEC"];
    assert_eq!(
        (
            washtec.price.to_string().as_str(),
            washtec.currency.as_str()
        ),
        ("33", "EUR")
    );
    assert_eq!(washtec.timestamp.timestamp(), 1_790_955_341);
    let nifty = &ticks["NIFTY50"];
    assert_eq!(
        (nifty.price.to_string().as_str(), nifty.currency.as_str()),
        ("22514.65", "INR")
    );

    let calls = fake.requests("yahoo");
    let mut tickers: Vec<_> = calls.iter().filter_map(|c| c.ticker.clone()).collect();
    tickers.sort();
    assert_eq!(tickers, ["AAPL", "WSU.DE", "^NSEI"]);
    assert!(calls
        .iter()
        .all(|c| c.query.get("interval").map(String::as_str) == Some("1d")));
}

#[tokio::test]
async fn bad_answers_are_each_counted_and_skipped_while_the_other_instruments_publish() {
    let fake = FakeProviders::start().await;
    fake.script_yahoo("AAPL", vec![], Canned::json(yahoo_aapl_chart()));
    fake.script_yahoo("WSU.DE", vec![], Canned::json(yahoo_wsu_de_chart()));
    fake.script_yahoo("TSLA", vec![], Canned::html(HTML_ERROR_PAGE));
    fake.script_yahoo("META", vec![], Canned::json(truncated(&yahoo_aapl_chart())));
    fake.script_yahoo(
        "GC=F",
        vec![],
        Canned::json(yahoo_chart_with_null_prices("GC=F")),
    );
    fake.script_yahoo("AMZN", vec![], Canned::json(" ".repeat(3 * 1024 * 1024)));
    // NVDA is not scripted: the fake answers Yahoo's 404 "No data found".
    let settings = with_instruments(
        test_settings(&fake),
        vec![
            instrument("APPLE", ProviderKind::Yahoo, "AAPL", "USD"),
            instrument("WASHTEC", ProviderKind::Yahoo, "WSU.DE", "EUR"),
            instrument("TESLA", ProviderKind::Yahoo, "TSLA", "USD"),
            instrument("META", ProviderKind::Yahoo, "META", "USD"),
            instrument("GOLD", ProviderKind::Yahoo, "GC=F", "USD"),
            instrument("NVIDIA", ProviderKind::Yahoo, "NVDA", "USD"),
            instrument("AMAZON", ProviderKind::Yahoo, "AMZN", "USD"),
        ],
    );
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let ticks = ingestor.first_ticks(2).await;

    assert_eq!(ticks.keys().collect::<Vec<_>>(), ["APPLE", "WASHTEC"]);
    for (reason, count) in [("malformed", 3.0), ("null_price", 1.0), ("missing", 1.0)] {
        ingestor
            .wait_for_metric(
                "ingestor_skipped_quotes_total",
                &[("source", "yahoo"), ("reason", reason)],
                |v| v == count,
            )
            .await;
    }
    // The HTML page, the truncated body and the 3 MB answer are failed calls; the 404 and the
    // nulls are not.
    let errors = ingestor
        .metric("ingestor_fetch_errors_total", &[("source", "yahoo")])
        .await;
    assert_eq!(errors, Some(3.0));
    assert_eq!(
        fake.requests("yahoo").len(),
        7,
        "no retries for permanent answers"
    );
    assert!(ingestor.published_so_far().is_empty());
    for symbol in ["APPLE", "WASHTEC"] {
        let fetched = ingestor
            .metric(
                "ingestor_prices_fetched_total",
                &[("source", "yahoo"), ("symbol", symbol)],
            )
            .await;
        assert_eq!(fetched, Some(1.0));
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_exponential_backoff() {
    let fake = FakeProviders::start().await;
    fake.script_yahoo(
        "AAPL",
        vec![
            Canned::status(500, "internal error"),
            Canned::status(502, "<html>bad gateway</html>"),
        ],
        Canned::json(yahoo_aapl_chart()),
    );
    let mut settings = with_instruments(
        test_settings(&fake),
        vec![instrument("APPLE", ProviderKind::Yahoo, "AAPL", "USD")],
    );
    settings.ingestor.retry.backoff_base = Duration::from_millis(200);
    settings.ingestor.retry.backoff_max = Duration::from_secs(5);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let tick = ingestor.next_tick().await;

    assert_eq!(tick.price.to_string(), "333.69");
    let calls = fake.requests("yahoo");
    assert_eq!(calls.len(), 3);
    let first_wait = calls[1].at - calls[0].at;
    let second_wait = calls[2].at - calls[1].at;
    // Retry n waits between half and all of 200 ms * 2^(n-1).
    assert!(first_wait >= Duration::from_millis(100), "{first_wait:?}");
    assert!(second_wait >= Duration::from_millis(200), "{second_wait:?}");
    eprintln!("measured: retries after 500 and 502 waited {first_wait:?} then {second_wait:?}");
    let errors = ingestor
        .metric("ingestor_fetch_errors_total", &[("source", "yahoo")])
        .await;
    assert_eq!(errors, Some(2.0));
}

#[tokio::test]
async fn a_timed_out_call_is_retried() {
    let fake = FakeProviders::start().await;
    fake.script_yahoo(
        "AAPL",
        vec![Canned::json(yahoo_aapl_chart()).delayed(Duration::from_secs(5))],
        Canned::json(yahoo_aapl_chart()),
    );
    let mut settings = with_instruments(
        test_settings(&fake),
        vec![instrument("APPLE", ProviderKind::Yahoo, "AAPL", "USD")],
    );
    settings.ingestor.http.timeout = Duration::from_millis(300);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let tick = ingestor.next_tick().await;

    assert_eq!(tick.symbol.as_str(), "APPLE");
    assert_eq!(fake.requests("yahoo").len(), 2);
    let errors = ingestor
        .metric("ingestor_fetch_errors_total", &[("source", "yahoo")])
        .await;
    assert_eq!(errors, Some(1.0));
}

#[tokio::test]
async fn a_429_on_one_ticker_pauses_every_yahoo_call_until_retry_after() {
    let fake = FakeProviders::start().await;
    fake.script_yahoo(
        "AAPL",
        vec![Canned::status(429, "Too Many Requests").with_header("retry-after", "1")],
        Canned::json(yahoo_aapl_chart()),
    );
    fake.script_yahoo("WSU.DE", vec![], Canned::json(yahoo_wsu_de_chart()));
    let mut settings = with_instruments(
        test_settings(&fake),
        vec![
            instrument("APPLE", ProviderKind::Yahoo, "AAPL", "USD"),
            instrument("WASHTEC", ProviderKind::Yahoo, "WSU.DE", "EUR"),
        ],
    );
    // No retries and one call at a time, AAPL first: WSU.DE's only call, and AAPL's call in the
    // next cycle, must both wait for the pause AAPL's 429 set.
    settings.ingestor.retry.max_attempts = 1;
    settings.ingestor.yahoo.concurrency = 1;
    settings.ingestor.yahoo.interval = Duration::from_millis(100);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    ingestor.first_ticks(2).await;

    let calls = fake.requests("yahoo");
    assert!(calls.len() >= 3, "{calls:?}");
    assert_eq!(calls[0].ticker.as_deref(), Some("AAPL"));
    for later in &calls[1..] {
        let waited = later.at - calls[0].at;
        assert!(
            waited >= Duration::from_secs(1),
            "{later:?} after {waited:?}"
        );
    }
}
