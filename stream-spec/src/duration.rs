//! The duration syntax shared by `#[stream_job(batch = "..")]` and the command line
//! (`--batch`, `--duration`): a number, optionally fractional, then a unit.

/// The longest duration [`parse_duration_ms`] accepts, 365 days in milliseconds: batch
/// times, window ends and checkpoint intervals are epoch milliseconds plus multiples of
/// durations, and must not overflow.
pub const MAX_DURATION_MS: i64 = 365 * 24 * 3_600_000;

/// A duration that does not parse: bad syntax, a negative value, or more than
/// [`MAX_DURATION_MS`].
///
/// ```
/// use stream_spec::parse_duration_ms;
/// let err = parse_duration_ms("-1s").unwrap_err();
/// assert_eq!(err.to_string(), "invalid duration \"-1s\": a duration cannot be negative");
/// let err = parse_duration_ms("999999999999999999s").unwrap_err();
/// assert!(err.to_string().ends_with("longer than the limit of 365 days (31536000000 ms)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {}", kind.reason())]
pub struct ParseDurationError {
    input: String,
    kind: DurationErrorKind,
}

/// What is wrong with a duration that does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DurationErrorKind {
    Syntax,
    Negative,
    TooLong,
}

impl DurationErrorKind {
    fn reason(self) -> String {
        match self {
            DurationErrorKind::Syntax => "expected a number followed by ms, s, m or h (e.g. 500ms, 2s, 1m)".into(),
            DurationErrorKind::Negative => "a duration cannot be negative".into(),
            DurationErrorKind::TooLong => format!("longer than the limit of 365 days ({MAX_DURATION_MS} ms)"),
        }
    }
}

/// Parses a duration such as `"2s"`, `"500ms"`, `"1.5s"`, `"1m"` or `"1h"` into
/// milliseconds. A bare number is seconds; `sec`, `secs` and `min` are accepted too. The
/// result must be a whole, non-negative number of milliseconds, at most [`MAX_DURATION_MS`].
///
/// ```
/// use stream_spec::parse_duration_ms;
/// assert_eq!(parse_duration_ms("500ms"), Ok(500));
/// assert_eq!(parse_duration_ms("1.5s"), Ok(1500));
/// assert_eq!(parse_duration_ms("2"), Ok(2000));
/// assert_eq!(parse_duration_ms("2m"), Ok(120_000));
/// assert!(parse_duration_ms("soon").is_err());
/// assert!(parse_duration_ms("0.5ms").is_err());
/// ```
pub fn parse_duration_ms(s: &str) -> Result<i64, ParseDurationError> {
    let err = |kind| ParseDurationError { input: s.to_string(), kind };
    let t = s.trim();
    if t.starts_with('-') {
        return Err(err(DurationErrorKind::Negative));
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| err(DurationErrorKind::Syntax))?;
    let scale = match unit.trim() {
        "ms" => 1.0,
        "" | "s" | "sec" | "secs" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return Err(err(DurationErrorKind::Syntax)),
    };
    let ms = value * scale;
    if !ms.is_finite() || ms.fract() != 0.0 {
        return Err(err(DurationErrorKind::Syntax));
    }
    if ms > MAX_DURATION_MS as f64 {
        return Err(err(DurationErrorKind::TooLong));
    }
    // A whole number of milliseconds in 0..=MAX_DURATION_MS: the cast is exact.
    Ok(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_rejects_garbage() {
        assert_eq!(parse_duration_ms("2s"), Ok(2000));
        assert_eq!(parse_duration_ms(" 3 secs "), Ok(3000));
        assert_eq!(parse_duration_ms("1min"), Ok(60_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("365d").map_err(|e| e.kind), Err(DurationErrorKind::Syntax));
        assert_eq!(parse_duration_ms("8760h"), Ok(MAX_DURATION_MS));
        assert_eq!(parse_duration_ms("8761h").map_err(|e| e.kind), Err(DurationErrorKind::TooLong));
        assert_eq!(parse_duration_ms("-1s").map_err(|e| e.kind), Err(DurationErrorKind::Negative));
        for bad in ["", "abc", "1.0001ms", "5 parsecs", "1e3s", "1..2s"] {
            let e = parse_duration_ms(bad).unwrap_err();
            assert_eq!((e.input.as_str(), e.kind), (bad, DurationErrorKind::Syntax));
        }
    }
}
