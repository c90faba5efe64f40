"""``StateCollector``: the trader's state as Prometheus metrics, read when Prometheus scrapes.

A pull collector: nothing runs per event. At each scrape it takes one ``AccountSnapshot`` (the
``snapshot`` callable, built by the telemetry bridge from the engine's portfolio, risk managers
and order manager, on the event loop that owns them), reads the stream stats, the journal status
and the REST connectors' counters, and yields fresh metric families. A snapshot that cannot be
taken (no account yet) yields only what does not depend on it.

Metric families (see ``monitoring.metrics`` for the naming rules):

==========================================  =====================================================
``gradtrade_equity{asset}``                 account equity, marked at the last prices
``gradtrade_cash{asset}``                   quote-asset cash
``gradtrade_position{symbol}``              signed holdings, base-asset units
``gradtrade_position_value{symbol,asset}``  signed position value at the mark
``gradtrade_exposure_ratio{symbol}``        |position value| / equity
``gradtrade_realized_pnl{symbol,asset}``    closed-trade PnL before fees
``gradtrade_unrealized_pnl{symbol,asset}``  open PnL at the mark
``gradtrade_fees_paid{asset}``              cumulative fees (quote value; rebates negative)
``gradtrade_funding_paid{asset}``           cumulative net funding paid (negative: received)
``gradtrade_slippage_paid{asset}``          cumulative slippage against decision prices
``gradtrade_drawdown_ratio``                equity drawdown from its high-water mark, 0..1
``gradtrade_breaker_drawdown_ratio{symbol}``  the breaker's drawdown
``gradtrade_breaker_state{symbol}``         0 ACTIVE, 1 REDUCING, 2 HALTED
``gradtrade_orders_in_flight{symbol}``      orders sent and not yet terminal
``gradtrade_orders_rejected_total``         {symbol,stage=risk|venue,reason}: typed refusals
``gradtrade_decision_skips_total{reason}``  decisions or venue events the engine skipped
``gradtrade_market_data_age_seconds``       {stream}: since the stream's last message
``gradtrade_market_data_stale_after_seconds``  the configured staleness limit
``gradtrade_stream_messages_total{stream}``  messages received
``gradtrade_websocket_reconnects_total``    {stream}: reconnections of the stream
``gradtrade_request_weight_used{connector}``  Binance request weight used this minute
``gradtrade_request_weight_limit{connector}``  the weight budget the client paces itself by
``gradtrade_rest_requests_total``           {connector}: REST requests, retries, 429s, 5xx
``gradtrade_book_resyncs_total{connector}``  L2 book resyncs (a new REST snapshot: gap, reconnect)
``gradtrade_book_sequence_gaps_total``      {connector}: depth diffs found missing (a gap)
``gradtrade_journal_writable``              1 while the last journal write succeeded
``gradtrade_journal_appends_total``         successful journal appends
``gradtrade_journal_write_failures_total``  failed journal writes
==========================================  =====================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gradtrade.core import RejectReason
from gradtrade.monitoring.metrics import enum_label
from gradtrade.monitoring.state import (
    AccountSnapshot,
    Clock,
    JournalStatus,
    StreamRegistry,
)
from gradtrade.venue.rest import ConnectorMetrics

RISK_REASONS = tuple(enum_label(getattr(RejectReason, n)) for n in dir(RejectReason) if n.isupper())
_BREAKER_HELP = "Drawdown breaker state: 0 ACTIVE, 1 REDUCING (only reducing orders), 2 HALTED."


class ConnectorView:
    """A REST connector's counters (``venue.rest.ConnectorMetrics``) and its weight budget."""

    __slots__ = ("metrics", "weight_limit")

    def __init__(self, metrics: ConnectorMetrics, weight_limit: int) -> None:
        self.metrics, self.weight_limit = metrics, weight_limit


