//! Binance's payloads: combined-stream frames (`{"stream","data"}` around a `trade`,
//! `24hrMiniTicker` or `serverShutdown` event), answers to SUBSCRIBE, and REST bodies
//! (`/api/v3/ticker/price` arrays and `{"code","msg"}` errors).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::domain::Price;

/// What one text frame of the combined stream says.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A price for a pair (upper case) at the exchange's time; `price` is `None` when the
    /// event carried none that parses.
    Price {
        pair: String,
        price: Option<Price>,
        time: Option<DateTime<Utc>>,
    },
    /// The server is going away: reconnect now.
    ServerShutdown,
    /// `{"result":null,"id":N}`: a SUBSCRIBE was accepted.
    Subscribed,
    /// `{"code":N,"msg":"..."}`: a control message was refused.
    Refused { code: i64, msg: String },
    /// Anything else (another event, an unreadable frame).
    Unknown,
}

#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    data: Event<'a>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "e")]
    kind: &'a str,
    #[serde(rename = "E")]
    event_time: Option<i64>,
    #[serde(rename = "s")]
    pair: Option<String>,
    /// The trade's price (`trade`).
    #[serde(rename = "p")]
    trade_price: Option<String>,
    /// The trade's time (`trade`).
    #[serde(rename = "T")]
    trade_time: Option<i64>,
    /// The last price (`24hrMiniTicker`).
    #[serde(rename = "c")]
    close: Option<String>,
}

#[derive(Deserialize)]
struct Control {
    #[serde(default)]
    id: Option<serde_json::Value>,
    code: Option<i64>,
    msg: Option<String>,
}

pub fn parse_frame(text: &str) -> Frame {
    if let Ok(Combined { data }) = serde_json::from_str::<Combined>(text) {
        return match data.kind {
            "serverShutdown" => Frame::ServerShutdown,
            "trade" | "24hrMiniTicker" => {
                let Some(pair) = data.pair else {
                    return Frame::Unknown;
                };
                let (price, time) = match data.kind {
                    "trade" => (data.trade_price, data.trade_time.or(data.event_time)),
                    _ => (data.close, data.event_time),
                };
                Frame::Price {
                    pair: pair.to_ascii_uppercase(),
                    price: price.and_then(|p| p.parse().ok()),
                    time: time.and_then(DateTime::from_timestamp_millis),
                }
            }
            _ => Frame::Unknown,
        };
    }
    match serde_json::from_str::<Control>(text) {
        Ok(Control {
            code: Some(code),
            msg,
            ..
        }) => Frame::Refused {
            code,
            msg: msg.unwrap_or_default(),
        },
        Ok(Control { id: Some(_), .. }) => Frame::Subscribed,
        _ => Frame::Unknown,
    }
}

#[derive(Deserialize)]
pub struct TickerPrice {
    pub symbol: String,
    pub price: String,
}

/// A `/api/v3/ticker/price?symbols=[...]` body.
pub fn parse_ticker_prices(body: &[u8]) -> Result<Vec<TickerPrice>, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// Binance's error body: `{"code":-1121,"msg":"Invalid symbol."}`.
#[derive(Debug, Deserialize)]
pub struct ApiError {
    pub code: i64,
    pub msg: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/binance_{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).expect("fixture")
    }

    #[test]
    fn the_documented_frames_read_as_prices_and_a_shutdown() {
        let trade = parse_frame(&fixture("ws_combined_trade.json"));
        assert_eq!(
            trade,
            Frame::Price {
                pair: "BNBBTC".to_owned(),
                price: Some("0.001".parse().expect("price")),
                time: DateTime::from_timestamp_millis(1_672_515_782_136),
            }
        );
        let ticker = parse_frame(&fixture("ws_combined_miniTicker.json"));
        assert!(matches!(ticker, Frame::Price { price: Some(p), .. } if p.to_string() == "0.0025"));
        assert_eq!(
            parse_frame(&fixture("ws_combined_serverShutdown.json")),
            Frame::ServerShutdown
        );
        assert_eq!(
            parse_frame(&fixture("ws_subscribe_response.json")),
            Frame::Subscribed
        );
        assert_eq!(parse_frame("not json"), Frame::Unknown);
        let prices =
            parse_ticker_prices(fixture("rest_ticker_price_symbols.json").as_bytes()).expect("ok");
        assert_eq!(prices[1].symbol, "ETHBTC");
    }
}
