//! Waiting for something to happen by polling it with a deadline, never by sleeping a guess.

use std::future::Future;
use std::time::Duration;

/// How long a test waits for something that should happen in milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// What a poll can answer: not yet (with a reason, if it has one) or the value waited for.
/// Checks may return `bool`, `Option<T>` or `Result<T, String>` (the reason of the last
/// failed poll goes into the timeout message, so a failure says what was still missing).
pub trait Polled {
    type Value;
    fn ready(self) -> Result<Self::Value, Option<String>>;
}

impl Polled for bool {
    type Value = ();
    fn ready(self) -> Result<(), Option<String>> {
        if self {
            Ok(())
        } else {
            Err(None)
        }
    }
}

impl<T> Polled for Option<T> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T> Polled for Result<T, String> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.map_err(Some)
    }
}

/// Polls `check` until it is ready, failing the test (naming `what`) after [`PATIENCE`].
pub async fn eventually<P, F, Fut>(what: &str, check: F) -> P::Value
where
    P: Polled,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    eventually_within(PATIENCE, what, check).await
}

/// [`eventually`] with a deadline of its own; polls about 200 times in it (every 10 to 250 ms).
pub async fn eventually_within<P, F, Fut>(patience: Duration, what: &str, mut check: F) -> P::Value
where
    P: Polled,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    let every = (patience / 200).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match check().await.ready() {
            Ok(value) => return value,
            Err(reason) if tokio::time::Instant::now() >= deadline => panic!(
                "timed out after {patience:?} waiting until {what}{}",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}
