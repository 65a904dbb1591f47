//! How a command is told to stop, in two stages: first to start nothing
//! new while what runs gets a grace period to finish (`draining`), then to
//! stop what still runs at once (`stop`). A second interrupt, or the end of
//! the grace, moves to the second stage; a lost lock goes there directly.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub(crate) struct Interrupt {
    /// Cancelled at the first stage (and at the second): start nothing new.
    pub draining: CancellationToken,
    /// Cancelled at the second stage: stop running steps now.
    pub stop: CancellationToken,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt::new()
    }
}

impl Interrupt {
    pub(crate) fn new() -> Interrupt {
        let stop = CancellationToken::new();
        Interrupt {
            // A child: stopping implies draining, not the reverse.
            draining: stop.child_token(),
            stop,
        }
    }

    /// The first stage: nothing new starts, and whatever still runs after
    /// `grace` is stopped. Must be called on a tokio runtime.
    pub(crate) fn drain(&self, grace: Duration) {
        if self.draining.is_cancelled() {
            return;
        }
        self.draining.cancel();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(grace) => stop.cancel(),
                () = stop.cancelled() => {}
            }
        });
    }

    /// The second stage: stop running steps at once.
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }

    #[cfg(test)]
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn draining_stops_after_the_grace_and_stopping_implies_draining() {
        let interrupt = Interrupt::new();
        interrupt.drain(Duration::from_secs(10));
        assert!(interrupt.is_draining());
        assert!(!interrupt.stop.is_cancelled());
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert!(interrupt.stop.is_cancelled(), "the grace ran out");

        let interrupt = Interrupt::new();
        interrupt.stop();
        assert!(interrupt.is_draining());
    }
}
