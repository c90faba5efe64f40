"""``TraderConfig``: one YAML file for ``gradtrade trade``, validated strictly.

Sections: ``mode`` (``paper``: live market data, the simulated venue; ``live``: orders on the
venue), ``venue`` (a preset ``binance`` / ``testnet`` / ``local`` or a URL; ``spot`` or
``usdm``), ``symbol`` and ``timeframe`` (closed klines of that interval drive the strategy),
``strategy`` / ``risk`` / ``execution`` / ``fill`` (the backtest's sections, assembled by
``engine.assembly``), ``capital`` (paper: the starting cash; live: the quote capital this
trader sizes with), ``journal``, ``reconcile``, ``cancel_open_on_exit``, ``log``,
``monitoring``, ``credentials`` and ``book`` (the L2 depth stream: off unless enabled).

Invariants: unknown keys are errors and every error names the dotted field (the strict base of
``gradtrade.config``); live mode pointed at a URL that is neither Binance, its testnet nor a
loopback address is refused unless ``venue.allow_unknown_url: true`` (an order must not go to a
host nobody meant); credentials are never part of the file (``credentials`` only says where they
are read from: see ``live.credentials``).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from gradtrade.config import StrictModel, load, validate
from gradtrade.execution.config import ExecutionConfig, FillSection
from gradtrade.monitoring.config import MonitoringConfig
from gradtrade.persistence.options import TRADER_ID, JournalOptions
from gradtrade.risk.config import RiskConfig
from gradtrade.strategy.config import StrategySection
from gradtrade.timeframes import INTERVALS
from gradtrade.venue.urls import PRESETS, Market

LOCAL = "local"
LOCAL_URL = "http://127.0.0.1:8765"  # `gradtrade exchange serve`'s default port
_LOOPBACK_NAMES = ("localhost",)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_known_venue(url: str) -> bool:
    """A preset's REST base (Binance or its testnet, either market) or a loopback server."""
    known = {e.rest for markets in PRESETS.values() for e in markets.values()}
    return url.rstrip("/") in known or is_loopback(url)


class VenueSection(StrictModel):
    """``url``: ``binance``, ``testnet``, ``local`` (http://127.0.0.1:8765) or an http(s) URL
    of a Binance-compatible server answering REST and streams on one host."""

    url: str = LOCAL
    market: Market = "spot"
    allow_unknown_url: bool = False
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    stale_after_s: float = Field(default=30.0, gt=0, le=3600)  # kline stream watchdog
    recv_window_ms: int = Field(default=5000, ge=1, le=60_000)
    # follow the venue's clock at each bar, so signed orders never carry a stale timestamp and
    # a bar the venue's clock has already left behind is known as such: the offset is
    # re-measured (one /time round trip) before a bar whose closing frame's event time differs
    # from the followed clock by more than clock_tolerance_ms (a late frame, a clock that
    # moved, a bar from REST; 0: before every bar). Off: every clock_sync_s only
    sync_clock_every_bar: bool = True
    clock_tolerance_ms: int = Field(default=1000, ge=0, le=10_000)
    clock_sync_s: float = Field(default=60.0, gt=0, le=86_400)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value in PRESETS or value == LOCAL:
            return value
        if not value.startswith(("http://", "https://")) or not urlsplit(value).hostname:
            raise ValueError(
                f"must be one of {sorted([*PRESETS, LOCAL])} or an http(s)://host[:port] URL"
            )
        return value.rstrip("/")

    @property
    def rest_url(self) -> str:
        if self.url in PRESETS:
            return PRESETS[self.url][self.market].rest
        return LOCAL_URL if self.url == LOCAL else self.url


class JournalSection(StrictModel):
    """``url``: ``sqlite:///relative.db``, ``sqlite:////abs.db``, a plain path, or
    ``redis://host:port/db`` (the trader id names the stream). ``keep_terminal_orders``: the
    terminal orders (filled, canceled, rejected, expired) the journal's mirror, its snapshots
    and the engine's order table keep; older ones are pruned at each snapshot
    (``live.recorder``). ``idle_flush_ms`` (SQLite only; 0 = off): flush the disk after that
    long without a journal commit, so the write-ahead commit before an order does not pay for
    other processes' writes (``persistence.flush_keeper``)."""

    url: str = "runs/trader/journal.db"
    snapshot_every: int = Field(default=500, ge=1, le=10_000_000)  # records between snapshots
    keep_terminal_orders: int = Field(default=1000, ge=0, le=10_000_000)
    idle_flush_ms: int = Field(default=50, ge=0, le=60_000)


class ReconcileSection(StrictModel):
    interval_s: float = Field(default=60.0, gt=0, le=86_400)
    adopt_unknown: bool = False  # adopt orders/positions the journal does not know (else HALT)


