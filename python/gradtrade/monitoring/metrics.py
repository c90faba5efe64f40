"""``Metrics``: the trader's event metrics (counters and histograms) in its own registry.

Naming (Prometheus conventions, checked by ``promtool check metrics`` in the tests): one
``gradtrade_`` prefix, base units (seconds; money in the account's quote asset, named by an
``asset`` label), ``_total`` on counters, ``_ratio`` for 0..1 fractions, ``_seconds``
histograms. Labels are low-cardinality only: ``symbol``, ``stream``, ``connector``, enum values
(``reason``, ``stage``, ``intent``, ``liquidity``, ``state``); never a client order id, a price
or anything user-controlled beyond the configured symbols and streams.

What changes per event is counted here, where it happens; state that already lives in the
engine (equity, positions, breaker, open orders, rejection counts) is read at scrape time by
``monitoring.collector``. Every label combination the dashboard asks for is created at 0 by
:meth:`Metrics.prepare`, so a query returns a series before the first event, and
``rate()``/``increase()`` see the first increment.

Histograms and counters do not export ``*_created`` series (``disable_created_metrics``, a
process-wide switch of prometheus_client): they double the series count and nothing reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import disable_created_metrics as _disable_created

from gradtrade import __version__
from gradtrade.core import TradingState

NAMESPACE = "gradtrade"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NFE_BUCKETS = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0)
JOURNAL_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
# gradtrade_breaker_state's values (the Rust enum's integers): documented in its HELP text
BREAKER_VALUES = {"active": 0, "reducing": 1, "halted": 2}


def enum_label(value: object) -> str:
    """The label value of an enum member: ``RejectReason.MAX_POSITION`` -> ``max_position``
    (Python enums with string values use the value)."""
    raw = getattr(value, "value", None)
    if isinstance(raw, str):
        return raw
    return str(value).rsplit(".", 1)[-1].lower()


@dataclass(frozen=True, slots=True)
class SymbolSeries:
    """One symbol's labelled children, resolved once (``labels()`` costs a lock and a lookup
    per call; the per-bar path uses these)."""

    decisions: Any
    last_decision: Any
    target: Any
    predicted_sigma: Any
    realized_volatility: Any
    submitted: dict[str, Any]  # by intent
    fills: dict[str, Any]  # by liquidity
    notional: dict[str, Any]  # by liquidity


class Metrics:
    """Counters and histograms the telemetry bridge feeds, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        _disable_created()
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.build_info = Gauge(
            "gradtrade_build_info", "Always 1; the gradtrade version.", ["version"], registry=r
        )
        self.build_info.labels(__version__).set(1)
        self.orders_submitted = Counter(
            "gradtrade_orders_submitted",
            "Orders sent to the venue after passing the pre-trade check.",
            ["symbol", "intent"],
            registry=r,
        )
        self.fills = Counter(
            "gradtrade_fills",
            "Executions of our orders (a partially filled order counts each fill).",
            ["symbol", "liquidity"],
            registry=r,
        )
        self.filled_notional = Counter(
            "gradtrade_filled_notional",
            "Quote-asset value traded by our fills (price * quantity).",
            ["symbol", "liquidity"],
            registry=r,
        )
        self.ack_latency = Histogram(
            "gradtrade_order_ack_latency_seconds",
            "Wall time from handing an order to the venue client to its acknowledgement.",
            registry=r,
            buckets=ACK_BUCKETS,
        )
        self.decision_latency = Histogram(
            "gradtrade_decision_latency_seconds",
            "Wall time of the engine's handler chain for one closed bar: strategy, risk, "
            "order planning and hand-off to the venue client.",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.inference = Histogram(
            "gradtrade_model_inference_seconds",
            "Wall time the strategy took to turn a bar into a decision (model forward included).",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.nfe = Histogram(
            "gradtrade_ode_function_evaluations",
            "Vector-field evaluations of the model per decision (Neural ODE solver steps; "
            "GRU: decoder steps).",
            registry=r,
            buckets=NFE_BUCKETS,
        )
        self.decisions = Counter(
            "gradtrade_decisions", "Decisions the strategy returned.", ["symbol"], registry=r
        )
        self.last_decision = Gauge(
            "gradtrade_last_decision_timestamp_seconds",
            "Wall time of the strategy's last decision.",
            ["symbol"],
            registry=r,
        )
        self.target = Gauge(
            "gradtrade_decision_target_ratio",
            "The strategy's last raw target, as a signed fraction of equity (u_t).",
            ["symbol"],
            registry=r,
        )
        self.predicted_sigma = Gauge(
            "gradtrade_predicted_sigma",
            "The model's predicted standard deviation of the next bar's log return "
            "(NaN: the strategy has no forecast).",
            ["symbol"],
            registry=r,
        )
        self.realized_volatility = Gauge(
            "gradtrade_realized_volatility",
            "Root mean square of the last N bars' log returns of the close (NaN until N bars), "
            "the same unit as gradtrade_predicted_sigma.",
            ["symbol"],
            registry=r,
        )
        self.breaker_transitions = Counter(
            "gradtrade_breaker_transitions",
            "Drawdown breaker state changes, by the state entered.",
            ["symbol", "state"],
            registry=r,
        )
        self.journal_append = Histogram(
            "gradtrade_journal_append_seconds",
            "Wall time of one durable journal append (batch appends count once).",
            registry=r,
            buckets=JOURNAL_BUCKETS,
        )
        self.reconciliation_runs = Counter(
            "gradtrade_reconciliation_runs",
            "Reconciliations with the exchange (startup and periodic).",
            registry=r,
        )
        self.reconciliation_discrepancies = Counter(
            "gradtrade_reconciliation_discrepancies",
            "Differences reconciliation found between the journal and the exchange.",
            registry=r,
        )
        self.reconciliation_last = Gauge(
            "gradtrade_reconciliation_last_discrepancies",
            "Differences found by the last reconciliation (0: in sync).",
            registry=r,
        )
        self.reconciliation_last_run = Gauge(
            "gradtrade_reconciliation_last_run_timestamp_seconds",
            "Wall time of the last reconciliation (0: none yet).",
            registry=r,
        )

    def prepare(
        self, symbols: Iterable[str], intents: Iterable[str], liquidities: Iterable[str]
    ) -> dict[str, SymbolSeries]:
        """Create every labelled series at 0 (NaN for the forecast gauges); each symbol's
        children, for the hot path."""
        intents, liquidities = list(intents), list(liquidities)
        out = {}
        for symbol in symbols:
            for state in BREAKER_VALUES:
                self.breaker_transitions.labels(symbol, state)
            series = SymbolSeries(
                decisions=self.decisions.labels(symbol),
                last_decision=self.last_decision.labels(symbol),
                target=self.target.labels(symbol),
                predicted_sigma=self.predicted_sigma.labels(symbol),
                realized_volatility=self.realized_volatility.labels(symbol),
                submitted={i: self.orders_submitted.labels(symbol, i) for i in intents},
                fills={liq: self.fills.labels(symbol, liq) for liq in liquidities},
                notional={liq: self.filled_notional.labels(symbol, liq) for liq in liquidities},
            )
            for gauge in (series.predicted_sigma, series.realized_volatility, series.target):
                gauge.set(float("nan"))
            out[symbol] = series
        return out

    def breaker_entered(self, symbol: str, state: TradingState) -> None:
        self.breaker_transitions.labels(symbol, enum_label(state)).inc()

    def reconciled(self, discrepancies: int, now_s: float) -> None:
        self.reconciliation_runs.inc()
        self.reconciliation_discrepancies.inc(discrepancies)
        self.reconciliation_last.set(discrepancies)
        self.reconciliation_last_run.set(now_s)


__all__ = [
    "ACK_BUCKETS",
    "BREAKER_VALUES",
    "LATENCY_BUCKETS",
    "NAMESPACE",
    "NFE_BUCKETS",
    "Metrics",
    "SymbolSeries",
    "enum_label",
]
