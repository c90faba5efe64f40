"""The connector config never shows its key or secret: not in a YAML syntax error (which quotes
the offending line), not when a credential is pasted into another field, not on the terminal of
the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradtrade.errors import ConfigError
from gradtrade.venue.config import ConnectorConfig

REPO = Path(__file__).resolve().parents[2]
KEY, SECRET = "AKEYabcdef1234567890", "SSECRETzyxw9876543210"
HEAD = f"rest_url: http://127.0.0.1:1\nws_url: ws://127.0.0.1:1\napi_key: {KEY}\n"

BROKEN = {
    "unterminated quote": HEAD + f'api_secret: "{SECRET}\ntimeout_s: 5\n',
    "colon in a plain value": HEAD + f"api_secret: {SECRET}: x\n",
    "tab indentation": HEAD + f"api_secret:\n\t{SECRET}\n",
    "bad flow mapping": HEAD + f"api_secret: {{{SECRET}\n",
    "secret in another field": HEAD + f"api_secret: {SECRET}\ntimeout_s: {SECRET}\n",
    "secret under a misspelt key": HEAD + f"api_sercet: {SECRET}\n",
    "secret as a list": HEAD + f"api_secret: [{SECRET}]\n",
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_no_config_error_shows_a_credential(tmp_path: Path, text: str) -> None:
    path = tmp_path / "conn.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        ConnectorConfig.from_file(path)
    message = str(err.value)
    assert str(path) in message and ("line" in message or "conn.yaml:\n  " in message)
    assert SECRET not in message and KEY not in message
    assert SECRET[:8] not in message and KEY[:8] not in message  # not even a prefix


def test_the_cli_terminal_never_shows_a_credential(tmp_path: Path) -> None:
    path = tmp_path / "conn.yaml"
    path.write_text(BROKEN["unterminated quote"])
    result = subprocess.run(
        [sys.executable, "-m", "gradtrade", "download", "--symbol", "BTC/USDT", "--timeframe",
         "1h", "--since", "2024-01-01", "--config", str(path), "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO / "python")},
    )  # fmt: skip
    shown = result.stdout + result.stderr
    assert result.returncode == 1, shown
    assert f"FAIL ConfigError: config {path} is not valid YAML: line" in shown
    assert SECRET[:8] not in shown and KEY[:8] not in shown


def test_a_valid_file_keeps_its_secrets_usable(tmp_path: Path) -> None:
    path = tmp_path / "conn.yaml"
    path.write_text(HEAD + f"api_secret: {SECRET}\n")
    config = ConnectorConfig.from_file(path)
    assert config.secret_values() == [KEY, SECRET]
    assert SECRET not in repr(config) and KEY not in str(config)


def test_backoff_bounds_are_ordered() -> None:
    with pytest.raises(ConfigError, match=r"backoff_base_s .* must not exceed backoff_max_s"):
        ConnectorConfig.for_url("http://127.0.0.1:1", backoff_base_s=10, backoff_max_s=1)
