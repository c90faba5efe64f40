"""Faults on demand: what the next requests, orders and websocket frames should suffer.

Tests arm a fault on the running server (``server.faults.fail_rest(...)`` in-process, or
``POST /_gradtrade/faults`` with the same fields as JSON for a server in another process); each
armed fault fires a bounded number of times and then disarms itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gradtrade.errors import InvalidInput
from gradtrade.local_exchange.errors import ApiError, too_many_requests


@dataclass
class RestFault:
    status: int
    count: int
    retry_after: int
    path_prefix: str


@dataclass
class Faults:
    """Armed faults. Every field is read by the part of the server it concerns."""

    rest: list[RestFault] = field(default_factory=list)
    clock_skew_ms: int = 0
    ack_delay_s: float = 0.0
    reject_orders: int = 0
    depth_gaps: dict[str, int] = field(default_factory=dict)  # "venue:SYMBOL" -> diffs to skip
    on_drop: Callable[[str], int] | None = None  # set by the websocket hub
    on_stall: Callable[[float, str], int] | None = None

    def drop_websockets(self, path_prefix: str = "") -> int:
        """Close every open websocket under ``path_prefix`` abruptly; returns how many."""
        return self.on_drop(path_prefix) if self.on_drop else 0

    def stall_websockets(self, seconds: float, path_prefix: str = "") -> int:
        """Hold every outgoing frame of open websockets for ``seconds`` (frames queue up)."""
        return self.on_stall(seconds, path_prefix) if self.on_stall else 0

    def fail_rest(
        self, status: int = 429, count: int = 1, retry_after: int = 1, path_prefix: str = ""
    ) -> None:
        """Answer the next ``count`` REST requests under ``path_prefix`` with ``status``
        (429/418 carry Retry-After and code -1003; 5xx carry an empty-ish Binance body)."""
        if status not in (418, 429) and not 500 <= status <= 599:
            raise InvalidInput(f"REST fault status must be 418, 429 or 5xx, not {status}")
        self.rest.append(RestFault(status, count, retry_after, path_prefix))

    def skew_clock(self, ms: int) -> None:
        """Shift the server clock by ``ms``: signed requests then fail with -1021."""
        self.clock_skew_ms = ms

    def delay_acks(self, seconds: float) -> None:
        """Hold the REST answer to every new order for ``seconds``; the order itself is placed
        (or refused) at once, as when Binance's answer is lost or late."""
        self.ack_delay_s = seconds

    def reject_next_orders(self, count: int = 1) -> None:
        """Reject the next ``count`` orders with -2010 insufficient balance."""
        self.reject_orders = count

    def skip_depth_diff(self, symbol: str, venue: str = "spot", count: int = 1) -> None:
        """Apply the next ``count`` depth diffs to the book without publishing them (a gap)."""
        key = f"{venue}:{symbol.upper()}"
        self.depth_gaps[key] = self.depth_gaps.get(key, 0) + count

    def take_rest(self, path: str) -> ApiError | None:
        for fault in self.rest:
            if path.startswith(fault.path_prefix) and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.rest.remove(fault)
                if fault.status in (418, 429):
                    return too_many_requests(fault.retry_after, banned=fault.status == 418)
                return ApiError(
                    -1000 if fault.status != 503 else -1008,
                    "An unknown error occurred while processing the request."
                    if fault.status != 503
                    else "Server is currently overloaded with other requests. "
                    "Please try again in a few minutes.",
                    status=fault.status,
                    headers={"Retry-After": str(fault.retry_after)},
                )
        return None

    def take_depth_gap(self, venue: str, symbol: str) -> bool:
        key = f"{venue}:{symbol}"
        left = self.depth_gaps.get(key, 0)
        if left <= 0:
            return False
        self.depth_gaps[key] = left - 1
        return True

    def take_reject(self) -> bool:
        if self.reject_orders > 0:
            self.reject_orders -= 1
            return True
        return False

    def clear(self) -> None:
        self.rest.clear()
        self.clock_skew_ms = 0
        self.ack_delay_s = 0.0
        self.reject_orders = 0
        self.depth_gaps.clear()

    def arm(self, spec: dict[str, Any]) -> None:
        """Arm a fault from its JSON description (the control endpoint's body). Every value is
        checked against ``BOUNDS`` and unknown fields are refused, so a typo or an absurd
        value (``count=-1``, ``seconds=1e308``) is an InvalidInput naming it."""
        raw_kind = spec.get("kind")
        args = {k: v for k, v in spec.items() if k != "kind"}
        allowed = FIELDS.get(raw_kind) if isinstance(raw_kind, str) else None
        if allowed is None or not isinstance(raw_kind, str):
            raise InvalidInput(f"unknown fault kind {raw_kind!r}; one of {', '.join(FIELDS)}")
        kind = raw_kind
        unknown = set(args) - set(allowed)
        if unknown:
            raise InvalidInput(f"fault {kind!r} takes {sorted(allowed)}, not {sorted(unknown)}")
        missing = [k for k in REQUIRED.get(kind, ()) if k not in args]
        if missing:
            raise InvalidInput(f"fault {kind!r} needs {missing}")
        v: dict[str, Any] = {k: _checked(kind, k, x) for k, x in args.items()}
        if kind == "rest":
            self.fail_rest(**v)
        elif kind == "clock_skew":
            self.skew_clock(int(v["ms"]))
        elif kind == "ack_delay":
            self.delay_acks(float(v["seconds"]))
        elif kind == "reject_orders":
            self.reject_next_orders(int(v.get("count", 1)))
        elif kind == "depth_gap":
            self.skip_depth_diff(**v)
        elif kind == "drop_ws":
            self.drop_websockets(str(v.get("path_prefix", "")))
        elif kind == "stall_ws":
            self.stall_websockets(float(v["seconds"]), str(v.get("path_prefix", "")))
        else:
            self.clear()


