"""Binance's error model: a JSON body ``{"code": -XXXX, "msg": "..."}`` with an HTTP status.

Codes and messages are Binance's own (``binance-spot-errors.md`` in the shared reference data);
handlers raise :class:`ApiError` and the server turns it into the response, so a bad request never
surfaces as a stack trace. Messages never contain API keys or secrets.
"""

from __future__ import annotations

from typing import Final


class ApiError(Exception):
    """A request the exchange refuses, answered as Binance does."""

    def __init__(
        self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


UNKNOWN: Final = -1000
DISCONNECTED: Final = -1001
UNAUTHORIZED: Final = -1002
TOO_MANY_REQUESTS: Final = -1003
INVALID_MESSAGE: Final = -1013
INVALID_TIMESTAMP: Final = -1021
INVALID_SIGNATURE: Final = -1022
ILLEGAL_CHARS: Final = -1100
MANDATORY_PARAM: Final = -1102
PARAM_EMPTY: Final = -1105
BAD_PRECISION: Final = -1111
INVALID_TIF: Final = -1115
INVALID_ORDER_TYPE: Final = -1116
INVALID_SIDE: Final = -1117
BAD_INTERVAL: Final = -1120
BAD_SYMBOL: Final = -1121
INVALID_PARAMETER: Final = -1130
NEW_ORDER_REJECTED: Final = -2010
CANCEL_REJECTED: Final = -2011
NO_SUCH_ORDER: Final = -2013
BAD_API_KEY_FMT: Final = -2014
REJECTED_MBX_KEY: Final = -2015


def mandatory(name: str) -> ApiError:
    return ApiError(
        MANDATORY_PARAM, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def invalid_param(name: str) -> ApiError:
    return ApiError(INVALID_PARAMETER, f"Data sent for parameter '{name}' is not valid.")


def bad_symbol() -> ApiError:
    return ApiError(BAD_SYMBOL, "Invalid symbol.")


def filter_failure(name: str) -> ApiError:
    return ApiError(INVALID_MESSAGE, f"Filter failure: {name}")


def order_rejected(msg: str) -> ApiError:
    return ApiError(NEW_ORDER_REJECTED, msg)


def insufficient_balance() -> ApiError:
    return order_rejected("Account has insufficient balance for requested action.")


def too_many_requests(retry_after: int, banned: bool = False) -> ApiError:
    if banned:
        return ApiError(
            TOO_MANY_REQUESTS,
            "Way too much request weight used; IP banned until further notice. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            status=418,
            headers={"Retry-After": str(retry_after)},
        )
    return ApiError(
        TOO_MANY_REQUESTS,
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        status=429,
        headers={"Retry-After": str(retry_after)},
    )
