"""End to end through a real Prometheus: paper traders (``gradtrade trade --config``, each its
own process, against the local exchange in its own process, one candle closed every 1.5 s by
moving the exchange's clock) are scraped every second with the deployed alert rules evaluated
every second.

* every query of every dashboard panel (read from the dashboard JSON) returns data, with at
  least one finite value, through Prometheus' HTTP API, and every metric a paper or a live
  trader exports is on a panel (the model trader's forecast and NFE, the live trader's
  user-data stream and order gateway included);
* a forced drawdown (halt at 0.04%: the first fill's fee crosses it) HALTs one trader:
  ``GradtradeHalted`` fires for that instance only, and its /healthz is 503 ``halted``;
* a journal whose Redis server is killed: /healthz 503 ``journal_unwritable`` and
  ``GradtradeJournalWriteFailing`` fires;
* the scrape passes ``promtool check metrics``, every label is from the low-cardinality set, and
  the API key and secret in the process's environment appear nowhere (scrape, /healthz,
  Prometheus labels).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gradtrade.live.telemetry import SKIP_REASONS, VENUE_REASONS
from gradtrade.monitoring.collector import RISK_REASONS
from trader_process import KEY, SECRET, BarPump

from .servers import ExchangeProcess, Prometheus, Redis, Trader, start_prometheus, wait_for

pytestmark = pytest.mark.timeout(600)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/grafana/dashboards/gradtrade.json"
RATE_WINDOW = "1m"  # what $__rate_interval becomes (Grafana: 4x the scrape interval at least)
BAR_EVERY_S = 1.5
LABELS = {
    "symbol": {"BTCUSDT"},
    "asset": {"USDT"},
    "stream": {"btcusdt@kline_1m"},
    "connector": {"market_data", "orders"},  # orders: the live order gateway
    "stage": {"risk", "venue"},
    "intent": {"rebalance", "flatten", "stop_loss", "take_profit"},
    "liquidity": {"maker", "taker"},
    "state": {"active", "reducing", "halted"},
    "outcome": {"sent", "retried", "rate_limited", "server_error"},
    # typed reasons: the enums' values (engine refusals are named by the refused event type)
    "reason": {*RISK_REASONS, *VENUE_REASONS, *SKIP_REASONS,
               "refused_FillEvent", "refused_Ack", "refused_Canceled", "refused_VenueReject"},
}  # fmt: skip


@dataclass
class Stack:
    prometheus: Prometheus
    trading: Trader  # the tiny Neural ODE, ordinary limits
    halting: Trader  # moving-average cross, HALTED at 0.04% drawdown
    journaling: Trader  # journal on a redis-server the test kills
    live: Trader  # live mode: signed orders and the user-data stream on the local exchange
    redis: Redis


@pytest.fixture(scope="module")
def stack(
    exchange: ExchangeProcess,
    checkpoint: Path,
    start_trader: Callable[..., Trader],
    redis_server: Redis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    url = exchange.url
    trading = start_trader(
        url, "trading", strategy={"kind": "model", "checkpoint": str(checkpoint)},
        warmup_bars=120, risk={"min_rebalance": 0.01},
    )  # fmt: skip
    halting = start_trader(
        url, "halting", risk={"halt_drawdown": 0.0004, "reduce_drawdown": 0.0002}
    )
    journaling = start_trader(
        url, "journaling", journal={"url": redis_server.url(f"t{uuid.uuid4().hex[:8]}")}
    )
    live = start_trader(url, "live", mode="live")
    prom = start_prometheus(
        tmp_path_factory.mktemp("prometheus"),
        [trading.target, halting.target, journaling.target, live.target],
    )
    with BarPump(exchange.control, every_s=BAR_EVERY_S):
        yield Stack(prom, trading, halting, journaling, live, redis_server)
    prom.stop()


def panel_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of every panel, rows' nested panels included."""
    dash = json.loads(DASHBOARD.read_text())
    out = []
    for panel in dash["panels"]:
        for p in [panel, *panel.get("panels", [])]:
            for t in p.get("targets", []):
                out.append((p["title"], t["expr"].replace("$__rate_interval", RATE_WINDOW)))
    return out


def value(sample: dict[str, object]) -> float:
    return float(sample["value"][1])  # type: ignore[index]


def first(prom: Prometheus, expr: str) -> float | None:
    result = prom.query(expr)
    return value(result[0]) if result else None