class LogSection(StrictModel):
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class CredentialsSection(StrictModel):
    """Where live mode reads the API key and secret: a file readable only by its owner (YAML
    with ``api_key`` and ``api_secret``), else the two environment variables."""

    api_key_env: str = Field(default="GRADTRADE_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    api_secret_env: str = Field(default="GRADTRADE_API_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: str | None = None


# the diff depth stream's update speeds Binance serves per market
BOOK_SPEEDS: dict[str, tuple[str, ...]] = {
    "spot": ("100ms", "1000ms"),
    "usdm": ("100ms", "250ms", "500ms"),
}


class BookSection(StrictModel):
    """``book:`` the symbol's L2 book from the diff depth stream (``live.book``), off by default.

    ``depth_levels``: levels of the REST snapshot the book starts from (and the most a paper
    market order walks); ``cadence_s``: the strategy gets a ``BookTick`` every ``cadence_s``
    seconds, or (null) one right after each closed bar; ``stale_after_s``: the depth stream's
    watchdog reconnects when no frame came for that long."""

    enabled: bool = False
    depth_levels: int = Field(default=1000, ge=5, le=5000)
    speed: Literal["100ms", "250ms", "500ms", "1000ms"] = "100ms"
    cadence_s: float | None = Field(default=1.0, gt=0, le=3600)
    stale_after_s: float = Field(default=5.0, gt=0, le=3600)


class TraderConfig(StrictModel):
    mode: Literal["paper", "live"] = "paper"
    trader_id: str = Field(default="trader", pattern=f"^{TRADER_ID.pattern}$")
    venue: VenueSection = VenueSection()
    symbol: str = Field(default="BTCUSDT", pattern=r"^[A-Z0-9]{2,20}$")
    timeframe: str = "1m"
    warmup_bars: int = Field(default=500, ge=1, le=1000)  # REST history fed before trading
    strategy: StrategySection = StrategySection(kind="ma_cross")
    risk: RiskConfig = RiskConfig()
    execution: ExecutionConfig = ExecutionConfig()
    fill: FillSection = FillSection()
    capital: float = Field(default=10_000.0, gt=0, le=1e15)
    # torch's intra-op threads for a model's forward: the trader decides one window at a time,
    # where splitting tiny matrices over threads costs more than it saves
    torch_threads: int = Field(default=1, ge=1, le=256)
    journal: JournalSection = JournalSection()
    reconcile: ReconcileSection = ReconcileSection()
    cancel_open_on_exit: bool = True
    log: LogSection = LogSection()
    # /metrics and /healthz (gradtrade.monitoring); null turns the server off
    monitoring: MonitoringConfig | None = MonitoringConfig()
    credentials: CredentialsSection = CredentialsSection()
    book: BookSection = BookSection()

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str) -> str:
        if value not in INTERVALS or value.endswith("s"):
            raise ValueError(f"must be a Binance kline interval of 1m or more: {INTERVALS}")
        return value

    @model_validator(mode="after")
    def _live_url(self) -> TraderConfig:
        v = self.venue
        if self.mode == "live" and not v.allow_unknown_url and not is_known_venue(v.rest_url):
            raise ValueError(
                f"venue.url: {v.rest_url} is not Binance, the Binance testnet nor a loopback "
                "address; live mode sends orders there only with venue.allow_unknown_url: true"
            )
        return self

    @model_validator(mode="after")
    def _book_speed(self) -> TraderConfig:
        speeds = BOOK_SPEEDS[self.venue.market]
        if self.book.speed not in speeds:
            raise ValueError(
                f"book.speed: {self.book.speed} is not a {self.venue.market} depth stream speed "
                f"({', '.join(speeds)})"
            )
        return self

    def journal_options(self, readonly: bool) -> JournalOptions:
        """How this trader's journal is opened: its id, and for the writer the idle flush."""
        if readonly:
            return JournalOptions(trader_id=self.trader_id, readonly=True)
        return JournalOptions(trader_id=self.trader_id, idle_flush_ms=self.journal.idle_flush_ms)


def parse_trader_config(raw: dict[str, Any], source: str = "<dict>") -> TraderConfig:
    return validate(TraderConfig, raw, source)


def load_trader_config(path: str | Path) -> TraderConfig:
    return load(TraderConfig, path)


__all__ = [
    "BOOK_SPEEDS",
    "LOCAL_URL",
    "BookSection",
    "CredentialsSection",
    "JournalSection",
    "TraderConfig",
    "VenueSection",
    "is_known_venue",
    "is_loopback",
    "load_trader_config",
    "parse_trader_config",
]
