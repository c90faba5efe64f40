//! Order-entry and cancel latency: how long after we send an action the venue applies it.
//!
//! Either a constant, or a table of recorded acknowledgement delays (send time, delay), read
//! by linear interpolation in the send time and held flat before the first and after the last
//! entry. Invariant: every delay is >= 0, so an action never takes effect before it was sent.

use crate::errors::{CoreError, CoreResult};

#[derive(Debug, Clone, PartialEq)]
pub enum Latency {
    /// The same delay for every action, in nanoseconds.
    Constant(i64),
    /// Recorded delays: `ts_ns` strictly ascending, `delay_ns` of the same length.
    Table { ts_ns: Vec<i64>, delay_ns: Vec<i64> },
}

impl Latency {
    pub fn constant(delay_ns: i64) -> CoreResult<Latency> {
        if delay_ns < 0 {
            return Err(CoreError::invalid(format!(
                "latency must be >= 0 ns, got {delay_ns}"
            )));
        }
        Ok(Latency::Constant(delay_ns))
    }

    pub fn table(ts_ns: Vec<i64>, delay_ns: Vec<i64>) -> CoreResult<Latency> {
        if ts_ns.is_empty() || ts_ns.len() != delay_ns.len() {
            return Err(CoreError::invalid(format!(
                "latency table needs one delay per time stamp and at least one entry, got {} times and {} delays",
                ts_ns.len(),
                delay_ns.len()
            )));
        }
        if let Some(i) = ts_ns.windows(2).position(|w| w[1] <= w[0]) {
            return Err(CoreError::invalid(format!(
                "latency table time stamps must be strictly ascending (index {})",
                i + 1
            )));
        }
        if let Some(d) = delay_ns.iter().find(|&&d| d < 0) {
            return Err(CoreError::invalid(format!(
                "latency table delays must be >= 0 ns, got {d}"
            )));
        }
        Ok(Latency::Table { ts_ns, delay_ns })
    }

    /// The delay of an action sent at `ts_ns`.
    pub fn at(&self, ts_ns: i64) -> i64 {
        match self {
            Latency::Constant(d) => *d,
            Latency::Table {
                ts_ns: ts,
                delay_ns,
            } => {
                let i = ts.partition_point(|&t| t <= ts_ns);
                if i == 0 {
                    return delay_ns[0];
                }
                if i == ts.len() {
                    return delay_ns[ts.len() - 1];
                }
                let (t0, t1) = (i128::from(ts[i - 1]), i128::from(ts[i]));
                let (d0, d1) = (i128::from(delay_ns[i - 1]), i128::from(delay_ns[i]));
                let x = i128::from(ts_ns);
                // Both ends are i64 and the result lies between d0 and d1: no overflow.
                (d0 + (d1 - d0) * (x - t0) / (t1 - t0)) as i64
            }
        }
    }

    /// When an action sent at `ts_ns` takes effect (saturating at the end of time).
    pub fn effective(&self, ts_ns: i64) -> i64 {
        ts_ns.saturating_add(self.at(ts_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_and_interpolated_delays() {
        assert_eq!(Latency::constant(5).unwrap().at(123), 5);
        let t = Latency::table(vec![100, 200, 400], vec![10, 30, 30]).unwrap();
        assert_eq!(t.at(0), 10);
        assert_eq!(t.at(100), 10);
        assert_eq!(t.at(150), 20);
        assert_eq!(t.at(300), 30);
        assert_eq!(t.at(1000), 30);
        assert_eq!(t.effective(150), 170);
        assert_eq!(Latency::constant(5).unwrap().effective(i64::MAX), i64::MAX);
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(Latency::constant(-1).is_err());
        assert!(Latency::table(vec![], vec![]).is_err());
        assert!(Latency::table(vec![1, 2], vec![1]).is_err());
        assert!(Latency::table(vec![2, 2], vec![1, 1]).is_err());
        assert!(Latency::table(vec![1, 2], vec![1, -1]).is_err());
    }
}
