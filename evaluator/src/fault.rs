//! A pause point for the kill tests only: with `evaluator.test_pause_after_commit` set (unset
//! in every deployment), the evaluator stops right after a batch with a fire is committed to
//! storage and before its Kafka offsets are, so a test can SIGKILL it exactly there. Set it
//! with `PRICEALERT__EVALUATOR__TEST_PAUSE_AFTER_COMMIT=<path>`: the evaluator creates
//! `<path>.reached` and waits until `<path>` exists.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// How often the paused evaluator looks for the release file.
const RELEASE_POLL: Duration = Duration::from_millis(10);

pub struct PauseAfterCommit {
    release: Option<PathBuf>,
}

impl PauseAfterCommit {
    pub fn new(release: Option<PathBuf>) -> PauseAfterCommit {
        PauseAfterCommit { release }
    }

    /// A batch with a fire is committed, its offsets are not: pause here if configured.
    pub async fn reached(&self) {
        let Some(release) = &self.release else {
            return;
        };
        let mut reached = OsString::from(release.as_os_str());
        reached.push(".reached");
        if let Err(error) = tokio::fs::write(&reached, b"").await {
            tracing::warn!(error = %error, "could not mark the test pause point");
        }
        tracing::warn!(release = %release.display(), "test pause point reached; waiting");
        let mut poll = tokio::time::interval(RELEASE_POLL);
        while !tokio::fs::try_exists(release).await.unwrap_or(false) {
            poll.tick().await;
        }
    }
}
