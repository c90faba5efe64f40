//! Perpetual funding: the cash flow of a position at the recorded funding events.
//!
//! Invariant and convention: at each funding time the holder of `position` (signed base units,
//! positive for a long) receives `-position * mark * rate`, so longs pay positive rates and
//! shorts receive them. The position charged is the one in effect strictly before the funding
//! time: a change stamped at the funding time itself happens after the settlement (Binance
//! settles at the exact time; an order at the next bar's open is later).

use super::candle::{finite_in, positive_price};
use crate::errors::{CoreError, CoreResult};

/// Cash flow to the holder of `position` (signed base units, + long) at one funding event:
/// `-position * mark * rate` (a long pays a positive rate, a short receives it).
pub fn funding_cashflow(position: f64, mark: f64, rate: f64) -> CoreResult<f64> {
    if !position.is_finite() {
        return Err(CoreError::invalid(format!(
            "position must be finite, got {position}"
        )));
    }
    let mark = positive_price("mark price", mark)?;
    let rate = finite_in("funding rate", rate, -1.0, 1.0)?;
    Ok(-position * mark * rate)
}

/// Funding cash flows of a position path over recorded funding events.
///
/// The position is `positions[i]` from `position_ts[i]` (ascending, ns) until the next change,
/// and 0 before the first. Each funding event j at `funding_ts[j]` (ascending) charges the
/// position in effect strictly before it: a change stamped at the funding time is after it.
pub fn funding_cashflows(
    position_ts: &[i64],
    positions: &[f64],
    funding_ts: &[i64],
    rates: &[f64],
    marks: &[f64],
) -> CoreResult<Vec<f64>> {
    if position_ts.len() != positions.len() {
        return Err(CoreError::invalid(format!(
            "position_ts has {} values but positions has {}",
            position_ts.len(),
            positions.len()
        )));
    }
    if funding_ts.len() != rates.len() || funding_ts.len() != marks.len() {
        return Err(CoreError::invalid(format!(
            "funding_ts, rates and marks must have one length, got {}, {}, {}",
            funding_ts.len(),
            rates.len(),
            marks.len()
        )));
    }
    for (name, ts) in [("position_ts", position_ts), ("funding_ts", funding_ts)] {
        if let Some(i) = ts.windows(2).position(|w| w[1] < w[0]) {
            return Err(CoreError::invalid(format!(
                "{name} must be ascending; index {} is before index {i}",
                i + 1
            )));
        }
    }
    let mut out = Vec::with_capacity(funding_ts.len());
    let mut k = 0usize;
    let mut current = 0.0;
    for j in 0..funding_ts.len() {
        while k < position_ts.len() && position_ts[k] < funding_ts[j] {
            current = positions[k];
            k += 1;
        }
        let flow = funding_cashflow(current, marks[j], rates[j])
            .map_err(|e| CoreError::invalid(format!("funding event {j}: {e}")))?;
        out.push(flow);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn funding_longs_pay_positive_rates_at_recorded_times() {
        assert!(close(
            funding_cashflow(2.0, 50_000.0, 0.0001).unwrap(),
            -10.0
        ));
        assert!(close(
            funding_cashflow(-2.0, 50_000.0, 0.0001).unwrap(),
            10.0
        ));
        assert!(close(
            funding_cashflow(2.0, 50_000.0, -0.0001).unwrap(),
            10.0
        ));
        // Position 1 from t=10, -3 from t=20 (exactly at the second funding time: after it).
        let flows = funding_cashflows(
            &[10, 20],
            &[1.0, -3.0],
            &[5, 20, 30],
            &[0.001, 0.001, 0.002],
            &[100.0, 100.0, 200.0],
        )
        .unwrap();
        assert_eq!(flows.len(), 3);
        assert_eq!(flows[0], 0.0);
        assert!(close(flows[1], -0.1));
        assert!(close(flows[2], 1.2));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(funding_cashflow(f64::NAN, 1.0, 0.0).is_err());
        assert!(funding_cashflow(1.0, -1.0, 0.0).is_err());
        assert!(funding_cashflow(1.0, 1.0, f64::INFINITY).is_err());
        assert!(funding_cashflows(&[2, 1], &[1.0, 2.0], &[], &[], &[]).is_err());
        assert!(funding_cashflows(&[1], &[1.0], &[1], &[0.1], &[]).is_err());
        assert!(funding_cashflows(&[1], &[1.0, 2.0], &[], &[], &[]).is_err());
    }
}
