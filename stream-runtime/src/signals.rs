//! Graceful stop on SIGINT / SIGTERM; a second signal exits at once.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Exit status after a second signal (128 + SIGINT, as shells report).
pub const FORCED_EXIT_CODE: i32 = 130;

/// Stops the job gracefully on SIGINT or SIGTERM; a second signal exits at once with status
/// 130. Returns a flag that turns true on the first signal.
pub(crate) fn stop_on_signals() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    install(Arc::clone(&flag));
    flag
}

fn install(flag: Arc<AtomicBool>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM] {
        // The conditional shutdown fires only when the flag is already set: the second signal.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, FORCED_EXIT_CODE, Arc::clone(&flag));
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
}
