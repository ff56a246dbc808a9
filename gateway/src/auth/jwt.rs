//! HS256 access tokens: `sub` = user id as a string, `exp`, `iat`, `iss`, `aud`, algorithm pinned;
//! an `nbf` (not before), when a token carries one, is checked too. `gen` is the account's token
//! generation when the token was issued (absent in tokens from before it existed: 0); the caller
//! refuses a token whose generation is not the account's current one.

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shared::domain::UserId;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    #[serde(default)]
    pub gen: i64,
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub user_id: UserId,
    /// The account's token generation when the token was issued.
    pub generation: i64,
    /// `exp`, seconds since the epoch: a long-lived WebSocket stops trusting the token then.
    pub expires_at: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_seconds: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_seconds: i64) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.leeway = 5;
        // A token may name a time before which it is not valid; honour it when present.
        validation.validate_nbf = true;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_seconds,
        }
    }

    /// A token for `user_id` in the account's current token `generation`.
    pub fn issue(&self, user_id: UserId, generation: i64) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl_seconds,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            gen: generation,
        };
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// What a valid token says, `None` for anything else (bad signature, expired, wrong
    /// audience or issuer, another algorithm, a non-numeric subject). Whether the account still
    /// accepts its generation is the caller's to check against the stored user.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        Some(Verified {
            user_id: data.claims.sub.parse().ok()?,
            generation: data.claims.gen,
            expires_at: data.claims.exp,
        })
    }
}
