//! The window's boundaries in Europe/Berlin: an ordinary night, across midnight, both 2026 DST
//! changes (a skipped and a repeated hour), and the request's refusals.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("a UTC instant")
}

fn berlin(start: &str, end: &str) -> QuietHours {
    QuietHours::new("Europe/Berlin", start, end).expect("valid quiet hours")
}

const SECOND: TimeDelta = TimeDelta::seconds(1);

/// Opens exactly at `opens` (inside), not a second before; closes exactly at `closes`
/// (outside), held a second before, and every held instant reports `closes` as the end.
fn assert_window(quiet: &QuietHours, opens: &str, closes: &str) {
    let (opens, closes) = (utc(opens), utc(closes));
    assert_eq!(
        quiet.window_end(opens - SECOND),
        None,
        "a second before {opens}"
    );
    assert_eq!(quiet.window_end(opens), Some(closes), "exactly at {opens}");
    assert_eq!(
        quiet.window_end(closes - SECOND),
        Some(closes),
        "a second before {closes}"
    );
    assert_eq!(quiet.window_end(closes), None, "exactly at {closes}");
    assert!(!quiet.holds_at(closes));
}

#[test]
fn an_ordinary_night_across_midnight_opens_at_start_and_closes_at_end() {
    // 2026-01-14 22:00 CET is 21:00 UTC; 07:00 CET the next day is 06:00 UTC.
    assert_window(
        &berlin("22:00", "07:00"),
        "2026-01-14T21:00:00Z",
        "2026-01-15T06:00:00Z",
    );
    // Midday, during the window.
    assert!(!berlin("22:00", "07:00").holds_at(utc("2026-01-15T11:00:00Z")));
}

#[test]
fn a_window_within_one_day_opens_and_closes_that_day() {
    assert_window(
        &berlin("09:30", "17:45"),
        "2026-07-01T07:30:00Z",
        "2026-07-01T15:45:00Z",
    );
    assert!(!berlin("09:30", "17:45").holds_at(utc("2026-07-01T20:00:00Z")));
}

#[test]
fn a_night_across_the_spring_forward_lasts_eight_hours() {
    // 22:00 CET on the 28th (21:00 UTC) to 07:00 CEST on the 29th (05:00 UTC).
    let quiet = berlin("22:00", "07:00");
    assert_window(&quiet, "2026-03-28T21:00:00Z", "2026-03-29T05:00:00Z");
    // Through the jump itself (01:59:59 CET → 03:00 CEST).
    assert!(quiet.holds_at(utc("2026-03-29T01:00:00Z")));
}

#[test]
fn a_night_across_the_fall_back_lasts_ten_hours() {
    // 22:00 CEST on the 24th (20:00 UTC) to 07:00 CET on the 25th (06:00 UTC).
    let quiet = berlin("22:00", "07:00");
    assert_window(&quiet, "2026-10-24T20:00:00Z", "2026-10-25T06:00:00Z");
    // Both passes of 02:30 are held.
    assert!(quiet.holds_at(utc("2026-10-25T00:30:00Z")));
    assert!(quiet.holds_at(utc("2026-10-25T01:30:00Z")));
}

#[test]
fn a_start_the_clocks_skip_opens_when_they_land_past_it() {
    // 02:30 does not exist on 2026-03-29: the window opens at 03:00 CEST (01:00 UTC).
    assert_window(
        &berlin("02:30", "06:00"),
        "2026-03-29T01:00:00Z",
        "2026-03-29T04:00:00Z",
    );
}

#[test]
fn an_end_the_clocks_skip_closes_when_they_land_past_it() {
    // 23:00 CET (22:00 UTC) to the non-existent 02:30, i.e. 03:00 CEST (01:00 UTC).
    assert_window(
        &berlin("23:00", "02:30"),
        "2026-03-28T22:00:00Z",
        "2026-03-29T01:00:00Z",
    );
}

#[test]
fn an_end_the_clocks_show_twice_closes_the_first_time_and_does_not_reopen() {
    // 22:00 CEST (20:00 UTC) to the first 02:30, CEST (00:30 UTC).
    let quiet = berlin("22:00", "02:30");
    assert_window(&quiet, "2026-10-24T20:00:00Z", "2026-10-25T00:30:00Z");
    // The clocks show 02:00–02:30 again in CET (01:00–01:30 UTC): not quiet.
    assert!(!quiet.holds_at(utc("2026-10-25T01:15:00Z")));
}

