//! HS256 access tokens: `sub` = user id as a string, `exp`, `iat`, `iss`, `aud`, algorithm pinned;
//! an `nbf` (not before), when a token carries one, is checked too. `gen` is the account's token
//! generation when the token was issued (absent in tokens from before it existed: 0); the caller
//! refuses a token whose generation is not the account's current one.
//!
//! A token verified once is remembered ([`super::verified_tokens`]), so a client's later
//! requests with it cost a lookup and a check of its times.

use chrono::Utc;
use jsonwebtoken::{decode, encode, get_current_timestamp};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shared::domain::UserId;

use super::verified_tokens::{Holds, Verified, VerifiedTokens};

/// What a token carries, as issued.
#[derive(Debug, Serialize)]
struct Claims {
    sub: String,
    exp: i64,
    iat: i64,
    iss: String,
    aud: String,
    gen: i64,
}

/// What verification reads for us. `jsonwebtoken` checks `iss`, `aud`, `exp` and `nbf` from its
/// own parse of the claims, so they are not copied out here again.
#[derive(Deserialize)]
struct VerifiedClaims {
    sub: String,
    exp: i64,
    nbf: Option<i64>,
    #[serde(default)]
    gen: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    verified: VerifiedTokens,
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
            verified: VerifiedTokens::default(),
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
        self.verify_at(token, clock_seconds())
    }

    /// [`JwtKeys::verify`] as of `now`, seconds since the epoch, for a token verified before;
    /// a token seen for the first time is judged by `jsonwebtoken`'s own clock.
    fn verify_at(&self, token: &str, now: i64) -> Option<Verified> {
        if let Some(holds) = self.verified.get(token) {
            let leeway = i64::try_from(self.validation.leeway).unwrap_or(i64::MAX);
            return holds.at(now, leeway).then_some(holds.verified);
        }
        let claims = decode::<VerifiedClaims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let verified = Verified {
            user_id: claims.sub.parse().ok()?,
            generation: claims.gen,
            expires_at: claims.exp,
        };
        let holds = Holds {
            verified,
            not_before: claims.nbf,
        };
        self.verified.insert(token, holds);
        Some(verified)
    }
}

/// Seconds since the epoch, by the clock `jsonwebtoken` validates with.
fn clock_seconds() -> i64 {
    i64::try_from(get_current_timestamp()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            b"a-secret-of-thirty-two-bytes-at-least",
            "issuer",
            "audience",
            HOUR,
        )
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires() {
        let keys = keys();
        let token = keys.issue(7, 3).expect("token");
        let now = clock_seconds();
        let verified = keys.verify_at(&token, now).expect("a fresh token holds");
        assert_eq!((verified.user_id, verified.generation), (7, 3));

        // Remembered now; still judged by its times. The leeway is 5 s.
        assert_eq!(keys.verify_at(&token, now + HOUR + 5), Some(verified));
        assert_eq!(keys.verify_at(&token, now + HOUR + 6), None);
        assert_eq!(keys.verify_at(&token, now), Some(verified));
    }

    #[test]
    fn a_remembered_token_is_refused_before_its_not_before() {
        let keys = keys();
        let now = clock_seconds();
        let claims = serde_json::json!({"sub": "7", "exp": now + HOUR, "iat": now,
            "iss": "issuer", "aud": "audience", "nbf": now - 60});
        let secret = EncodingKey::from_secret(b"a-secret-of-thirty-two-bytes-at-least");
        let token = encode(&Header::new(Algorithm::HS256), &claims, &secret).expect("token");
        assert!(keys.verify_at(&token, now).is_some());

        // Only a clock set back would ask this; the answer must still be the token's own.
        assert_eq!(keys.verify_at(&token, now - 66), None);
        assert!(keys.verify_at(&token, now - 65).is_some());
    }

    #[test]
    fn a_remembered_signature_does_not_vouch_for_other_claims() {
        let keys = keys();
        let mine = keys.issue(7, 0).expect("token");
        let theirs = keys.issue(8, 0).expect("token");
        assert!(keys.verify(&mine).is_some());
        assert!(keys.verify(&theirs).is_some());

        let part = |token: &str, n: usize| token.split('.').nth(n).expect("part").to_owned();
        let forged = format!("{}.{}.{}", part(&mine, 0), part(&theirs, 1), part(&mine, 2));
        assert_eq!(keys.verify(&forged), None);
    }
}
