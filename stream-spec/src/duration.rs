//! The duration syntax shared by `#[stream_job(batch = "..")]` and the command line
//! (`--batch`, `--duration`): a number, optionally fractional, then a unit.

/// A duration that does not parse: what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: expected a number followed by ms, s, m or h (e.g. 500ms, 2s, 1m)")]
pub struct ParseDurationError {
    /// The text given.
    pub input: String,
}

/// Parses a duration such as `"2s"`, `"500ms"`, `"1.5s"`, `"1m"` or `"1h"` into
/// milliseconds. A bare number is seconds; `sec`, `secs` and `min` are accepted too. The
/// result must be a whole, non-negative number of milliseconds.
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
    let err = || ParseDurationError { input: s.to_string() };
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| err())?;
    let scale = match unit.trim() {
        "ms" => 1.0,
        "" | "s" | "sec" | "secs" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return Err(err()),
    };
    let ms = value * scale;
    // `i64::MAX as f64` rounds up to 2^63, so `<` keeps the cast exact.
    if !ms.is_finite() || ms < 0.0 || ms.fract() != 0.0 || ms >= i64::MAX as f64 {
        return Err(err());
    }
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
        for bad in ["", "abc", "1.0001ms", "5 parsecs", "-1s", "1e3s", "1..2s", "99999999999999999999h"] {
            assert_eq!(parse_duration_ms(bad), Err(ParseDurationError { input: bad.to_string() }), "{bad}");
        }
    }
}
