//! Argon2id password hashing on the blocking pool, a bounded number at a time.

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

/// OWASP's argon2id profile: m = 19456 KiB, t = 2, p = 1.
fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params =
        Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes and verifies passwords without ever blocking an async worker thread.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// A real hash verified when the email is unknown, so both cases cost the same.
    dummy_hash: Arc<String>,
}

impl Passwords {
    /// `max_concurrent` hashes at once; 0 means half the available cores, at least one.
    pub async fn new(max_concurrent: usize) -> anyhow::Result<Passwords> {
        let permits = match max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            n => n,
        };
        let permits = Arc::new(Semaphore::new(permits));
        let dummy_hash = tokio::task::spawn_blocking(|| hash_blocking("timing-equaliser-password"))
            .await
            .context("hashing task panicked")??;
        Ok(Passwords {
            permits,
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await.context("hash pool closed")?;
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .context("hashing task panicked")?
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no user,
    /// so an unknown email takes as long as a wrong password.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await.context("hash pool closed")?;
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let matches = tokio::task::spawn_blocking(move || verify_blocking(&password, &hash))
            .await
            .context("verify task panicked")??;
        Ok(known && matches)
    }
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))
}

fn verify_blocking(password: &str, hash: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    Ok(argon2()?
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let passwords = Passwords::new(2).await.expect("init");
        let hash = passwords
            .hash("correct horse".to_owned())
            .await
            .expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(passwords
            .verify("correct horse".to_owned(), Some(hash.clone()))
            .await
            .expect("verify"));
        assert!(!passwords
            .verify("wrong horse".to_owned(), Some(hash))
            .await
            .expect("verify"));
        assert!(!passwords
            .verify("timing-equaliser-password".to_owned(), None)
            .await
            .expect("verify"));
    }
}
