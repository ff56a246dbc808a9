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
}

impl SkipReason {
    pub const ALL: [SkipReason; 6] = [
        SkipReason::NullPrice,
        SkipReason::NonPositive,
        SkipReason::Missing,
        SkipReason::Malformed,
        SkipReason::Unchanged,
        SkipReason::Glitch,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            SkipReason::NullPrice => "null_price",
            SkipReason::NonPositive => "non_positive",
            SkipReason::Missing => "missing",
            SkipReason::Malformed => "malformed",
            SkipReason::Unchanged => "unchanged",
            SkipReason::Glitch => "glitch",
        }
    }
}
