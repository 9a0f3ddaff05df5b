//! Clocks: the system clock for jobs, a manual clock for tests.

use std::fmt;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::time::{Duration, Time};

/// A source of time the scheduler waits on.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Time;
    /// Blocks until `now() >= t` or `timeout` elapsed in real time; returns whether `t` was
    /// reached.
    fn wait_until(&self, t: Time, timeout: std::time::Duration) -> bool;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Time::from_millis(ms)
    }

    fn wait_until(&self, t: Time, timeout: std::time::Duration) -> bool {
        let remaining = t - self.now();
        if remaining.as_millis() <= 0 {
            return true;
        }
        let nap = remaining.to_std().min(timeout);
        std::thread::sleep(nap);
        self.now() >= t
    }
}

/// A clock that only moves when told to, for tests (Spark's `ManualClock`).
///
/// ```
/// use stream_runtime::{Clock, Duration, ManualClock, Time};
/// let clock = ManualClock::new(Time::from_millis(0));
/// clock.advance(Duration::seconds(1));
/// assert_eq!(clock.now(), Time::from_millis(1000));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<(Mutex<Time>, Condvar)>,
}

impl ManualClock {
    /// A manual clock showing `start`.
    pub fn new(start: Time) -> Self {
        ManualClock { inner: Arc::new((Mutex::new(start), Condvar::new())) }
    }

    /// Moves the clock forward by `d`, waking waiters.
    pub fn advance(&self, d: Duration) {
        let (m, cv) = &*self.inner;
        let mut now = m.lock();
        *now = *now + d;
        cv.notify_all();
    }

    /// Sets the clock to `t`, waking waiters.
    pub fn set(&self, t: Time) {
        let (m, cv) = &*self.inner;
        *m.lock() = t;
        cv.notify_all();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Time {
        *self.inner.0.lock()
    }

    fn wait_until(&self, t: Time, timeout: std::time::Duration) -> bool {
        let (m, cv) = &*self.inner;
        let mut now = m.lock();
        if *now < t {
            cv.wait_for(&mut now, timeout);
        }
        *now >= t
    }
}
