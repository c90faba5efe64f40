"""``gradtrade trade reconcile``: one reconciliation of a trader's journal against the exchange,
without trading.

Invariants: the journal is opened read-only (no writer lock: it works while the trader runs,
and nothing is ever written to it) and recovered exactly as a restart would; the portfolio is
the journal's (``live.resume.restore_portfolio``); the belief, the baseline and the comparison
are the trader's own (``live.reconciler.check_journal``); no order is sent or cancelled (only
signed reads). A journal without a baseline (the trader never reconciled live) is compared
on a baseline taken now, which the report says.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradtrade.errors import ConfigError
from gradtrade.execution.orders import OrderManager
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.live.config import TraderConfig
from gradtrade.live.credentials import Credentials, connector_config
from gradtrade.live.reconcile import ReconcileConfig, ReconciliationReport
from gradtrade.live.reconciler import Baseline, check_journal
from gradtrade.live.resume import restore_portfolio
from gradtrade.persistence.journal import open_journal
from gradtrade.persistence.recovery import recover
from gradtrade.venue.instruments import symbol_filters
from gradtrade.venue.orders import OrderGateway


@dataclass(frozen=True, slots=True)
class CheckResult:
    report: ReconciliationReport
    baseline: Baseline
    baseline_taken_now: bool  # the journal had none
    journal_seq: int


async def check_trader(cfg: TraderConfig, creds: Credentials) -> CheckResult:
    """The report the trader would reach if it reconciled now (its journal at its last record)."""
    if cfg.mode != "live":
        raise ConfigError("mode: paper has no exchange account to reconcile against")
    with open_journal(cfg.journal.url, cfg.journal_options(readonly=True)) as journal:
        state = recover(journal)
        gateway = OrderGateway(
            connector_config(cfg, creds), recv_window_ms=cfg.venue.recv_window_ms
        )
        try:
            await gateway.rest.sync_time()
            filters = state.filters.get(cfg.symbol)
            if filters is None:
                info = await gateway.rest.get_bytes("exchangeInfo", {"symbol": cfg.symbol})
                filters = symbol_filters(info, cfg.symbol)
            by_symbol = {cfg.symbol: filters}
            portfolio = PortfolioTracker(cfg.capital, by_symbol, filters.quote_asset or "USDT")
            restore_portfolio(journal, state, portfolio)
            manager = OrderManager(cfg.strategy.kind, by_symbol, cfg.execution)
            baseline = Baseline.from_state(state)
            config = ReconcileConfig(
                adopt_unknown=cfg.reconcile.adopt_unknown,
                placement_window_ms=cfg.venue.recv_window_ms + int(1000 * cfg.venue.timeout_s),
            )
            report, _, _, used = await check_journal(
                gateway, state, manager, portfolio, baseline, config, confirm_after_s=1.0
            )
        finally:
            await gateway.close()
    return CheckResult(report, used, baseline is None, state.seq)


__all__ = ["CheckResult", "check_trader"]
