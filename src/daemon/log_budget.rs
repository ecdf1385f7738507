//! A budget for the daemon's warnings about clients (bad frames, busy, refused peers):
//! at most [`PER_WINDOW`] per [`WINDOW`], then one line saying how many were left out.
//! A client that sends garbage in a loop can then neither fill the disk through the log
//! nor slow the daemon down with log writes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(60);
pub const PER_WINDOW: u32 = 20;

pub struct LogBudget {
    state: Mutex<(Instant, u32, u64)>,
}

impl Default for LogBudget {
    fn default() -> Self {
        Self {
            state: Mutex::new((Instant::now(), 0, 0)),
        }
    }
}

impl LogBudget {
    /// Whether this warning may be written now. When a new window opens after some
    /// were left out, says how many first.
    pub fn allow(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (started, used, suppressed) = &mut *state;
        if started.elapsed() >= WINDOW {
            if *suppressed > 0 {
                tracing::warn!(
                    suppressed = *suppressed,
                    "left out warnings about misbehaving clients in the last minute"
                );
            }
            (*started, *used, *suppressed) = (Instant::now(), 0, 0);
        }
        if *used < PER_WINDOW {
            *used += 1;
            true
        } else {
            *suppressed += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_few_then_counts_the_rest() {
        let budget = LogBudget::default();
        let allowed = (0..1000).filter(|_| budget.allow()).count();
        assert_eq!(allowed, PER_WINDOW as usize);
        assert_eq!(budget.state.lock().unwrap().2, 1000 - u64::from(PER_WINDOW));
    }
}