class StateCollector(Collector):
    def __init__(
        self,
        snapshot: Callable[[], AccountSnapshot | None],
        streams: StreamRegistry,
        journal: JournalStatus,
        *,
        stale_after_s: float,
        clock: Clock,
    ) -> None:
        self.snapshot, self.streams, self.journal = snapshot, streams, journal
        self.stale_after_s, self.clock = stale_after_s, clock
        self.connectors: dict[str, ConnectorView] = {}

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # dynamic: nothing is collected at registration

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        account = self.snapshot()
        if account is not None:
            yield from _account(account)
        yield from self._streams()
        yield from self._connectors()
        j = self.journal
        yield _gauge("gradtrade_journal_writable", "1 while the last journal write succeeded.",
                     [], [([], float(j.writable))])  # fmt: skip
        yield _counter("gradtrade_journal_appends", "Successful journal appends.",
                       [], [([], j.appends)])  # fmt: skip
        yield _counter("gradtrade_journal_write_failures", "Journal writes that failed.",
                       [], [([], j.failures)])  # fmt: skip

    def _streams(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        now = self.clock()
        streams = list(self.streams)
        yield _gauge(
            "gradtrade_market_data_age_seconds",
            "Seconds since the stream's last message (since it was opened when none came).",
            ["stream"],
            [([s.name], s.age_s(now)) for s in streams],
        )
        yield _gauge(
            "gradtrade_market_data_stale_after_seconds",
            "The configured age above which a stream counts as stale (/healthz fails).",
            [],
            [([], self.stale_after_s)],
        )
        yield _counter("gradtrade_stream_messages", "Messages received per stream.",
                       ["stream"], [([s.name], s.messages) for s in streams])  # fmt: skip
        yield _counter("gradtrade_websocket_reconnects", "Reconnections per stream.",
                       ["stream"], [([s.name], s.reconnects) for s in streams])  # fmt: skip

    def _connectors(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        items = list(self.connectors.items())
        yield _gauge(
            "gradtrade_request_weight_used",
            "Binance request weight used in the current minute, as the server reports it.",
            ["connector"],
            [([n], float(c.metrics.used_weight)) for n, c in items],
        )
        yield _gauge(
            "gradtrade_request_weight_limit",
            "Request weight per minute the client paces itself by.",
            ["connector"],
            [([n], float(c.weight_limit)) for n, c in items],
        )
        rest = CounterMetricFamily(
            "gradtrade_rest_requests",
            "REST requests by outcome: sent, retried, rate limited (429/418), server error.",
            labels=["connector", "outcome"],
        )
        for n, c in items:
            m = c.metrics
            for outcome, value in (("sent", m.requests), ("retried", m.retries),
                                   ("rate_limited", m.rate_limited),
                                   ("server_error", m.server_errors)):  # fmt: skip
                rest.add_metric([n, outcome], value)
        yield rest
        yield _counter("gradtrade_book_resyncs", "L2 book resyncs: a REST snapshot again after "
                       "a sequence gap or a reconnect.", ["connector"],
                       [([n], c.metrics.resyncs) for n, c in items])  # fmt: skip
        yield _counter("gradtrade_book_sequence_gaps", "Depth diffs found missing (the book "
                       "resyncs after each).", ["connector"],
                       [([n], c.metrics.sequence_gaps) for n, c in items])  # fmt: skip


def _gauge(
    name: str, doc: str, labels: list[str], samples: list[tuple[list[str], float]]
) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        g.add_metric(values, value)
    return g


def _counter(
    name: str, doc: str, labels: list[str], samples: list[tuple[list[str], float]]
) -> CounterMetricFamily:
    c = CounterMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        c.add_metric(values, value)
    return c


def _account(a: AccountSnapshot) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    asset = a.quote_asset
    syms = a.symbols
    yield _gauge("gradtrade_equity", "Account equity marked at the last prices.",
                 ["asset"], [([asset], a.equity)])  # fmt: skip
    yield _gauge("gradtrade_cash", "Quote-asset cash.", ["asset"], [([asset], a.cash)])
    yield _gauge("gradtrade_fees_paid", "Cumulative fees, quote value (maker rebates negative).",
                 ["asset"], [([asset], a.fees)])  # fmt: skip
    yield _gauge("gradtrade_funding_paid", "Cumulative net funding paid (negative: received).",
                 ["asset"], [([asset], a.funding)])  # fmt: skip
    yield _gauge("gradtrade_slippage_paid", "Cumulative slippage against the decision prices.",
                 ["asset"], [([asset], a.slippage)])  # fmt: skip
    yield _gauge("gradtrade_drawdown_ratio", "Equity drawdown from its high-water mark (0..1).",
                 [], [([], a.drawdown_ratio)])  # fmt: skip
    yield _gauge("gradtrade_position", "Signed holdings in base-asset units.",
                 ["symbol"], [([s.symbol], s.position) for s in syms])  # fmt: skip
    yield _gauge("gradtrade_position_value", "Signed position value at the mark.",
                 ["symbol", "asset"], [([s.symbol, asset], s.value) for s in syms])  # fmt: skip
    yield _gauge("gradtrade_exposure_ratio", "Absolute position value over equity.",
                 ["symbol"], [([s.symbol], s.exposure_ratio) for s in syms])  # fmt: skip
    yield _gauge("gradtrade_realized_pnl", "Closed-trade PnL before fees.", ["symbol", "asset"],
                 [([s.symbol, asset], s.realized_pnl) for s in syms])  # fmt: skip
    yield _gauge("gradtrade_unrealized_pnl", "Open-position PnL at the mark.", ["symbol", "asset"],
                 [([s.symbol, asset], s.unrealized_pnl) for s in syms])  # fmt: skip
    yield _gauge("gradtrade_breaker_drawdown_ratio", "The breaker's drawdown (0..1).", ["symbol"],
                 [([s.symbol], s.breaker_drawdown_ratio) for s in syms])  # fmt: skip
    yield _gauge("gradtrade_breaker_state", _BREAKER_HELP, ["symbol"],
                 [([s.symbol], float(int(s.breaker))) for s in syms])  # fmt: skip
    yield _gauge("gradtrade_orders_in_flight", "Orders sent and not yet terminal.", ["symbol"],
                 [([s.symbol], float(s.orders_in_flight)) for s in syms])  # fmt: skip
    rejected = CounterMetricFamily(
        "gradtrade_orders_rejected",
        "Orders refused, by stage (risk: the pre-trade check; venue: the exchange or the "
        "simulated venue) and typed reason.",
        labels=["symbol", "stage", "reason"],
    )
    for s in syms:
        risk = dict.fromkeys(RISK_REASONS, 0) | s.risk_rejections
        for reason, n in sorted(risk.items()):
            rejected.add_metric([s.symbol, "risk", reason], n)
        for reason, n in sorted(s.venue_rejections.items()):
            rejected.add_metric([s.symbol, "venue", reason], n)
    yield rejected
    yield _counter("gradtrade_decision_skips", "Decisions and venue events the engine skipped.",
                   ["reason"], [([r], n) for r, n in sorted(a.skips.items())])  # fmt: skip


__all__ = ["RISK_REASONS", "ConnectorView", "StateCollector"]
