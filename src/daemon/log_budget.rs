//! What clients can put in the daemon's log, bounded. A budget for every line a client
//! causes (bad frames, busy, refused peers, failed requests, other protocols): at most
//! [`PER_WINDOW`] per [`WINDOW`], then one line saying how many were left out; and
//! [`ClientText`], which shows client-supplied text (names, URLs, paths) short and with
//! control characters escaped, so it can neither flood the log nor forge a line of it.

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

/// The most characters of one client-supplied field that reach the log.
pub const MAX_SHOWN: usize = 120;

/// Client-supplied text for the log: at most [`MAX_SHOWN`] characters, control
/// characters (newlines included) escaped, and the length of what was left out.
pub struct ClientText<'a>(pub &'a str);

impl std::fmt::Display for ClientText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (shown, (at, c)) in self.0.char_indices().enumerate() {
            if shown == MAX_SHOWN {
                return write!(f, "...({} more bytes)", self.0.len() - at);
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_text_is_short_and_on_one_line() {
        let forged = format!(
            "x\n2026-01-01T00:00:00Z  INFO daemon started{}",
            "y".repeat(60_000)
        );
        let shown = ClientText(&forged).to_string();
        assert!(!shown.contains('\n'), "{shown}");
        assert!(shown.starts_with("x\\n2026"), "{shown}");
        assert!(
            shown.len() < 200 && shown.ends_with("more bytes)"),
            "{shown}"
        );
        assert_eq!(
            ClientText("wandb-cred 0.1.0").to_string(),
            "wandb-cred 0.1.0"
        );
    }

    #[test]
    fn allows_a_few_then_counts_the_rest() {
        let budget = LogBudget::default();
        let allowed = (0..1000).filter(|_| budget.allow()).count();
        assert_eq!(allowed, PER_WINDOW as usize);
        assert_eq!(budget.state.lock().unwrap().2, 1000 - u64::from(PER_WINDOW));
    }
}
