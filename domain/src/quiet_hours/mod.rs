//! A user's quiet hours: a daily window of local wall-clock time, in an IANA time zone, during
//! which notifications are held (and sent as one digest when it ends). The gateway's explain
//! and the notifier both ask [`QuietHours::window_end`], so they agree on every instant.
//!
//! The rule, DST-correct: the window of local date D opens at the first instant whose local
//! reading is D `start` or later, and closes at the first instant whose reading is `end` or
//! later on D (when start < end) or on D + 1 (a window across midnight). Hence:
//! - a start or end that the clocks skip (spring forward) takes effect when the clocks land
//!   past it: 02:30 on Berlin's 2026-03-29 is 03:00 CEST;
//! - a start or end the clocks show twice (fall back) takes effect the first time: the window
//!   of 22:00–02:30 ends at 02:30 CEST on Berlin's 2026-10-25, and does not reopen when the
//!   clocks show 02:00–02:30 again, in CET;
//! - a window spanning a change is an hour shorter or longer in real time (22:00–07:00 is 8 h
//!   across Berlin's spring forward, 10 h across its fall back).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::input::{FieldError, Input, InputErrors, Invalid};

/// Longest gap (clocks skipping forward) searched for the first existing local minute: Samoa
/// skipped a whole day in 2011; two days leave room for any zone.
const MAX_GAP_MINUTES: i64 = 2 * 24 * 60;

/// A valid quiet-hours window. Built by [`QuietHours::new`] (or [`QuietHours::read`]) only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    timezone: Tz,
    start: NaiveTime,
    end: NaiveTime,
}

/// Why a window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    #[error("unknown time zone {0:?}: expected an IANA name such as Europe/Berlin")]
    UnknownTimezone(String),
    #[error("{0:?} is not a time of day as HH:MM (00:00 to 23:59)")]
    BadTime(String),
    #[error("start and end are equal: the window would be empty")]
    Empty,
}

/// The body of `PUT /auth/me/quiet-hours`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct QuietHoursInput {
    /// IANA time zone name, e.g. `Europe/Berlin` (case-sensitive).
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "Europe/Berlin")]
    pub timezone: Input<String>,
    /// Local time the window opens, `HH:MM` (24-hour).
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "22:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub start: Input<String>,
    /// Local time the window closes, `HH:MM`; before `start` for a window across midnight;
    /// must differ from `start`.
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "07:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub end: Input<String>,
}

impl QuietHours {
    pub fn new(timezone: &str, start: &str, end: &str) -> Result<QuietHours, QuietHoursError> {
        let timezone = parse_timezone(timezone)?;
        let (start, end) = (parse_time(start)?, parse_time(end)?);
        if start == end {
            return Err(QuietHoursError::Empty);
        }
        Ok(QuietHours {
            timezone,
            start,
            end,
        })
    }

    /// Reads a request, reporting every wrong field at once.
    pub fn read(input: &QuietHoursInput) -> Result<QuietHours, Vec<FieldError>> {
        let mut errors = InputErrors::new();
        let timezone = errors
            .required("timezone", &input.timezone)
            .and_then(|raw| {
                reject(
                    &mut errors,
                    "timezone",
                    &input.timezone,
                    parse_timezone(&raw),
                )
            });
        let start = errors
            .required("start", &input.start)
            .and_then(|raw| reject(&mut errors, "start", &input.start, parse_time(&raw)));
        let end = errors
            .required("end", &input.end)
            .and_then(|raw| reject(&mut errors, "end", &input.end, parse_time(&raw)));
        if let (Some(start), Some(end)) = (start, end) {
            if start == end {
                errors.add("end", &input.end, Invalid::value(QuietHoursError::Empty));
            }
        }
        errors.finish()?;
        match (timezone, start, end) {
            (Some(timezone), Some(start), Some(end)) => Ok(QuietHours {
                timezone,
                start,
                end,
            }),
            // `finish` reported every missing or wrong field above.
            _ => Err(Vec::new()),
        }
    }

    /// The zone's canonical IANA name.
    pub fn timezone(&self) -> &'static str {
        self.timezone.name()
    }

    /// `HH:MM`.
    pub fn start(&self) -> String {
        self.start.format("%H:%M").to_string()
    }

    /// `HH:MM`.
    pub fn end(&self) -> String {
        self.end.format("%H:%M").to_string()
    }

    /// Whether the window holds at `at`.
    pub fn holds_at(&self, at: DateTime<Utc>) -> bool {
        self.window_end(at).is_some()
    }

    /// When the window holding at `at` ends (the first instant after `at` outside every window),
    /// or `None` when none holds at `at`. A window's opening instant is inside it, its closing
    /// instant outside.
    pub fn window_end(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = at.with_timezone(&self.timezone).date_naive();
        // Readings can run a day behind or ahead of the window's date where clocks change at
        // midnight, so two days either side are asked.
        let mut date = today.checked_sub_days(chrono::Days::new(2))?;
        let last = today.checked_add_days(chrono::Days::new(1))?;
        while date <= last {
            if let Some((opens, mut closes)) = self.window_of(date) {
                if opens <= at && at < closes {
                    // Where a skipped day makes the next window open as this one closes, the
                    // hold goes on through it.
                    let mut next_date = date;
                    for _ in 0..3 {
                        next_date = next_date.succ_opt()?;
                        match self.window_of(next_date) {
                            Some((next_opens, next_closes)) if next_opens <= closes => {
                                closes = closes.max(next_closes);
                            }
                            _ => break,
                        }
                    }
                    return Some(closes);
                }
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// When the window of local date `date` opens and closes.
    fn window_of(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let end_date = if self.start < self.end {
            date
        } else {
            date.succ_opt()?
        };
        Some((
            self.first_reading_from(date.and_time(self.start))?,
            self.first_reading_from(end_date.and_time(self.end))?,
        ))
    }

    /// The first instant whose local reading is `local` or later: `local` itself when the
    /// clocks show it (the first time, when they show it twice), else the instant the clocks
    /// jump past it.
    fn first_reading_from(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let mut probe = local;
        for _ in 0..=MAX_GAP_MINUTES {
            if let Some(instant) = self.timezone.from_local_datetime(&probe).earliest() {
                return Some(instant.with_timezone(&Utc));
            }
            // Gaps start and end on whole minutes in every zone since 1972.
            probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
        }
        None
    }
}

fn reject<T>(
    errors: &mut InputErrors,
    field: &str,
    input: &Input<String>,
    parsed: Result<T, QuietHoursError>,
) -> Option<T> {
    parsed
        .map_err(|error| errors.add(field, input, Invalid::value(error)))
        .ok()
}

fn parse_timezone(name: &str) -> Result<Tz, QuietHoursError> {
    name.parse::<Tz>()
        .map_err(|_| QuietHoursError::UnknownTimezone(name.to_owned()))
}

/// Exactly `HH:MM`, 00:00 to 23:59.
fn parse_time(text: &str) -> Result<NaiveTime, QuietHoursError> {
    let bad = || QuietHoursError::BadTime(text.to_owned());
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return Err(bad());
    }
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let hour = number(&bytes[..2]).ok_or_else(bad)?;
    let minute = number(&bytes[3..]).ok_or_else(bad)?;
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(bad)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_reference;
