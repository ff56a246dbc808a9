//! Exact decimal prices.
//!
//! Prices never pass through `f64`: JSON numbers are read from their text (serde_json's
//! `arbitrary_precision`), PostgreSQL stores `numeric`, SQLite a canonical text form.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A price (or a price-like bound such as a percent) as an exact decimal.
///
/// Always normalised (no trailing zeros), so `100.0` and `100` compare and print the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(Decimal);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PriceError {
    #[error("'{0}' is not a decimal number")]
    NotANumber(String),
}

/// How a price quoted in another currency was converted: `provider_price` (in
/// `from_currency`) times `rate`, the latest price of the instrument `rate_symbol`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickConversion {
    pub from_currency: String,
    pub provider_price: Price,
    pub rate_symbol: crate::Symbol,
    pub rate: Price,
}

impl Price {
    pub const ZERO: Price = Price(Decimal::ZERO);

    pub fn new(value: Decimal) -> Self {
        Price(value.normalize())
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    pub fn is_positive(&self) -> bool {
        self.0 > Decimal::ZERO
    }
}

impl From<Decimal> for Price {
    fn from(value: Decimal) -> Self {
        Price::new(value)
    }
}

impl FromStr for Price {
    type Err = PriceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let parsed = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text)
        } else {
            Decimal::from_str_exact(text)
        };
        parsed
            .map(Price::new)
            .map_err(|_| PriceError::NotANumber(text.to_owned()))
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // With `arbitrary_precision`, a `serde_json::Number` built from text is written verbatim.
        let number = serde_json::Number::from_str(&self.0.to_string())
            .map_err(|e| serde::ser::Error::custom(e.to_string()))?;
        number.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A JSON number read from its text, or a string holding one.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NumberOrText {
            Number(serde_json::Number),
            Text(String),
        }
        let text = match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Number(n) => n.to_string(),
            NumberOrText::Text(s) => s,
        };
        Price::from_str(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Price {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .description(Some("exact decimal, written as a JSON number"))
            .into()
    }
}
impl utoipa::ToSchema for Price {}

mod sql {
    //! `numeric` in PostgreSQL, canonical text in SQLite.
    use super::*;
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
    use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
    use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

    impl Type<Postgres> for Price {
        fn type_info() -> PgTypeInfo {
            <Decimal as Type<Postgres>>::type_info()
        }
        fn compatible(ty: &PgTypeInfo) -> bool {
            <Decimal as Type<Postgres>>::compatible(ty)
        }
    }
    impl Encode<'_, Postgres> for Price {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <Decimal as Encode<Postgres>>::encode_by_ref(&self.0, buf)
        }
    }
    impl Decode<'_, Postgres> for Price {
        fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
            Ok(Price::new(<Decimal as Decode<Postgres>>::decode(value)?))
        }
    }

    impl Type<Sqlite> for Price {
        fn type_info() -> SqliteTypeInfo {
            <String as Type<Sqlite>>::type_info()
        }
        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <String as Type<Sqlite>>::compatible(ty)
        }
    }
    impl<'q> Encode<'q, Sqlite> for Price {
        fn encode_by_ref(
            &self,
            buf: &mut Vec<SqliteArgumentValue<'q>>,
        ) -> Result<IsNull, BoxDynError> {
            <String as Encode<Sqlite>>::encode(self.0.to_string(), buf)
        }
    }
    impl Decode<'_, Sqlite> for Price {
        fn decode(value: SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
            // Borrowed: no allocation per price on long history reads.
            let text = <&str as Decode<Sqlite>>::decode(value)?;
            Ok(Price::from_str(text)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_round_trip_exactly() {
        for text in ["0.1", "0.00001234", "67187.3358936566", "100", "1e-8"] {
            let price: Price = serde_json::from_str(text).expect("parses");
            let back = serde_json::to_string(&price).expect("serialises");
            let expected = if text == "1e-8" { "0.00000001" } else { text };
            assert_eq!(back, expected);
        }
    }

    #[test]
    fn trailing_zeros_are_normalised() {
        let a: Price = "100.000".parse().expect("parses");
        let b: Price = "100".parse().expect("parses");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "100");
    }

    #[test]
    fn garbage_is_rejected() {
        assert!("abc".parse::<Price>().is_err());
        assert!(serde_json::from_str::<Price>("true").is_err());
    }

    #[test]
    fn a_number_inside_a_struct_is_exact() {
        #[derive(Deserialize)]
        struct Body {
            p: Price,
        }
        let body: Body = serde_json::from_str(r#"{"p": 0.30000000000000004}"#).expect("parses");
        assert_eq!(body.p.to_string(), "0.30000000000000004");
    }
}
