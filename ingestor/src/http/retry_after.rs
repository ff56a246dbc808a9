//! `Retry-After`: either a number of seconds or an HTTP date.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long `value` asks us to wait, seen at `now`; `None` when it is unreadable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT") is a subset of RFC 2822.
    let when = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (when.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// How long a provider is paused after its `in_a_row`-th 429 in a row: the server's
/// `Retry-After` when it gave one, else `default` doubled for each earlier 429 in the row (a
/// provider that keeps refusing, sometimes for hours, is asked less and less often); at most `max`.
pub fn rate_limit_pause(
    retry_after: Option<Duration>,
    in_a_row: u32,
    default: Duration,
    max: Duration,
) -> Duration {
    retry_after
        .unwrap_or_else(|| default.saturating_mul(2u32.saturating_pow(in_a_row.saturating_sub(1))))
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_retry_after_the_pause_doubles_with_each_429_in_a_row_up_to_the_cap() {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3_600);
        let pauses: Vec<u64> = (1..=8)
            .map(|n| rate_limit_pause(None, n, minute, hour).as_secs())
            .collect();
        assert_eq!(pauses, [60, 120, 240, 480, 960, 1_920, 3_600, 3_600]);
        assert_eq!(rate_limit_pause(None, 40, minute, hour), hour);
    }

    #[test]
    fn a_given_retry_after_is_honoured_as_is_below_the_cap() {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3_600);
        let two = Some(Duration::from_secs(2));
        assert_eq!(
            rate_limit_pause(two, 5, minute, hour),
            Duration::from_secs(2)
        );
        let day = Some(Duration::from_secs(86_400));
        assert_eq!(rate_limit_pause(day, 1, minute, hour), hour);
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn seconds_are_read_as_seconds() {
        assert_eq!(parse_retry_after("2", now()), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 119 ", now()),
            Some(Duration::from_secs(119))
        );
    }

    #[test]
    fn an_http_date_is_read_relative_to_now() {
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_not_a_wait() {
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }
}
