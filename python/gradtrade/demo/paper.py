"""The demo's last step: a short paper-trading session, ``gradtrade trade``, in its own process.

Invariants: the session is the user's command (``python -m gradtrade trade --config FILE
--run-for SECONDS``, the interpreter running the demo), against the demo's local exchange, with
``/metrics`` and ``/healthz`` on a loopback port chosen here; its output goes to a log file in
the session folder, never to the demo's terminal. The demo reads the session from outside, as
Prometheus and an operator would: it scrapes the endpoints while the trader runs, keeps the last
successful scrape in ``metrics.txt`` (the endpoints close with the process) and, after the
process exits, counts the journal's records by kind through the read-only journal API. A build
without the ``trade`` command (the live trader not installed) is reported as such
(``PaperStatus.UNAVAILABLE``), never as a failed session.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from gradtrade.persistence import JournalOptions, open_journal

GRACE_S = 60.0  # past --run-for: warm-up, shutdown (cancel open orders, flush the journal)
SCRAPE_EVERY_S = 2.0


class PaperStatus(Enum):
    RAN = "ran"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class PaperSpec:
    """What to run: the trader config (already pointing at the exchange, the journal and
    ``port``), how long, and where the session's files go."""

    config: Path
    seconds: int
    port: int
    folder: Path
    journal: Path  # the SQLite file the config's journal.url names


@dataclass(frozen=True)
class PaperOutcome:
    status: PaperStatus
    detail: str
    log: Path | None = None
    metrics: Path | None = None
    health: str | None = None  # the last /healthz answer seen: "200 ..." or "503 ..."
    samples: int = 0  # gradtrade_ sample lines in the last scrape
    journal: dict[str, int] = field(default_factory=dict)  # records by kind


def free_port() -> int:
    """A loopback TCP port free right now (the trader binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def trade_command() -> list[str]:
    return [sys.executable, "-m", "gradtrade", "trade"]


def _get(url: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read().decode()
    except (OSError, ValueError):
        return None  # not listening yet, or already gone


def _journal_counts(path: Path) -> dict[str, int]:
    with open_journal(str(path), JournalOptions(readonly=True)) as journal:
        return dict(sorted(Counter(r.kind.name for r in journal.read()).items()))


def run_paper_session(spec: PaperSpec) -> PaperOutcome:
    """Run the session to its end and describe it; never raises for what the trader did."""
    spec.folder.mkdir(parents=True, exist_ok=True)
    log = spec.folder / "trader.log"
    base = f"http://127.0.0.1:{spec.port}"
    last_metrics: str | None = None
    health: str | None = None
    argv = [*trade_command(), "--config", str(spec.config), "--run-for", str(spec.seconds)]
    with log.open("w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=os.environ)
        deadline = time.monotonic() + spec.seconds + GRACE_S
        try:
            while process.poll() is None and time.monotonic() < deadline:
                scraped = _get(f"{base}/metrics")
                if scraped is not None and scraped[0] == 200:
                    last_metrics = scraped[1]
                answer = _get(f"{base}/healthz")
                if answer is not None:
                    health = f"{answer[0]} {answer[1].strip()}"
                time.sleep(SCRAPE_EVERY_S)
        finally:
            if process.poll() is None:
                process.terminate()  # SIGTERM: the trader's orderly shutdown
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
            if process.poll() is None:
                process.kill()
                process.wait()
    metrics = None
    samples = 0
    if last_metrics is not None:
        metrics = spec.folder / "metrics.txt"
        metrics.write_text(last_metrics)
        samples = sum(1 for line in last_metrics.splitlines() if line.startswith("gradtrade_"))
    journal = _journal_counts(spec.journal) if spec.journal.exists() else {}
    code = process.returncode
    status = PaperStatus.RAN if code == 0 else PaperStatus.FAILED
    detail = f"`gradtrade trade` exited with {code}" + ("" if code == 0 else f"; see {log}")
    return PaperOutcome(status, detail, log, metrics, health, samples, journal)


__all__ = [
    "PaperOutcome",
    "PaperSpec",
    "PaperStatus",
    "free_port",
    "run_paper_session",
]
