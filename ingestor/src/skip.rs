//! Why a quote was not published. A small closed set: it is a metric label.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The provider sent `null` (or nothing usable) as the price.
    NullPrice,
    /// The price was zero or negative.
    NonPositive,
    /// The provider's answer did not include the instrument.
    Missing,
    /// The answer could not be read (truncated JSON, an HTML page, a wrong shape).
    Malformed,
    /// The same price at the same provider time as the last published quote.
    Unchanged,
    /// A jump beyond the glitch band, held back until the next quote confirms it.
    Glitch,
    /// Older than the last price published for the instrument (by any provider).
    Outdated,
    /// In another currency, and no rate to convert it has been published yet.
    NoRate,
    /// From a provider that is not the one feeding the instrument now (failover).
    Standby,
}

impl SkipReason {
    pub const ALL: [SkipReason; 9] = [
        SkipReason::NullPrice,
        SkipReason::NonPositive,
        SkipReason::Missing,
        SkipReason::Malformed,
        SkipReason::Unchanged,
        SkipReason::Glitch,
        SkipReason::Outdated,
        SkipReason::NoRate,
        SkipReason::Standby,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            SkipReason::NullPrice => "null_price",
            SkipReason::NonPositive => "non_positive",
            SkipReason::Missing => "missing",
            SkipReason::Malformed => "malformed",
            SkipReason::Unchanged => "unchanged",
            SkipReason::Glitch => "glitch",
            SkipReason::Outdated => "outdated",
            SkipReason::NoRate => "no_rate",
            SkipReason::Standby => "standby",
        }
    }
}
