//! The deadline of the request this thread works on (the daemon sets one per change):
//! lock waits end by then, and an edit not ready by then is abandoned, so a client that
//! gave up never sees its change made later.

use std::cell::Cell;
use std::time::Instant;

/// The time by which the request this thread works on must be done (the daemon sets it,
/// so that a client that gave up never sees its change made later).
mod request_deadline {
    // Clippy 1.96 for x86_64-pc-windows-gnu (tests/cross.sh) asks for the `const`
    // initializer that is already there.
    #![allow(clippy::missing_const_for_thread_local)]
    use std::cell::Cell;
    use std::time::Instant;

    thread_local! {
        pub static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    }
}
use request_deadline::DEADLINE;

/// Runs `work` with a deadline for every edit it makes: lock waits end by then, and an
/// edit not ready to be renamed into place by then is abandoned, leaving the file as it was.
pub fn with_deadline<R>(deadline: Instant, work: impl FnOnce() -> R) -> R {
    let before = DEADLINE.with(|d| d.replace(Some(deadline)));
    let result = work();
    DEADLINE.with(|d| d.set(before));
    result
}

/// The deadline [`with_deadline`] set for this thread's work, if any.
pub fn deadline() -> Option<Instant> {
    DEADLINE.with(Cell::get)
}

/// Whether this thread's work is past its deadline (never, without one).
pub fn out_of_time() -> bool {
    deadline().is_some_and(|d| Instant::now() >= d)
}
