//! Backoff for transient failures (no connection, 5xx, 429): exponential
//! with full jitter, never sooner than the server's `Retry-After`.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::client::ClientError;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
}

impl Backoff {
    /// For one-shot commands: a few quick tries.
    pub const COMMAND: Backoff = Backoff { base: Duration::from_millis(250), max: Duration::from_secs(8), attempts: 4 };

    /// The wait before retry number `retry` (1-based) after `err`.
    pub fn delay(&self, retry: u32, err: &ClientError) -> Duration {
        let ceiling = self.base.saturating_mul(1 << retry.min(16)).min(self.max);
        let jittered = Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64));
        // Never before Retry-After, and never less than a base step after one.
        match err.retry_after() {
            Some(after) => after + jittered.min(self.base),
            None => jittered.max(self.base / 2),
        }
    }

    /// Runs `op` until it succeeds, fails for good, or the attempts run out.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut retry = 0;
        loop {
            match op().await {
                Err(err) if err.is_transient() && retry + 1 < self.attempts => {
                    retry += 1;
                    let wait = self.delay(retry, &err);
                    tracing::debug!(?wait, "transient failure, retrying: {err}");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(retry_after: Option<u64>) -> ClientError {
        ClientError::Status {
            status: 429,
            code: "busy".into(),
            message: "slow down".into(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn never_sooner_than_retry_after() {
        let backoff = Backoff::COMMAND;
        for retry in 1..5 {
            assert!(backoff.delay(retry, &busy(Some(3))) >= Duration::from_secs(3));
        }
    }

    #[test]
    fn capped_and_jittered() {
        let backoff = Backoff { base: Duration::from_millis(100), max: Duration::from_secs(1), attempts: 9 };
        let delays: Vec<_> = (0..50).map(|_| backoff.delay(8, &busy(None))).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1) && *d >= Duration::from_millis(50)));
        assert!(delays.iter().any(|d| *d != delays[0]), "jitter spreads retries");
    }
}
