//! "Wait until": retry a probe until it passes or its `wait` runs out.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::steps::context::StepContext;
use crate::steps::outcome::StepError;

pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);

/// Runs `attempt` once, or again every `interval` until it passes or
/// `wait` has passed; the last failure is returned.
pub(crate) async fn until<F, Fut, T>(
    ctx: &StepContext,
    wait: Option<Duration>,
    interval: Duration,
    mut attempt: F,
) -> Result<T, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepError>>,
{
    let deadline = wait.map(|wait| Instant::now() + wait);
    let mut tries = 0u32;
    loop {
        tries += 1;
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error @ (StepError::Cancelled | StepError::NeedsApproval)) => return Err(error),
            Err(error) => error,
        };
        if deadline.is_none_or(|deadline| Instant::now() + interval >= deadline) {
            return Err(match (error, wait) {
                (StepError::Failed { message, detail }, Some(wait)) => StepError::Failed {
                    message: format!("{message} (still after {tries} tries in {})", humanize(wait)),
                    detail,
                },
                (error, _) => error,
            });
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = ctx.cancel.cancelled() => return Err(StepError::Cancelled),
        }
    }
}

fn humanize(duration: Duration) -> String {
    crate::units::duration::Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)).to_string()
}