def test_every_dashboard_panel_query_returns_data(stack: Stack) -> None:
    prom, inst = stack.prometheus, stack.trading.target
    # wait until Prometheus has scraped the model trader deciding and filling within the last
    # minute (what a dashboard rate over $__rate_interval needs: two samples around increments)
    decisions = f'gradtrade_decisions_total{{instance="{inst}"}}'
    fills = f'gradtrade_fills_total{{instance="{inst}"}}'
    wait_for(
        lambda: (
            (first(prom, f"increase({decisions}[1m])") or 0) >= 3
            and (first(prom, f"sum(increase({fills}[1m]))") or 0) >= 1
        ),
        180,
        "the model trader's decisions and fills within a minute in Prometheus",
    )
    queries = panel_queries()
    assert len(queries) >= 40
    missing = []
    for title, expr in queries:
        result = prom.query(expr)
        finite = [value(s) for s in result if math.isfinite(value(s))]
        if not finite:
            missing.append(f"{title}: {expr} -> {result}")
    assert not missing, "panels without data:\n" + "\n".join(missing)
    # and the dashboard shows every metric a paper or live trader exports
    used = {n for _, expr in queries for n in re.findall(r"gradtrade_[a-z0-9_]+", expr)}
    exported = {
        f.name for t in (stack.trading, stack.live)
        for f in text_string_to_metric_families(t.scrape()) if f.name.startswith("gradtrade_")
    }  # fmt: skip
    suffixes = ("", "_total", "_bucket", "_sum", "_count")
    unused = sorted(n for n in exported if not any(n + s in used for s in suffixes))
    assert not unused, f"exported but on no dashboard panel: {unused}"
    # the model panels carry the model's own numbers
    assert (first(prom, f'gradtrade_predicted_sigma{{instance="{inst}"}}') or 0) > 0
    # the live trader's user-data stream is up; paper traders export no such series
    live = f'gradtrade_user_data_connected{{instance="{stack.live.target}"}}'
    assert first(prom, live) == 1
    assert first(prom, f'gradtrade_user_data_connected{{instance="{inst}"}}') is None
    assert first(prom, 'gradtrade_request_weight_used{connector="orders"}') is not None
    nfe = f'gradtrade_ode_function_evaluations_sum{{instance="{inst}"}}'
    count = f'gradtrade_ode_function_evaluations_count{{instance="{inst}"}}'
    assert (first(prom, f"{nfe} / {count}") or 0) >= 2


def test_forced_drawdown_halts_and_the_halted_alert_fires_for_that_trader(stack: Stack) -> None:
    prom = stack.prometheus

    def halted_alerts() -> list[dict[str, object]]:
        return [
            a for a in prom.alerts()
            if a["labels"]["alertname"] == "GradtradeHalted" and a["state"] == "firing"
        ]  # fmt: skip

    firing = wait_for(halted_alerts, 120, "GradtradeHalted to fire")
    assert {a["labels"]["instance"] for a in firing} == {stack.halting.target}
    (alert,) = firing
    assert alert["labels"]["symbol"] == "BTCUSDT" and alert["labels"]["severity"] == "critical"
    status, body = stack.halting.health()
    assert status == 503 and body["reasons"] == ["halted"], body
    assert "BTCUSDT" in body["problems"][0]["detail"]
    transitions = f'gradtrade_breaker_transitions_total{{instance="{stack.halting.target}"}}'
    entered = {s["metric"]["state"]: value(s) for s in prom.query(transitions)}
    assert entered["halted"] == 1
    assert stack.trading.health()[0] == 200


def test_killed_journal_server_fails_health_and_fires_the_journal_alert(stack: Stack) -> None:
    prom, inst = stack.prometheus, stack.journaling.target
    appends = f'gradtrade_journal_appends_total{{instance="{inst}"}}'
    wait_for(lambda: (first(prom, appends) or 0) > 5, 120, "journal appends in Prometheus")
    assert stack.journaling.health()[0] == 200
    stack.redis.stop()  # SIGKILL: the next append raises JournalUnavailable

    def unhealthy() -> dict[str, object] | None:
        status, body = stack.journaling.health()
        return body if status == 503 else None

    body = wait_for(unhealthy, 60, "/healthz 503 after the journal server died")
    assert body["reasons"] == ["journal_unwritable"], body
    assert "JournalUnavailable" in body["problems"][0]["detail"]

    def journal_alert() -> list[dict[str, object]]:
        return [
            a for a in prom.alerts()
            if a["labels"]["alertname"] == "GradtradeJournalWriteFailing"
            and a["state"] == "firing"
        ]  # fmt: skip

    firing = wait_for(journal_alert, 60, "GradtradeJournalWriteFailing to fire")
    assert {a["labels"]["instance"] for a in firing} == {inst}
    failures = f'gradtrade_journal_write_failures_total{{instance="{inst}"}}'
    assert (first(prom, failures) or 0) >= 1
    # trading stopped at the failure, the trader kept serving until SIGTERM, then it exited 1
    # naming the error
    assert stack.journaling.process.poll() is None
    log = stack.journaling.stop()
    assert stack.journaling.process.returncode == 1, log[-2000:]
    assert "JournalUnavailable" in log and "trading stopped" in log


@pytest.mark.parametrize("which", ["trading", "live"])
def test_scrape_passes_promtool_with_low_cardinality_labels_and_no_secret(
    stack: Stack, which: str
) -> None:
    trader: Trader = getattr(stack, which)
    text = trader.scrape()
    out = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        assert re.fullmatch(r"(gradtrade|process)_[a-z0-9_]+", family.name), family.name
        for sample in family.samples:
            for label, v in sample.labels.items():
                if label in ("le", "version"):
                    continue
                assert v in LABELS[label], (family.name, label, v)
    assert "gradtrade_equity" in names and "gradtrade_breaker_state" in names
    health = json.dumps(trader.health()[1])
    prom = stack.prometheus
    label_values = [
        v for label in prom.api("labels") for v in prom.api(f"label/{label}/values")
    ]  # fmt: skip
    for secret in (SECRET, KEY):
        assert secret not in text and secret not in health
        assert not any(secret in v for v in label_values)
