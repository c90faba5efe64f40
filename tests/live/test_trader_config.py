"""Bad input to the trader: its config (errors name the field), live mode at an unknown URL,
credentials in a file others can read, a journal written by a newer version (refused, left
byte for byte as it was), and the breaker reset through the journal."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gradtrade.core import DrawdownBreaker
from gradtrade.errors import ConfigError, InvalidInput, JournalLocked
from gradtrade.live.config import parse_trader_config
from gradtrade.live.credentials import connector_config, load_credentials
from gradtrade.live.status import reset_breaker
from gradtrade.persistence import (
    SCHEMA_VERSION,
    JournalOptions,
    JournalRecord,
    RecordKind,
    SqliteJournal,
    open_journal,
)

from .harness import run_cli

SECRET = "s3cr3t-value-that-must-not-leak"


def live(url: str, **extra: Any) -> dict[str, Any]:
    return {"mode": "live", "venue": {"url": url, **extra}}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"venue": {"urll": "local"}}, "venue.urll"),
        ({"timeframe": "7m"}, "timeframe"),
        ({"timeframe": "1s"}, "timeframe"),
        ({"mode": "backtest"}, "mode"),
        ({"venue": {"url": "ftp://x"}}, "venue.url"),
        ({"risk": {"max_leverage": -1}}, "risk.max_leverage"),
        ({"capital": 0}, "capital"),
        ({"reconcile": {"interval_s": 0}}, "reconcile.interval_s"),
        ({"monitoring": {"port": 70000}}, "monitoring.port"),
        ({"log": {"format": "xml"}}, "log.format"),
        ({"trader_id": "has space"}, "trader_id"),
        ({"strategy": {"kind": "model"}}, "strategy"),
        ({"journal": {"idle_flush_ms": -1}}, "journal.idle_flush_ms"),
        ({"journal": {"idle_flush_ms": 60_001}}, "journal.idle_flush_ms"),
    ],
)
def test_bad_config_is_refused_naming_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput, match=field.replace(".", r"\.")):
        parse_trader_config(raw)


def test_the_writer_flushes_when_idle_every_50_ms_by_default_and_readers_never(
    tmp_path: Path,
) -> None:
    assert parse_trader_config({}).journal.idle_flush_ms == 50
    cfg = parse_trader_config(
        {"trader_id": "t1", "journal": {"url": str(tmp_path / "t.db"), "idle_flush_ms": 30}}
    )
    writer = cfg.journal_options(readonly=False)
    assert (writer.trader_id, writer.readonly, writer.idle_flush_ms) == ("t1", False, 30)
    reader = cfg.journal_options(readonly=True)
    assert (reader.trader_id, reader.readonly, reader.idle_flush_ms) == ("t1", True, 0)
    with open_journal(cfg.journal.url, writer) as j:
        assert isinstance(j, SqliteJournal) and j._keeper is not None
        assert j._keeper.idle_s == pytest.approx(0.030)


def test_live_mode_at_an_unknown_url_needs_the_explicit_flag() -> None:
    with pytest.raises(InvalidInput, match=r"venue\.url.*allow_unknown_url"):
        parse_trader_config(live("https://binance.example.com"))
    parse_trader_config(live("https://binance.example.com", allow_unknown_url=True))
    parse_trader_config({"venue": {"url": "https://binance.example.com"}})  # paper: no orders
    for ok in ("binance", "testnet", "local", "http://127.0.0.1:1234", "http://localhost:9"):
        cfg = parse_trader_config(live(ok))
        assert connector_config(cfg, None).rest_url.startswith(("http://", "https://"))
    usdm = parse_trader_config({"mode": "live", "venue": {"url": "testnet", "market": "usdm"}})
    assert connector_config(usdm, None).rest_url == "https://testnet.binancefuture.com"


def test_credentials_file_must_be_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump({"api_key": "k-123", "api_secret": SECRET}))
    cfg = parse_trader_config({"mode": "live", "credentials": {"file": str(path)}})
    for mode in (0o644, 0o640, 0o604, 0o660):
        path.chmod(mode)
        with pytest.raises(ConfigError, match=rf"{path}.*mode {mode:04o}") as err:
            load_credentials(cfg.credentials)
        assert SECRET not in str(err.value)
    path.chmod(0o600)
    creds = load_credentials(cfg.credentials)
    assert creds.api_secret.get_secret_value() == SECRET and SECRET not in repr(creds)
    path.write_text("api_key: k\napi_secret: [unclosed\n")
    with pytest.raises(ConfigError) as bad:
        load_credentials(cfg.credentials)
    assert "unclosed" not in str(bad.value)


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_trader_config(
        {"mode": "live", "credentials": {"api_key_env": "MY_KEY", "api_secret_env": "MY_SEC"}}
    )
    monkeypatch.delenv("MY_KEY", raising=False)
    monkeypatch.delenv("MY_SEC", raising=False)
    with pytest.raises(ConfigError, match=r"MY_KEY.*MY_SEC"):
        load_credentials(cfg.credentials)
    monkeypatch.setenv("MY_KEY", "k")
    monkeypatch.setenv("MY_SEC", SECRET)
    connector = connector_config(cfg, load_credentials(cfg.credentials))
    assert connector.api_secret is not None and SECRET not in repr(connector)


def _config(tmp_path: Path, **extra: Any) -> Path:
    cfg = {"venue": {"url": "http://127.0.0.1:9"}, "journal": {"url": str(tmp_path / "j.db")},
           **extra}  # fmt: skip
    path = tmp_path / "trader.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_cli_refuses_bad_config_and_readable_secrets_before_starting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("venue: {url: local, colour: red}\n")
    out = run_cli("trade", "--config", str(bad), "--run-for", "1")
    assert out.returncode == 2 and "venue.colour" in out.stderr
    keys = tmp_path / "keys.yaml"
    keys.write_text(yaml.safe_dump({"api_key": "k", "api_secret": SECRET}))
    keys.chmod(0o644)
    cfg = _config(tmp_path, mode="live", credentials={"file": str(keys)})
    out = run_cli("trade", "--config", str(cfg), "--run-for", "1")
    assert out.returncode == 2 and str(keys) in out.stderr and "0644" in out.stderr
    assert SECRET not in out.stderr + out.stdout
    assert not (tmp_path / "j.db").exists()  # nothing was started


def _digest(path: Path) -> str:
    """Hash of every row (the bytes of a WAL database move on checkpoint; the rows may not)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
    finally:
        db.close()


