//! The spread of a bench's samples: the median with the min–max range, per case, and ratios
//! between cases measured in the same run, printed after criterion's own estimates (which
//! are means with confidence intervals, not what the performance chapter quotes).

use std::fmt;
use std::time::Duration;

/// The samples of one case, in nanoseconds per unit (per slide, per checkpoint, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The median sample.
    pub median: f64,
    /// The fastest sample.
    pub min: f64,
    /// The slowest sample.
    pub max: f64,
    /// How many samples.
    pub n: usize,
}

impl Summary {
    /// The summary of `samples` (nanoseconds each); `None` when there are none.
    ///
    /// ```
    /// let s = sluice_benches::spread::Summary::of(&[3.0, 1.0, 2.0]).unwrap();
    /// assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
    /// ```
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Some(Summary { median, min: v[0], max: v[n - 1], n })
    }
}

/// `ns` with a unit, three significant digits.
///
/// ```
/// assert_eq!(sluice_benches::spread::human(31_400.0), "31.4 µs");
/// assert_eq!(sluice_benches::spread::human(1_540_000_000.0), "1.54 s");
/// ```
pub fn human(ns: f64) -> String {
    let (v, unit) = match ns {
        x if x >= 1e9 => (x / 1e9, "s"),
        x if x >= 1e6 => (x / 1e6, "ms"),
        x if x >= 1e3 => (x / 1e3, "µs"),
        x => (x, "ns"),
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "median {} ({}–{}, {} samples)", human(self.median), human(self.min), human(self.max), self.n)
    }
}

/// Samples of several cases, kept in the order they were first seen.
#[derive(Debug, Default)]
pub struct Spread {
    /// Samples per measurement (criterion's sample size): only the last this many samples of
    /// a case count, the earlier ones were criterion's warm-up.
    samples: usize,
    cases: Vec<(String, Vec<f64>)>,
}

impl Spread {
    /// A spread keeping the last `samples` samples of each case.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut s = sluice_benches::spread::Spread::new(2);
    /// s.add("a", Duration::from_micros(30), 10); // warm-up, dropped
    /// s.add("a", Duration::from_micros(20), 10);
    /// s.add("a", Duration::from_micros(40), 10);
    /// s.add("b", Duration::from_micros(10), 10);
    /// assert_eq!(s.summary("a").unwrap().median, 3_000.0);
    /// assert_eq!(s.ratio("a", "b").unwrap(), (3.0, 2.0, 4.0));
    /// ```
    pub fn new(samples: usize) -> Spread {
        Spread { samples: samples.max(1), cases: Vec::new() }
    }

    /// Records a sample of `case`: `total` for `units` units.
    pub fn add(&mut self, case: &str, total: Duration, units: u64) {
        let per = total.as_nanos() as f64 / units.max(1) as f64;
        match self.cases.iter_mut().find(|(name, _)| name == case) {
            Some((_, v)) => v.push(per),
            None => self.cases.push((case.to_string(), vec![per])),
        }
    }

    /// The summary of `case`'s measured samples.
    pub fn summary(&self, case: &str) -> Option<Summary> {
        let (_, v) = self.cases.iter().find(|(name, _)| name == case)?;
        Summary::of(&v[v.len().saturating_sub(self.samples)..])
    }

    /// `a / b`: the ratio of the medians, and its widest range (`a`'s min over `b`'s max,
    /// `a`'s max over `b`'s min).
    pub fn ratio(&self, a: &str, b: &str) -> Option<(f64, f64, f64)> {
        let (a, b) = (self.summary(a)?, self.summary(b)?);
        Some((a.median / b.median, a.min / b.max, a.max / b.min))
    }

    /// Prints every case's summary, then `a / b` for each pair of `ratios` measured.
    pub fn print(&self, title: &str, ratios: &[(&str, &str)]) {
        eprintln!("\n{title}: medians with the min–max range of the measured samples");
        for (name, _) in &self.cases {
            if let Some(s) = self.summary(name) {
                eprintln!("  {name}: {s}");
            }
        }
        for (a, b) in ratios {
            if let Some((m, lo, hi)) = self.ratio(a, b) {
                eprintln!("  {a} / {b}: {m:.2} ({lo:.2}–{hi:.2})");
            }
        }
    }
}
