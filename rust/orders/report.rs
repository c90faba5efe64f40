//! Binance execution reports applied to an `Order`.
//!
//! Accepted: a spot user-data `executionReport` (plain, inside `{"stream":..,"data":..}`, or
//! inside the WebSocket API's `{"subscriptionId":..,"event":..}`), and a USD-M
//! `ORDER_TRADE_UPDATE`. The report must be for this order (exchange order id once known,
//! otherwise the client id `c` or, for cancels, the original client id `C`), and agree with its
//! symbol, side, type, price (0 for market orders) and quantity. A USD-M conditional order
//! (STOP_MARKET, TAKE_PROFIT_MARKET, STOP, TAKE_PROFIT, TRAILING_STOP_MARKET) reports, once
//! triggered, the order it became in `o` (MARKET, or LIMIT for STOP / TAKE_PROFIT) and its own
//! type in `ot`: such a report is the order's own. Spot stops keep their type in `o` throughout
//! (the trigger is a second NEW report, a no-op here).
//!
//! Every report is checked against the order before anything changes: its cumulative filled
//! quantity `z` must equal the fills applied, so a lost fill report is an error (reconcile the
//! trades, then apply the report again) rather than a silently wrong position. A report behind
//! the applied fills (a replayed stream) and a repeated trade id are no-ops returning false.
//! Reports Binance cannot produce are refused before anything changes: an amend that raises
//! the quantity or leaves a status that disagrees with it, a trade outside the limit price; the
//! order a report would leave must pass `Order::validate`.

use std::borrow::Cow;

use serde::Deserialize;

use super::order::{Fill, Order};
use super::status::OrderStatus;
use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;
use crate::types::{OrderType, Side};

/// The fields both report kinds carry, borrowed from the frame where it has no escapes.
#[derive(Debug, Deserialize)]
struct Fields<'a> {
    #[serde(default, borrow)]
    e: Option<Cow<'a, str>>,
    #[serde(borrow)]
    s: Cow<'a, str>,
    #[serde(borrow)]
    c: Cow<'a, str>,
    #[serde(rename = "C", default, borrow)]
    orig_client_id: Option<Cow<'a, str>>,
    #[serde(rename = "S", borrow)]
    side: Cow<'a, str>,
    #[serde(borrow)]
    o: Cow<'a, str>,
    #[serde(default, borrow)]
    ot: Option<Cow<'a, str>>,
    #[serde(borrow)]
    p: Cow<'a, str>,
    #[serde(borrow)]
    q: Cow<'a, str>,
    #[serde(rename = "X", borrow)]
    status: Cow<'a, str>,
    #[serde(borrow)]
    x: Cow<'a, str>,
    i: u64,
    #[serde(borrow)]
    l: Cow<'a, str>,
    #[serde(borrow)]
    z: Cow<'a, str>,
    #[serde(rename = "L", borrow)]
    last_price: Cow<'a, str>,
    #[serde(default, borrow)]
    n: Option<Cow<'a, str>>,
    #[serde(rename = "N", default, borrow)]
    fee_asset: Option<Cow<'a, str>>,
    #[serde(rename = "T")]
    time_ms: i64,
    t: i64,
}

/// The order object of any accepted frame, as JSON text: unwraps `{"stream":..,"data":..}`,
/// the WebSocket API's `{"subscriptionId":..,"event":..}` and USD-M's `{"e":..,"o":{..}}`.
fn order_object(raw: &str) -> CoreResult<(String, String)> {
    let mut value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| CoreError::invalid(format!("execution report is not valid JSON: {e}")))?;
    if value.get("e").is_none() {
        let key = if value.get("data").is_some() {
            "data"
        } else {
            "event"
        };
        if let Some(inner) = value.get_mut(key).map(serde_json::Value::take) {
            value = inner;
        }
    }
    let kind = value
        .get("e")
        .and_then(|e| e.as_str())
        .unwrap_or("")
        .to_string();
    let body = match kind.as_str() {
        "executionReport" => value,
        "ORDER_TRADE_UPDATE" => value
            .get_mut("o")
            .map(serde_json::Value::take)
            .ok_or_else(|| CoreError::invalid("ORDER_TRADE_UPDATE has no order object \"o\""))?,
        "" => {
            return Err(CoreError::invalid(
                "execution report has no event type \"e\"",
            ))
        }
        other => {
            return Err(CoreError::invalid(format!(
                "event {other:?} is not an executionReport or ORDER_TRADE_UPDATE"
            )))
        }
    };
    Ok((kind, body.to_string()))
}

/// The order a USD-M conditional order becomes when its stop price trades (None: not one).
fn triggered_as(conditional: OrderType) -> Option<OrderType> {
    match conditional {
        OrderType::STOP_MARKET
        | OrderType::TAKE_PROFIT_MARKET
        | OrderType::TRAILING_STOP_MARKET => Some(OrderType::MARKET),
        OrderType::STOP | OrderType::TAKE_PROFIT => Some(OrderType::LIMIT),
        _ => None,
    }
}

fn units(grid: &Grid, text: &str, what: &str) -> CoreResult<i64> {
    grid.units_from_text(text.as_bytes())
        .map_err(|e| CoreError::invalid(format!("execution report {what}: {e}")))
}

