//! Queue position of one of our resting limit orders at its price level, in quantity steps.
//!
//! Invariants: `ahead` (the displayed quantity in front of us) is never negative and never
//! above the level's displayed size after a depth update. At acceptance `ahead` is the displayed
//! size at our price (we join the back). A trade at our price first consumes `ahead`; what is
//! left of it passes us and can fill our order. A decrease of the displayed size that trades do
//! not explain (`prev - new - traded since the last update`) is cancellations, which advance us
//! per the model:
//! - `RiskAverse`: cancellations never advance us (only trades do), except that `ahead` can never
//!   exceed what is displayed;
//! - `Probabilistic { power: n }`: the expected share of the cancelled size that was ahead of us
//!   is f(ahead) / (f(ahead) + f(behind)) with f(x) = x^n, the rest behind us; what the part
//!   behind cannot absorb (it is smaller than its share) came from ahead too. This is the
//!   estimate of hftbacktest's `ProbQueueModel` with `PowerProbQueueFunc(n)`; the advance is
//!   rounded down to whole steps (the pessimistic side).

use crate::errors::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueueModel {
    RiskAverse,
    Probabilistic { power: f64 },
}

impl QueueModel {
    pub fn probabilistic(power: f64) -> CoreResult<QueueModel> {
        if !(power.is_finite() && (0.0..=100.0).contains(&power)) {
            return Err(CoreError::invalid(format!(
                "queue model power must be finite and in [0, 100], got {power}"
            )));
        }
        Ok(QueueModel::Probabilistic { power })
    }

    /// Expected part of a cancelled size `cancelled` that was ahead of an order with `ahead`
    /// in front and `behind` after it, in steps (rounded down).
    fn cancelled_ahead(&self, ahead: i64, behind: i64, cancelled: i64) -> i64 {
        match *self {
            QueueModel::RiskAverse => 0,
            QueueModel::Probabilistic { power } => {
                if ahead <= 0 {
                    return 0;
                }
                let fa = (ahead as f64).powf(power);
                let fb = (behind.max(0) as f64).powf(power);
                let share = if fa + fb > 0.0 && (fa + fb).is_finite() {
                    fa / (fa + fb)
                } else if fb.is_infinite() && fa.is_finite() {
                    0.0
                } else {
                    1.0
                };
                let c = cancelled as f64;
                let behind_part = (1.0 - share) * c;
                let overflow = (behind_part - behind.max(0) as f64).max(0.0);
                let advance = (share * c + overflow).floor();
                advance.clamp(0.0, ahead as f64) as i64
            }
        }
    }
}

/// Where our order stands in its level's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuePosition {
    ahead: i64,
    /// Size traded at our price since the level's last depth update: the next update's decrease
    /// includes it, and it must not count again as cancellations.
    traded_since_depth: i64,
}

impl QueuePosition {
    /// Joining the back of a level showing `displayed` steps.
    pub fn join(displayed: i64) -> QueuePosition {
        QueuePosition {
            ahead: displayed.max(0),
            traded_since_depth: 0,
        }
    }

    pub fn ahead(&self) -> i64 {
        self.ahead
    }

    /// A trade of `qty` steps at our price against our side. Returns the part that passes the
    /// queue ahead of us (what can fill our order).
    pub fn on_trade(&mut self, qty: i64) -> i64 {
        let qty = qty.max(0);
        let used = qty.min(self.ahead);
        self.ahead -= used;
        self.traded_since_depth = self.traded_since_depth.saturating_add(qty);
        qty - used
    }

    /// A trade through our price: the whole level in front of us is gone.
    pub fn on_trade_through(&mut self) {
        self.ahead = 0;
        self.traded_since_depth = 0;
    }

    /// The displayed size of our level changed from `prev` to `new` steps.
    pub fn on_depth(&mut self, model: &QueueModel, prev: i64, new: i64) {
        let (prev, new) = (prev.max(0), new.max(0));
        let traded = std::mem::take(&mut self.traded_since_depth);
        let cancelled = prev.saturating_sub(new).saturating_sub(traded);
        if cancelled > 0 {
            let behind = prev.saturating_sub(self.ahead);
            self.ahead -= model.cancelled_ahead(self.ahead, behind, cancelled);
        }
        self.ahead = self.ahead.min(new);
    }

