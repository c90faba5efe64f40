//! The invariants of an `Order` (listed in `order.rs`'s module docs) as the one `validate`
//! function that construction, every change and `from_json` run, and the limit-price rule that
//! bounds fills.

use std::collections::BTreeMap;

use super::client_id::validate_client_order_id;
use super::order::Order;
use super::status::OrderStatus;
use crate::errors::{CoreError, CoreResult};
use crate::types::{OrderType, Side};

/// Whether `order_type` carries a limit price that bounds its fills (every type that needs a
/// price: LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT and USD-M's STOP / TAKE_PROFIT).
fn has_limit_price(order_type: OrderType) -> bool {
    !matches!(
        order_type,
        OrderType::MARKET
            | OrderType::STOP_LOSS
            | OrderType::TAKE_PROFIT
            | OrderType::STOP_MARKET
            | OrderType::TAKE_PROFIT_MARKET
            | OrderType::TRAILING_STOP_MARKET
    )
}

impl Order {
    /// Whether a fill at `price_ticks` is one the order's limit allows (always, without one).
    pub(super) fn limit_allows(&self, price_ticks: i64) -> bool {
        match self.price_ticks {
            Some(limit) if has_limit_price(self.order_type) => match self.side {
                Side::BUY => price_ticks <= limit,
                Side::SELL => price_ticks >= limit,
            },
            _ => true,
        }
    }

    /// The invariants of the module docs. `new`, every report (before it is applied) and
    /// `from_json` run this one function, so a restored order is exactly as trusted as a built one.
    pub fn validate(&self) -> CoreResult<()> {
        validate_client_order_id(&self.client_order_id)?;
        let bad = |why: String| {
            Err(CoreError::invalid(format!(
                "order {} is inconsistent: {why}",
                self.client_order_id
            )))
        };
        if self.symbol.is_empty() {
            return bad("empty symbol".into());
        }
        if self.quantity_steps <= 0 {
            return bad(format!(
                "quantity must be positive, got {} steps",
                self.quantity_steps
            ));
        }
        match self.price_ticks {
            Some(p) if p <= 0 => return bad(format!("price must be positive, got {p} ticks")),
            None if has_limit_price(self.order_type) => {
                return Err(CoreError::invalid(format!(
                    "a {} order needs a price",
                    self.order_type.as_str()
                )))
            }
            _ => {}
        }
        // Sums in i128: a tampered file may hold values whose i64 sum would wrap.
        let mut filled: i128 = 0;
        let mut notional: i128 = 0;
        let mut fees: BTreeMap<&str, i128> = BTreeMap::new();
        let mut last_ms = i64::MIN;
        for f in &self.fills {
            if f.qty_steps <= 0 || f.price_ticks <= 0 {
                return bad(format!(
                    "fill {} needs a positive quantity and price, got {} steps at {} ticks",
                    f.trade_id, f.qty_steps, f.price_ticks
                ));
            }
            if !self.limit_allows(f.price_ticks) {
                return bad(format!(
                    "fill {} is outside the order's limit price",
                    f.trade_id
                ));
            }
            filled += i128::from(f.qty_steps);
            notional += i128::from(f.price_ticks) * i128::from(f.qty_steps);
            if let Some(asset) = &f.fee_asset {
                *fees.entry(asset.as_str()).or_insert(0) += i128::from(f.fee_units);
            }
            last_ms = last_ms.max(f.time_ms);
        }
        if filled != i128::from(self.filled_steps) || notional != self.notional {
            return bad("fills do not add up to the filled quantity".into());
        }
        if self.filled_steps > self.quantity_steps {
            return bad("filled above quantity".into());
        }
        let fees_match = fees.len() == self.fees.len()
            && fees
                .iter()
                .all(|(asset, &sum)| self.fees.get(*asset).map(|&v| i128::from(v)) == Some(sum));
        if !fees_match {
            return bad("fee totals do not match the fills' fees".into());
        }
        if self.trade_ids.len() != self.fills.len()
            || self
                .fills
                .iter()
                .any(|f| !self.trade_ids.contains(&f.trade_id))
        {
            return bad("trade ids do not match fills".into());
        }
        if !self.fills.is_empty() && self.updated_ms < last_ms {
            return bad("update time is before its last fill".into());
        }
        let (filled, quantity) = (self.filled_steps, self.quantity_steps);
        let status_ok = match self.status {
            OrderStatus::FILLED => filled == quantity,
            OrderStatus::PARTIALLY_FILLED => filled > 0 && filled < quantity,
            OrderStatus::PENDING_NEW | OrderStatus::NEW | OrderStatus::REJECTED => filled == 0,
            _ => filled < quantity,
        };
        if !status_ok {
            return bad(format!(
                "status {} with {} of {} filled",
                self.status.as_str(),
                self.filled_qty(),
                self.quantity()
            ));
        }
        let pending_cancel = self.status == OrderStatus::PENDING_CANCEL;
        match self.status_before_cancel {
            None if pending_cancel => {
                return bad("PENDING_CANCEL keeps no status to return to".into())
            }
            Some(_) if !pending_cancel => {
                return bad(format!(
                    "{} keeps a status to return to",
                    self.status.as_str()
                ))
            }
            Some(prev)
                if !matches!(
                    prev,
                    OrderStatus::PENDING_NEW | OrderStatus::NEW | OrderStatus::PARTIALLY_FILLED
                ) =>
            {
                return bad(format!("a cancel cannot return to {}", prev.as_str()))
            }
            _ => {}
        }
        Ok(())
    }
}
