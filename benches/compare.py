"""Measure gradtrade against the tools a user would otherwise pick, in one run, on the same data.

Each ``compare_<section>.py`` beside this file exposes ``run(data_dir: Path, quick: bool) -> str``
returning the Markdown of its section (a table of timings and the ratio against the anchor
tool). This script runs the requested sections and rewrites them in ``benches/RESULTS.md``
between ``<!-- BEGIN section -->`` and ``<!-- END section -->``, stamped with the command, the
date and the machine, so every figure there can be reproduced.

    python benches/compare.py                  # every section
    python benches/compare.py orderbook kalman # some sections
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTIONS = [
    "orderbook",
    "kalman",
    "risk",
    "exchange",
    "data",
    "model",
    "decision",
    "journal",
    "flush",
    "backtest",
    "l2",
    "trader",
]


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _replace_section(text: str, section: str, body: str) -> str:
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip() + "\n\n" + block + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("sections", nargs="*", default=None, help=f"any of {SECTIONS}")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("GRADTRADE_TEST_DATA", HERE.parent.parent / "shared" / "data")),
        help="recorded Binance data (default: $GRADTRADE_TEST_DATA or ../shared/data)",
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args(argv)
    chosen = args.sections or [s for s in SECTIONS if (HERE / f"compare_{s}.py").exists()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {SECTIONS}")
    if not (args.data / "README.md").exists():
        parser.error(f"recorded data not found at {args.data} (use --data)")

    sys.path.insert(0, str(HERE))
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    command = "python benches/compare.py " + " ".join(chosen) + (" --quick" if args.quick else "")
    stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {_machine()}"
    for section in chosen:
        module = importlib.import_module(f"compare_{section}")
        body = module.run(args.data, args.quick)
        body = f"Reproduce: `{command}` ({stamp})\n\n{body}"
        print(f"## {section}\n{body}\n")
        text = _replace_section(text, section, body)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