    /// After a resync from a snapshot that followed a gap: nothing is known of what happened
    /// in between, so we assume the worst, the back of the level as it is now.
    pub fn rejoin(&mut self, displayed: i64) {
        *self = QueuePosition::join(displayed);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn trades_consume_the_queue_ahead_first() {
        let mut q = QueuePosition::join(10);
        assert_eq!(q.on_trade(4), 0);
        assert_eq!(q.ahead(), 6);
        assert_eq!(q.on_trade(9), 3);
        assert_eq!(q.ahead(), 0);
    }

    #[test]
    fn risk_averse_ignores_cancellations_but_never_exceeds_the_level() {
        let m = QueueModel::RiskAverse;
        let mut q = QueuePosition::join(10);
        q.on_depth(&m, 10, 7);
        assert_eq!(q.ahead(), 7, "capped at the displayed size");
        q.on_depth(&m, 7, 12);
        assert_eq!(q.ahead(), 7, "growth joins behind us");
        let mut q = QueuePosition::join(10);
        q.on_depth(&m, 10, 15);
        q.on_depth(&m, 15, 12);
        assert_eq!(q.ahead(), 10, "a cancellation of 3 does not advance us");
    }

    #[test]
    fn trades_are_not_counted_again_as_cancellations() {
        let m = QueueModel::probabilistic(1.0).unwrap();
        let mut q = QueuePosition::join(10);
        q.on_depth(&m, 10, 20); // 10 ahead, 10 behind
        assert_eq!(q.on_trade(4), 0);
        q.on_depth(&m, 20, 16); // the 4 traded: no cancellation
        assert_eq!(q.ahead(), 6);
    }

    #[test]
    fn probabilistic_splits_cancellations_by_power_of_position() {
        // ahead 10, behind 30, 8 cancelled.
        let linear = QueueModel::probabilistic(1.0).unwrap();
        let mut q = QueuePosition::join(10);
        q.on_depth(&linear, 10, 40);
        q.on_depth(&linear, 40, 32);
        // share ahead = 10 / 40 = 0.25 -> 2 of 8
        assert_eq!(q.ahead(), 8);
        let square = QueueModel::probabilistic(2.0).unwrap();
        let mut q = QueuePosition::join(10);
        q.on_depth(&square, 10, 40);
        q.on_depth(&square, 40, 32);
        // share = 100 / (100 + 900) = 0.1 -> 0.8 -> floor 0
        assert_eq!(q.ahead(), 10);
        let mut q = QueuePosition::join(30);
        q.on_depth(&square, 30, 40);
        q.on_depth(&square, 40, 32);
        // ahead 30, behind 10: share = 900 / 1000 = 0.9 -> 7.2 -> 7
        assert_eq!(q.ahead(), 23);
    }

    #[test]
    fn probabilistic_takes_from_ahead_what_behind_cannot_absorb() {
        let m = QueueModel::probabilistic(1.0).unwrap();
        let mut q = QueuePosition::join(10);
        q.on_depth(&m, 10, 12); // ahead 10, behind 2
        q.on_depth(&m, 12, 4); // 8 cancelled: share 10/12 -> 6.67; behind part 1.33 <= 2
        assert_eq!(
            q.ahead(),
            4,
            "floor(6.67) = 6 advance: 10 - 6, within the level of 4"
        );
        let zero = QueueModel::probabilistic(0.0).unwrap();
        let mut q = QueuePosition::join(10);
        q.on_depth(&zero, 10, 11); // ahead 10, behind 1; share 0.5
        q.on_depth(&zero, 11, 5); // 6 cancelled: 3 ahead + (3 - 1) overflow = 5
        assert_eq!(q.ahead(), 5);
    }

    #[test]
    fn power_must_be_finite() {
        assert!(QueueModel::probabilistic(f64::NAN).is_err());
        assert!(QueueModel::probabilistic(-1.0).is_err());
        assert!(QueueModel::probabilistic(f64::INFINITY).is_err());
    }

    proptest! {
        /// Whatever the updates, ahead stays within [0, displayed] and fills only come from
        /// trade size.
        #[test]
        fn ahead_is_never_negative_nor_above_the_level(
            start in 0i64..1000,
            ops in prop::collection::vec((any::<bool>(), 0i64..500), 1..60),
            power in prop::sample::select(vec![None, Some(0.0), Some(1.0), Some(2.0), Some(3.5)]),
        ) {
            let model = match power {
                None => QueueModel::RiskAverse,
                Some(p) => QueueModel::probabilistic(p).unwrap(),
            };
            let mut q = QueuePosition::join(start);
            let mut level = start;
            for (is_trade, x) in ops {
                if is_trade {
                    let before = q.ahead();
                    let passed = q.on_trade(x);
                    prop_assert!(passed <= x);
                    prop_assert_eq!(passed + (before - q.ahead()), x);
                } else {
                    q.on_depth(&model, level, x);
                    level = x;
                    prop_assert!(q.ahead() <= level);
                }
                prop_assert!(q.ahead() >= 0);
            }
        }
    }
}
