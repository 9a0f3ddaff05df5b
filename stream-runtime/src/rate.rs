//! Rate control: Spark's PID rate estimator (`PIDRateEstimator`) and the token bucket
//! receivers take records through.

use std::time::{Duration as StdDuration, Instant};

use parking_lot::Mutex;

/// Spark's `PIDRateEstimator`: from each finished batch, the rate (records per second) the
/// job can take so that scheduling delay goes back to zero.
#[derive(Debug, Clone)]
pub(crate) struct PidEstimator {
    batch_ms: f64,
    p: f64,
    i: f64,
    d: f64,
    min_rate: f64,
    first: bool,
    latest_time: i64,
    latest_rate: f64,
    latest_error: f64,
}

impl PidEstimator {
    /// Spark's defaults: P = 1, I = 0.2, D = 0, minimum 100 records per second.
    pub(crate) fn new(batch_ms: i64) -> PidEstimator {
        PidEstimator::with(batch_ms, 1.0, 0.2, 0.0, 100.0)
    }

    pub(crate) fn with(batch_ms: i64, p: f64, i: f64, d: f64, min_rate: f64) -> PidEstimator {
        PidEstimator {
            batch_ms: batch_ms as f64,
            p,
            i,
            d,
            min_rate,
            first: true,
            latest_time: -1,
            latest_rate: -1.0,
            latest_error: -1.0,
        }
    }

    /// A batch ended at `time` (ms) with `elements` records, `processing` and `scheduling`
    /// delays in ms. `Some(rate)` once the estimator has a previous batch to compare with.
    pub(crate) fn compute(&mut self, time: i64, elements: u64, processing: i64, scheduling: i64) -> Option<f64> {
        if !(time > self.latest_time && elements > 0 && processing > 0) {
            return None;
        }
        let since_update = (time - self.latest_time) as f64 / 1000.0;
        let processing_rate = elements as f64 / processing as f64 * 1000.0;
        let error = self.latest_rate - processing_rate;
        let historical_error = scheduling as f64 * processing_rate / self.batch_ms;
        let d_error = (error - self.latest_error) / since_update;
        let new_rate =
            (self.latest_rate - self.p * error - self.i * historical_error - self.d * d_error).max(self.min_rate);
        self.latest_time = time;
        if self.first {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first = false;
            None
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            Some(new_rate)
        }
    }
}

/// A token bucket: [`acquire`](Self::acquire) blocks so that at most `rate` records per
/// second pass, with up to a tenth of a second of burst.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    refilled: Instant,
}

impl RateLimiter {
    /// A limiter at `rate` records per second (`f64::INFINITY`: unlimited).
    pub(crate) fn new(rate: f64) -> RateLimiter {
        RateLimiter { state: Mutex::new(Bucket { rate, tokens: 0.0, refilled: Instant::now() }) }
    }

    /// Changes the rate (ignored unless positive).
    pub(crate) fn set_rate(&self, rate: f64) {
        if rate > 0.0 {
            self.state.lock().rate = rate;
        }
    }

    /// The rate in effect (`f64::INFINITY`: unlimited).
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) fn rate(&self) -> f64 {
        self.state.lock().rate
    }

    /// Takes one record's token; returns how long the caller should sleep first.
    pub(crate) fn acquire(&self) -> Option<StdDuration> {
        let mut b = self.state.lock();
        if b.rate.is_infinite() {
            return None;
        }
        let now = Instant::now();
        let burst = (b.rate / 10.0).max(1.0);
        b.tokens = (b.tokens + now.duration_since(b.refilled).as_secs_f64() * b.rate).min(burst);
        b.refilled = now;
        b.tokens -= 1.0;
        (b.tokens < 0.0).then(|| StdDuration::from_secs_f64(-b.tokens / b.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_pid_vectors() {
        let mut p = PidEstimator::with(20, 1.0, 0.0, 0.0, 10.0);
        assert_eq!(p.compute(0, 10, 10, 0), None);
        assert_eq!(p.compute(10, 10, 10, 0), Some(1000.0));
        assert_eq!(p.compute(10, 10, 10, 0), None);
        assert_eq!(p.compute(20, 0, 10, 0), None);
        assert_eq!(p.compute(20, 10, 0, 0), None);

        let mut p = PidEstimator::with(20, 1.0, 1.0, 0.0, 5.0);
        assert_eq!(p.compute(0, 1, 20, 100), None);
        for x in 1..10 {
            assert_eq!(p.compute(x * 20, 1, 20, 100), Some(5.0));
        }

        let mut p = PidEstimator::with(20, 1.0, 1.0, 0.0, 10.0);
        assert_eq!(p.compute(0, 20, 20, 0), None);
        for x in 1..10 {
            assert_eq!(p.compute(x * 20, ((x + 1) * 20) as u64, 20, 0), Some(((x + 1) * 1000) as f64));
        }
    }

    #[test]
    fn limiter_spaces_records() {
        let l = RateLimiter::new(1000.0);
        let waits: f64 = (0..200).filter_map(|_| l.acquire()).map(|d| d.as_secs_f64()).fold(0.0, f64::max);
        // 200 records at 1000/s with a burst of 100 owe about 0.1 s by the last one.
        assert!(waits > 0.05, "the last record waits {waits} s");
        assert_eq!(RateLimiter::new(f64::INFINITY).acquire(), None);
    }
}
