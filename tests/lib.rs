//! Sluice's integration tests live in `it/` (one test binary, a module per area); the tests
//! against a Kafka broker in `kafka/`, a binary of their own; the long soak tests in `soak/`.
//!
//! This library holds what the test binaries share: waiting on a condition with a deadline,
//! never a fixed sleep before an assertion.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

/// Polls `cond` every 10 ms until it holds or `timeout` has passed; returns whether it held.
/// Tests assert on the result, so a condition that never comes fails after `timeout` instead
/// of hanging, and a condition that comes early does not wait for a fixed sleep.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// let polls = AtomicU32::new(0);
/// assert!(sluice_tests::wait_until(std::time::Duration::from_secs(5), || polls.fetch_add(1, Ordering::Relaxed) == 3));
/// assert!(!sluice_tests::wait_until(std::time::Duration::from_millis(30), || false));
/// ```
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts a local server that offers lines as fast as each connection takes them; returns
/// its port. For the tests of rate limits and backpressure.
pub fn firehose() -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let port = listener.local_addr().expect("a bound listener has an address").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let chunk = "lorem ipsum dolor\n".repeat(4096);
                while conn.write_all(chunk.as_bytes()).is_ok() {}
            });
        }
    });
    port
}
