"""``gradtrade demo``: the whole system offline (see :mod:`gradtrade.demo.cli`)."""

from __future__ import annotations

from gradtrade.demo.cli import demo

__all__ = ["demo"]
