//! [`QuietHours::window_end`] against a brute-force reference that reads the local wall clock
//! minute by minute, in zones with every kind of change: an hour (Berlin, New York), half an
//! hour (Lord Howe), odd offsets (Kathmandu, Chatham), southern-hemisphere DST (Santiago),
//! changes at midnight (Havana), a skipped day (Apia) and none (UTC).
//!
//! The reference uses only UTC → local conversion: it walks the minutes from four days
//! before to six days after the instant, and a window's start or end happens at the first
//! minute whose local reading is that date and time or later. It never resolves a local time
//! to an instant, which is what the implementation does.

use chrono::{
    DateTime, Days, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::QuietHours;

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Santiago",
    "America/Havana",
    "Pacific/Apia",
    "UTC",
];

/// Times near where clocks change (01:00–03:00 in most zones, midnight in some) are likeliest.
const TIMES: &[&str] = &[
    "00:00", "00:30", "01:00", "01:30", "01:59", "02:00", "02:15", "02:30", "02:59", "03:00",
    "03:30", "07:00", "12:00", "22:00", "23:00", "23:30", "23:59",
];

fn reference(
    zone: Tz,
    start: NaiveTime,
    end: NaiveTime,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let today = at.with_timezone(&zone).date_naive();
    // Each window's start and end as local readings, in increasing order.
    let mut boundaries: Vec<NaiveDateTime> = Vec::new();
    for back in (0..=2).rev() {
        let date = today - Days::new(back);
        boundaries.push(date.and_time(start));
        let end_date = if start < end {
            date
        } else {
            date + Days::new(1)
        };
        boundaries.push(end_date.and_time(end));
    }
    for ahead in 1..=3 {
        let date = today + Days::new(ahead);
        boundaries.push(date.and_time(start));
        let end_date = if start < end {
            date
        } else {
            date + Days::new(1)
        };
        boundaries.push(end_date.and_time(end));
    }
    // The first minute each boundary's reading is reached (boundaries increase, so one pass).
    let first_minute = at.with_second(0)?.with_nanosecond(0)? - TimeDelta::days(4);
    let mut reached: Vec<DateTime<Utc>> = Vec::new();
    let mut minute = first_minute;
    while reached.len() < boundaries.len() && minute < at + TimeDelta::days(6) {
        let reading = minute.with_timezone(&zone).naive_local();
        while reached.len() < boundaries.len() && reading >= boundaries[reached.len()] {
            reached.push(minute);
        }
        minute += TimeDelta::minutes(1);
    }
    assert_eq!(
        reached.len(),
        boundaries.len(),
        "the scan reached every boundary"
    );
    let mut index = 0;
    while index + 1 < reached.len() {
        let (opens, mut closes) = (reached[index], reached[index + 1]);
        if opens <= at && at < closes {
            // Windows opening where the previous closes continue the hold.
            let mut next = index + 2;
            while next + 1 < reached.len() && reached[next] <= closes {
                closes = closes.max(reached[next + 1]);
                next += 2;
            }
            return Some(closes);
        }
        index += 2;
    }
    None
}

fn time() -> impl Strategy<Value = NaiveTime> {
    prop_oneof![
        prop::sample::select(TIMES)
            .prop_map(|t| NaiveTime::parse_from_str(t, "%H:%M").expect("time")),
        (0u32..24, 0u32..60).prop_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0).expect("time")),
    ]
}

/// An instant, most often within days of a DST change of either hemisphere.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let near_changes = (
        1995i32..2036,
        prop::sample::select(
            &[
                (3u32, 8u32),
                (3, 24),
                (4, 1),
                (9, 4),
                (9, 24),
                (10, 20),
                (11, 1),
            ][..],
        ),
        0i64..(14 * 86_400),
    )
        .prop_map(|(year, (month, day), offset)| {
            Utc.with_ymd_and_hms(year, month, day, 0, 0, 0)
                .single()
                .expect("date")
                + TimeDelta::seconds(offset)
        });
    let anywhere = (788_918_400i64..2_082_758_400)
        .prop_map(|seconds| DateTime::from_timestamp(seconds, 0).expect("in range"));
    prop_oneof![3 => near_changes, 1 => anywhere]
}

/// The first instant after `from`, within about a year, where the zone's UTC offset changes.
fn next_change(zone: Tz, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| t.with_timezone(&zone).offset().fix();
    let before = offset(from);
    let mut day = from;
    for _ in 0..400 {
        let next = day + TimeDelta::days(1);
        if offset(next) != before {
            // Changes happen on whole seconds: bisect the seconds.
            let (mut low, mut high) = (day.timestamp(), next.timestamp());
            while high - low > 1 {
                let middle = low + (high - low) / 2;
                if offset(DateTime::from_timestamp(middle, 0)?) == before {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            return DateTime::from_timestamp(high, 0);
        }
        day = next;
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn the_window_end_is_what_the_wall_clock_says_minute_by_minute(
        zone in prop::sample::select(ZONES),
        start in time(),
        end in time(),
        seed in instant(),
        // Where the instant lies: 0, anywhere (the seed); else within 30 h of the zone's next
        // change after the seed.
        near_change in 0u8..3,
        around in -(30 * 3600i64)..(30 * 3600),
        // 1: the start, 2: the end is pinned to the clock reading just before that change,
        // moved by `pin_minutes`, so it falls into a skipped or repeated hour or next to one.
        pin in 0u8..3,
        pin_minutes in -90i64..90,
        // Boundaries themselves, and a second either side, are the likeliest to be wrong.
        nudge in prop_oneof![Just(0i64), Just(-1), Just(1), -90i64..90],
    ) {
        let tz: Tz = zone.parse().expect("a known zone");
        let change = next_change(tz, seed);
        let (mut start, mut end) = (start, end);
        if let Some(change) = change {
            let reading = (change - TimeDelta::seconds(1)).with_timezone(&tz).naive_local();
            let pinned = (reading + TimeDelta::minutes(pin_minutes))
                .time()
                .with_second(0)
                .expect("a minute");
            match pin {
                1 => start = pinned,
                2 => end = pinned,
                _ => {}
            }
        }
        prop_assume!(start != end);
        let quiet = QuietHours::new(
            zone,
            &start.format("%H:%M").to_string(),
            &end.format("%H:%M").to_string(),
        )
        .expect("valid");
        let at = match change {
            Some(change) if near_change > 0 => change + TimeDelta::seconds(around),
            _ => seed,
        };
        // Snap to a minute the reference may report as a boundary, then nudge.
        let at = at.with_second(0).expect("second") + TimeDelta::seconds(nudge);
        let expected = reference(tz, start, end, at);
        prop_assert_eq!(quiet.window_end(at), expected, "{} {}–{} at {}", zone, start, end, at);
        // Just before a window closes is still inside it; exactly at its end is outside.
        if let Some(closes) = expected {
            prop_assert_eq!(quiet.window_end(closes - TimeDelta::seconds(1)), Some(closes));
            prop_assert_eq!(quiet.window_end(closes), reference(tz, start, end, closes));
        }
    }
}
