"""Request-parameter parsing with Binance's error codes for missing or malformed values."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from gradtrade.local_exchange.errors import ILLEGAL_CHARS, ApiError, mandatory

Params = dict[str, str]

_INT = re.compile(r"^[0-9]{1,20}$")  # Binance's integers are unsigned: "-1" is illegal
_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")


def req(params: Params, name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise mandatory(name)
    return value


def opt_int(params: Params, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if not _INT.match(value):
        raise ApiError(
            ILLEGAL_CHARS,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
        )
    return int(value)


def limit_param(params: Params, default: int) -> int:
    """``limit``: unsigned (else -1100); 0 or absent means the endpoint's default."""
    return opt_int(params, "limit", default) or default


def req_int(params: Params, name: str) -> int:
    value = opt_int(params, name)
    if value is None:
        raise mandatory(name)
    return value


def opt_decimal(params: Params, name: str) -> Decimal | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not _DECIMAL.match(value):
        raise ApiError(
            ILLEGAL_CHARS,
            f"Illegal characters found in parameter '{name}'; "
            "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        )
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
        raise mandatory(name) from exc
