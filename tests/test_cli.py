from __future__ import annotations

import subprocess
import sys

import gradtrade


def test_version_and_selfcheck() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gradtrade", "--version"], capture_output=True, text=True, check=True
    )
    assert gradtrade.__version__ in out.stdout
    check = subprocess.run(
        [sys.executable, "-m", "gradtrade", "selfcheck"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "OK" in check.stdout


def test_every_layer_command_resolves_and_teaches() -> None:
    from click.testing import CliRunner

    from gradtrade.cli import LAZY_COMMANDS, main

    runner = CliRunner()
    listing = runner.invoke(main, ["--help"])
    assert listing.exit_code == 0, listing.output
    for name in LAZY_COMMANDS:
        assert name in listing.output
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output and len(result.output.splitlines()) > 4, result.output
    unknown = runner.invoke(main, ["no-such-command"])
    assert unknown.exit_code != 0 and "No such command" in unknown.output