impl Order {
    /// Applies one report; `Ok(false)` when it changes nothing (a duplicate).
    pub fn apply_execution_report_json(&mut self, raw: &str) -> CoreResult<bool> {
        // Fast path: a plain spot executionReport deserializes directly, borrowing its strings.
        if let Ok(r) = serde_json::from_str::<Fields<'_>>(raw) {
            if r.e.as_deref() == Some("executionReport") {
                return self.apply_fields(&r);
            }
        }
        let (kind, body) = order_object(raw)?;
        let r: Fields<'_> = serde_json::from_str(&body)
            .map_err(|e| CoreError::invalid(format!("malformed {kind}: {e}")))?;
        self.apply_fields(&r)
    }

    fn apply_fields(&mut self, r: &Fields<'_>) -> CoreResult<bool> {
        if r.s != self.symbol.as_str() {
            return Err(CoreError::invalid(format!(
                "report is for symbol {}, this order is {}",
                r.s, self.symbol
            )));
        }
        let ours = match self.exchange_order_id {
            Some(id) => r.i == id,
            None => {
                r.c == self.client_order_id.as_str()
                    || r.orig_client_id.as_deref() == Some(self.client_order_id.as_str())
            }
        };
        if !ours {
            return Err(CoreError::invalid(format!(
                "report is for order id {} (client id {:?}), this order is {:?} (client id {:?})",
                r.i, r.c, self.exchange_order_id, self.client_order_id
            )));
        }
        if Side::parse(&r.side)? != self.side {
            return Err(CoreError::invalid(format!(
                "report side {} differs from the order's {}",
                r.side,
                self.side.as_str()
            )));
        }
        let reported = OrderType::parse(&r.o)?;
        let original = r.ot.as_deref().map(OrderType::parse).transpose()?;
        if reported != self.order_type
            && !(original == Some(self.order_type)
                && triggered_as(self.order_type) == Some(reported))
        {
            return Err(CoreError::invalid(format!(
                "report order type {} (original {:?}) differs from the order's {}",
                r.o,
                r.ot,
                self.order_type.as_str()
            )));
        }
        // Market orders report price 0; a priced order must report its own price.
        let price = units(&self.tick, &r.p, "price p")?;
        if price != 0 && self.price_ticks.is_some_and(|own| own != price) {
            return Err(CoreError::invalid(format!(
                "report price {} differs from the order's {:?}",
                r.p,
                self.price()
            )));
        }
        let status = OrderStatus::parse(&r.status)?;
        let quantity = units(&self.step, &r.q, "quantity q")?;
        let cumulative = units(&self.step, &r.z, "cumulative quantity z")?;
        let last_qty = units(&self.step, &r.l, "last quantity l")?;

        let mut next = self.clone();
        next.exchange_order_id = Some(r.i);
        if r.x == "REPLACED" || r.x == "AMENDMENT" {
            // Binance's order amend (keep priority) only lowers the quantity ("newQty must be
            // greater than 0 and less than the order's quantity"), never below what is filled;
            // the status the report carries must then agree with the new quantity (validate).
            if quantity > next.quantity_steps {
                return Err(CoreError::invalid(format!(
                    "amended quantity {} is above the order's {}: an amend only lowers it",
                    r.q,
                    next.quantity()
                )));
            }
            if quantity < next.filled_steps || quantity <= 0 {
                return Err(CoreError::invalid(format!(
                    "amended quantity {} is below the filled {}",
                    r.q,
                    next.filled_qty()
                )));
            }
            next.quantity_steps = quantity;
        } else if quantity != next.quantity_steps {
            return Err(CoreError::invalid(format!(
                "report quantity {} differs from the order's {}",
                r.q,
                next.quantity()
            )));
        }
        if r.x == "TRADE" {
            let trade_id = u64::try_from(r.t).map_err(|_| {
                CoreError::invalid(format!("TRADE report has no trade id (t={})", r.t))
            })?;
            if next.trade_ids.contains(&trade_id) {
                return Ok(false);
            }
            let fee_units = match &r.n {
                Some(n) => super::order::fee_units(n.trim().parse::<f64>().map_err(|_| {
                    CoreError::invalid(format!("execution report fee n is not a number: {n:?}"))
                })?)?,
                None => 0,
            };
            let fill = Fill {
                trade_id,
                qty_steps: last_qty,
                price_ticks: units(&self.tick, &r.last_price, "last price L")?,
                fee_units,
                fee_asset: r
                    .fee_asset
                    .as_ref()
                    .filter(|_| fee_units != 0)
                    .map(|a| a.to_string()),
                time_ms: r.time_ms,
            };
            next.apply_fill(fill)?;
        }
        // Binance's cumulative quantity only grows: a report behind the fills already applied
        // is an old one (a replayed stream, a late REST answer) and changes nothing.
        if r.x != "TRADE" && cumulative < next.filled_steps {
            return Ok(false);
        }
        if cumulative != next.filled_steps {
            return Err(CoreError::invalid(format!(
                "report says {} filled (z) but the applied fills add up to {}: a fill report \
                 is missing; reconcile the order's trades first",
                r.z,
                next.filled_qty()
            )));
        }
        let keep_pending_cancel = next.status == OrderStatus::PENDING_CANCEL
            && matches!(status, OrderStatus::NEW | OrderStatus::PARTIALLY_FILLED);
        if !keep_pending_cancel {
            next.transition(status)?;
        }
        // A report that only repeats what the order knows (a duplicate) changes nothing, not
        // even the update time.
        if next == *self {
            return Ok(false);
        }
        next.updated_ms = next.updated_ms.max(r.time_ms);
        // The report is applied only if the order it leaves holds every invariant (an amend to
        // the filled quantity under PARTIALLY_FILLED, a fill outside the limit, ...).
        next.validate()
            .map_err(|e| CoreError::invalid(format!("execution report refused: {e}")))?;
        *self = next;
        Ok(true)
    }
}