def test_a_journal_of_a_newer_version_is_refused_and_left_intact(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    with open_journal(str(db)) as j:
        j.append(JournalRecord.new(1, time.time_ns(), RecordKind.RECONCILIATION, "account",
                                   {"ok": True}))  # fmt: skip
    with sqlite3.connect(db) as con:
        con.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'",
                    (str(SCHEMA_VERSION + 1),))  # fmt: skip
    before = _digest(db)
    cfg = _config(tmp_path)
    for args in (["trade", "--config", str(cfg), "--run-for", "1"],
                 ["trade", "status", "--config", str(cfg)]):  # fmt: skip
        out = run_cli(*args)
        assert out.returncode == 1, out.stderr
        assert "JournalVersionError" in out.stderr and "upgrade" in out.stderr
    assert _digest(db) == before


def test_reset_breaker_journals_active_and_needs_the_trader_stopped(tmp_path: Path) -> None:
    cfg_path = _config(tmp_path)
    breaker = DrawdownBreaker(0.1, 0.2)
    breaker.update(100.0)
    breaker.update(70.0)
    with open_journal(str(tmp_path / "j.db"), JournalOptions(trader_id="trader")) as j:
        j.append(JournalRecord.new(1, time.time_ns(), RecordKind.BREAKER_TRANSITION, "account",
                                   {"breaker": json.loads(breaker.to_json())}))  # fmt: skip
        cfg = parse_trader_config(yaml.safe_load(cfg_path.read_text()))
        with pytest.raises(JournalLocked):  # a running trader holds the writer lock
            reset_breaker(cfg)
    status = json.loads(run_cli("trade", "status", "--config", str(cfg_path), "--json").stdout)
    assert status["breaker"] == "HALTED"
    out = run_cli("trade", "reset-breaker", "--config", str(cfg_path))
    assert out.returncode == 0 and "HALTED -> ACTIVE" in out.stdout, out.stderr
    status = json.loads(run_cli("trade", "status", "--config", str(cfg_path), "--json").stdout)
    assert status["breaker"] == "ACTIVE" and status["journal_seq"] == 2


def test_help_teaches_with_examples() -> None:
    out = run_cli("trade", "--help")
    assert out.returncode == 0 and "gradtrade trade status --config" in out.stdout