#[test]
fn a_start_the_clocks_show_twice_opens_the_first_time() {
    // The first 02:30 (CEST, 00:30 UTC) to 05:00 CET (04:00 UTC): three and a half hours, the
    // repeated 02:00–02:30 included.
    let quiet = berlin("02:30", "05:00");
    assert_window(&quiet, "2026-10-25T00:30:00Z", "2026-10-25T04:00:00Z");
    assert!(quiet.holds_at(utc("2026-10-25T01:15:00Z")));
}

#[test]
fn midnight_to_midnight_minus_a_minute_closes_a_minute_before_the_next_opens() {
    let quiet = berlin("00:00", "23:59");
    assert_window(&quiet, "2026-01-13T23:00:00Z", "2026-01-14T22:59:00Z");
}

#[test]
fn a_skipped_day_keeps_the_hold_until_the_clocks_reach_the_next_end() {
    // Pacific/Apia jumped from 2011-12-29 23:59:59 (-10) to 2011-12-31 00:00 (+14): the
    // window of the 29th closes at the jump, where the (empty-dated) 30th's opens; the hold
    // runs on to 07:00 on the 31st.
    let quiet = QuietHours::new("Pacific/Apia", "22:00", "07:00").expect("valid");
    // 22:00 on the 29th at -10 is 08:00 UTC on the 30th; 07:00 on the 31st at +14 is 17:00 UTC
    // on the 30th.
    assert_window(&quiet, "2011-12-30T08:00:00Z", "2011-12-30T17:00:00Z");
}

#[test]
fn the_stored_form_reads_back_the_same() {
    let quiet = berlin("22:00", "07:05");
    assert_eq!(
        (quiet.timezone(), quiet.start(), quiet.end()),
        ("Europe/Berlin", "22:00".to_owned(), "07:05".to_owned())
    );
    let again = QuietHours::new(quiet.timezone(), &quiet.start(), &quiet.end()).expect("valid");
    assert_eq!(again, quiet);
}

#[test]
fn equal_start_and_end_unknown_zones_and_malformed_times_are_refused() {
    assert_eq!(
        QuietHours::new("Europe/Berlin", "07:00", "07:00"),
        Err(QuietHoursError::Empty)
    );
    assert!(matches!(
        QuietHours::new("Europe/Atlantis", "22:00", "07:00"),
        Err(QuietHoursError::UnknownTimezone(_))
    ));
    for wrong in [
        "7:00",
        "24:00",
        "23:60",
        "22-00",
        "22:00:00",
        "",
        "ab:cd",
        "+1:00",
        "２２:00",
    ] {
        assert_eq!(
            QuietHours::new("UTC", wrong, "07:00"),
            Err(QuietHoursError::BadTime(wrong.to_owned())),
            "{wrong:?}"
        );
    }
}

#[test]
fn reading_a_request_names_every_wrong_field() {
    let input = QuietHoursInput {
        timezone: Input::sent(json!("Mars/Olympus")),
        start: Input::sent(json!("25:00")),
        end: Input::default(),
    };
    let errors = QuietHours::read(&input).expect_err("three problems");
    let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.kind, e.loc[0].as_str())).collect();
    assert_eq!(
        fields,
        [
            ("value_error", "timezone"),
            ("value_error", "start"),
            ("missing", "end")
        ]
    );
    let same = QuietHoursInput {
        timezone: Input::sent(json!("UTC")),
        start: Input::sent(json!("07:00")),
        end: Input::sent(json!("07:00")),
    };
    let errors = QuietHours::read(&same).expect_err("empty window");
    assert_eq!(errors[0].loc, ["end"]);
    assert!(errors[0].msg.contains("equal"), "{}", errors[0].msg);
    let number = QuietHoursInput {
        timezone: Input::sent(json!("UTC")),
        start: Input::sent(json!(22)),
        end: Input::sent(json!("07:00")),
    };
    let errors = QuietHours::read(&number).expect_err("not a string");
    assert_eq!(
        (errors[0].kind, errors[0].loc[0].as_str()),
        ("string_type", "start")
    );
}
