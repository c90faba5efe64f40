//! Order state and accounting: the status transition table (`status`), one order's life with
//! fills (`order`), its invariants (`invariants`) and Binance execution reports (`report`),
//! position accounting (`position`) and deterministic client order ids (`client_id`).
//! `python.rs` holds the bindings.

pub mod client_id;
mod invariants;
pub mod order;
pub mod position;
mod report;
pub mod status;

#[cfg(feature = "python")]
pub mod python;

pub use client_id::{client_order_id, parse_client_order_id, validate_client_order_id};
pub use order::{Fill, Order};
pub use position::Position;
pub use status::{transition_allowed, OrderStatus};
