//! Times in response bodies as RFC 3339 text, exactly as chrono's serde writes them (the
//! shortest of 0, 3, 6 or 9 fraction digits, then `Z`), but formatted into a string first.
//! chrono's own serializer hands `serde_json` a formatter, which escapes each of its dozen
//! fragments on its own: on an alert list, escaping fell from ~4.7 % of the gateway's CPU to
//! ~1.8 % with this (docs/BENCHMARKS.md, "Row and time decoding").

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// `#[serde(serialize_with = "rfc3339::time")]`.
pub fn time<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// `#[serde(serialize_with = "rfc3339::optional_time")]`.
pub fn optional_time<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => time(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    #[derive(serde::Serialize)]
    struct Ours(#[serde(serialize_with = "super::time")] DateTime<Utc>);

    #[derive(serde::Serialize)]
    struct Chronos(DateTime<Utc>);

    #[test]
    fn times_read_exactly_as_chrono_writes_them() {
        let second = Utc.with_ymd_and_hms(2026, 12, 6, 19, 21, 23).single();
        let second = second.expect("a valid time");
        for nanos in [0, 328_000_000, 328_645_000, 328_645_123, 1, 999_999_999] {
            let at = second + chrono::Duration::nanoseconds(nanos);
            let ours = serde_json::to_string(&Ours(at)).expect("json");
            let chronos = serde_json::to_string(&Chronos(at)).expect("json");
            assert_eq!(ours, chronos);
        }
        let far = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single();
        let far = far.expect("a valid time");
        assert_eq!(
            serde_json::to_string(&Ours(far)).expect("json"),
            serde_json::to_string(&Chronos(far)).expect("json")
        );
    }
}
