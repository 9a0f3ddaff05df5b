//! Batch times and durations, in milliseconds, as Spark's `Time` and `Duration`.

use std::fmt;
use std::ops::{Add, Div, Mul, Rem, Sub};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A span of time in milliseconds (Spark's `Duration`).
///
/// ```
/// use stream_runtime::Duration;
/// assert_eq!(Duration::seconds(2), Duration::millis(2000));
/// assert_eq!("500ms".parse::<Duration>().unwrap(), Duration::millis(500));
/// assert_eq!("1.5s".parse::<Duration>().unwrap().as_millis(), 1500);
/// assert_eq!(Duration::seconds(1).to_string(), "1000 ms");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Duration(i64);

impl Duration {
    /// A duration of `ms` milliseconds.
    pub const fn millis(ms: i64) -> Self {
        Duration(ms)
    }
    /// A duration of `s` seconds.
    pub const fn seconds(s: i64) -> Self {
        Duration(s * 1000)
    }
    /// A duration of `m` minutes.
    pub const fn minutes(m: i64) -> Self {
        Duration(m * 60_000)
    }
    /// The length in milliseconds.
    pub const fn as_millis(self) -> i64 {
        self.0
    }
    /// Whether `self` is a whole multiple of `other` (Spark's `isMultipleOf`).
    pub const fn is_multiple_of(self, other: Duration) -> bool {
        other.0 != 0 && self.0 % other.0 == 0
    }
    /// Whether the duration is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// As a standard library duration (negative durations clamp to zero).
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.max(0) as u64)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

pub use stream_spec::ParseDurationError;

impl Duration {
    /// The longest duration [`FromStr`] accepts, 365 days: batch times, window ends and
    /// checkpoint intervals are epoch milliseconds plus multiples of durations, and must not
    /// overflow. A context with a longer batch or checkpoint interval does not start.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let ssc = StreamingContext::new(Duration::millis(i64::MAX));
    /// ssc.queue_stream(BatchQueue::<i32>::new(), true, None).count().print();
    /// let err = ssc.start().unwrap_err();
    /// assert!(err.to_string().contains("must be at most 365 days (31536000000 ms)"), "{err}");
    /// ```
    pub const MAX_PARSED: Duration = Duration(stream_spec::MAX_DURATION_MS);
}

/// Parses `"2s"`, `"500ms"`, `"1.5s"`, `"1m"` or `"1h"` (a bare number is seconds), with the
/// parser `#[stream_job(batch = "..")]` uses too.
impl FromStr for Duration {
    type Err = ParseDurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        stream_spec::parse_duration_ms(s).map(Duration)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, o: Duration) -> Duration {
        Duration(self.0 + o.0)
    }
}
impl Sub for Duration {
    type Output = Duration;
    fn sub(self, o: Duration) -> Duration {
        Duration(self.0 - o.0)
    }
}
impl Mul<i64> for Duration {
    type Output = Duration;
    fn mul(self, k: i64) -> Duration {
        Duration(self.0 * k)
    }
}
impl Div for Duration {
    type Output = i64;
    fn div(self, o: Duration) -> i64 {
        self.0 / o.0
    }
}
impl Rem for Duration {
    type Output = Duration;
    fn rem(self, o: Duration) -> Duration {
        Duration(self.0 % o.0)
    }
}

/// An absolute batch time in milliseconds since the epoch (Spark's `Time`).
///
/// Batch times are aligned multiples of the batch interval; with the manual clock of the
/// test kit and a one-second batch they are 1000, 2000, 3000 ms...
///
/// ```
/// use stream_runtime::{Duration, Time};
/// let t = Time::from_millis(1000) + Duration::seconds(1);
/// assert_eq!(t.to_string(), "2000 ms");
/// assert_eq!(Time::from_millis(2500).floor(Duration::seconds(1)), Time::from_millis(2000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Time(i64);

impl Time {
    /// The time `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Time(ms)
    }
    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }
    /// The largest multiple of `d` not after `self`.
    pub fn floor(self, d: Duration) -> Time {
        Time(self.0.div_euclid(d.0) * d.0)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0 + d.0)
    }
}
impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        Time(self.0 - d.0)
    }
}
impl Sub for Time {
    type Output = Duration;
    fn sub(self, o: Time) -> Duration {
        Duration(self.0 - o.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_rejects_garbage() {
        assert_eq!("2s".parse::<Duration>(), Ok(Duration::seconds(2)));
        assert_eq!("2".parse::<Duration>(), Ok(Duration::seconds(2)));
        assert_eq!("1m".parse::<Duration>(), Ok(Duration::minutes(1)));
        assert_eq!("250ms".parse::<Duration>(), Ok(Duration::millis(250)));
        assert!("abc".parse::<Duration>().is_err());
        assert!("1.0001ms".parse::<Duration>().is_err());
        assert!("5 parsecs".parse::<Duration>().is_err());
    }

    #[test]
    fn refuses_negative_and_overflowing_durations_with_the_reason() {
        for s in ["-1", "-1s", " -500ms"] {
            let e = s.parse::<Duration>().unwrap_err();
            assert!(e.to_string().ends_with("a duration cannot be negative"), "{s}: {e}");
        }
        assert!("365d"
            .parse::<Duration>()
            .unwrap_err()
            .to_string()
            .ends_with("expected a number followed by ms, s, m or h (e.g. 500ms, 2s, 1m)"));
        assert_eq!("8760h".parse::<Duration>(), Ok(Duration::MAX_PARSED));
        for s in ["8761h", "31536000001ms", "99999999999999999999s", "9223372036854775807ms"] {
            let e = s.parse::<Duration>().unwrap_err();
            assert!(e.to_string().ends_with("longer than the limit of 365 days (31536000000 ms)"), "{s}: {e}");
        }
    }

    #[test]
    fn floor_aligns_down() {
        assert_eq!(Time(1999).floor(Duration(1000)), Time(1000));
        assert_eq!(Time(2000).floor(Duration(1000)), Time(2000));
    }
}