# fault kind -> the fields it takes; REQUIRED: those without a default
FIELDS: dict[str, tuple[str, ...]] = {
    "rest": ("status", "count", "retry_after", "path_prefix"),
    "clock_skew": ("ms",),
    "ack_delay": ("seconds",),
    "reject_orders": ("count",),
    "depth_gap": ("symbol", "venue", "count"),
    "drop_ws": ("path_prefix",),
    "stall_ws": ("seconds", "path_prefix"),
    "clear": (),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "clock_skew": ("ms",),
    "ack_delay": ("seconds",),
    "depth_gap": ("symbol",),
    "stall_ws": ("seconds",),
}
# field -> (type, lowest, highest) for numbers, (str, max length) for text
BOUNDS: dict[str, tuple[Any, ...]] = {
    "status": (int, 418, 599),
    "count": (int, 1, 100_000),
    "retry_after": (int, 0, 86_400),
    "ms": (int, -366 * 86_400_000, 366 * 86_400_000),  # a year: benches step 1h bars
    "seconds": (float, 0.0, 600.0),
    "path_prefix": (str, 200),
    "symbol": (str, 20),
    "venue": (str, 4),
}


def _checked(kind: str, name: str, value: Any) -> Any:
    bound = BOUNDS[name]
    if bound[0] is str:
        if not isinstance(value, str) or len(value) > bound[1]:
            raise InvalidInput(f"fault {kind!r}: {name} must be text of at most {bound[1]} chars")
        if name == "venue" and value not in ("spot", "usdm"):
            raise InvalidInput(f"fault {kind!r}: venue must be 'spot' or 'usdm', not {value!r}")
        return value
    typ, lo, hi = bound
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if typ is int:
        ok = ok and float(value).is_integer()
    if not ok or not lo <= value <= hi:
        raise InvalidInput(
            f"fault {kind!r}: {name} must be a number in [{lo}, {hi}], not {value!r}"
        )
    return typ(value)
