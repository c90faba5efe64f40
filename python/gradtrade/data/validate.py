"""Validation of incoming candles and funding rates: every rule, and what it did, in a report.

Rules, applied in this order (nothing is dropped without a line in the report):

* missing required columns, or values that are not numbers -> ``InvalidInput`` (nothing written);
* a timestamp that is not on the timeframe's grid (candles only) -> row **rejected**;
* NaN or infinite price, volume or rate -> row **rejected** (we do not invent prices);
* a non-positive price, negative volume -> row **rejected**;
* ``high < low`` -> row **rejected** (the bar is corrupt, no side can be trusted);
* ``high`` below ``max(open, close)`` or ``low`` above ``min(open, close)`` -> **repaired** by
  widening the range to bracket open and close (aggregation rounding);
* timestamps out of order -> **repaired** by sorting;
* the same timestamp twice: identical rows -> **repaired** (one kept); conflicting rows ->
  **repaired** by keeping the last received (a candle re-sent later is the more final one),
  the conflict counted separately.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gradtrade.errors import InvalidInput

log = logging.getLogger(__name__)

PRICE_COLUMNS = ("open", "high", "low", "close")
CANDLE_COLUMNS = ("date", "open", "high", "low", "close", "volume")
FUNDING_COLUMNS = ("date", "rate")
EXTRA_CANDLE_COLUMNS = ("quote_volume", "trades", "taker_buy_base", "taker_buy_quote")


@dataclass
class ValidationReport:
    """What a write did: counts per outcome, rejected timestamps per reason, repairs per rule."""

    series: str
    rows_in: int = 0
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    repaired: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, list[pd.Timestamp]] = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        return sum(len(v) for v in self.rejected.values())

    @property
    def clean(self) -> bool:
        return not self.rejected and not self.repaired

    def reject(self, reason: str, dates: pd.Series) -> None:
        if len(dates):
            self.rejected.setdefault(reason, []).extend(pd.DatetimeIndex(dates).tolist())

    def repair(self, rule: str, count: int) -> None:
        if count:
            self.repaired[rule] = self.repaired.get(rule, 0) + int(count)

    def summary(self) -> str:
        parts = [
            f"{self.series}: {self.rows_in} rows in, {self.rows_new} new, "
            f"{self.rows_updated} updated, {self.rows_unchanged} unchanged"
        ]
        for rule, count in sorted(self.repaired.items()):
            parts.append(f"repaired {count} ({rule})")
        for reason, dates in sorted(self.rejected.items()):
            first = ", ".join(str(d) for d in dates[:3])
            more = f" and {len(dates) - 3} more" if len(dates) > 3 else ""
            parts.append(f"rejected {len(dates)} ({reason}: {first}{more})")
        return "; ".join(parts)

    def log(self) -> None:
        log.log(logging.INFO if self.clean else logging.WARNING, "store write %s", self.summary())


def _utc_dates(values: pd.Series) -> pd.Series:
    try:
        dates = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"column 'date' does not hold timestamps: {exc}") from exc
    return dates.astype("datetime64[ns, UTC]")


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    for name in columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            try:
                frame[name] = pd.to_numeric(frame[name])
            except (ValueError, TypeError) as exc:
                raise InvalidInput(f"column {name!r} holds non-numeric values: {exc}") from exc
        frame[name] = frame[name].astype(np.float64)


def _drop_rows(
    frame: pd.DataFrame, bad: np.ndarray, reason: str, r: ValidationReport
) -> pd.DataFrame:
    if bad.any():
        r.reject(reason, frame.loc[bad, "date"])
        return frame.loc[~bad]
    return frame


def validate_frame(
    frame: pd.DataFrame, *, kind: str, step_ns: int | None, report: ValidationReport
) -> pd.DataFrame:
    """Return the clean rows of ``frame`` (sorted, unique dates), filling ``report``."""
    required = FUNDING_COLUMNS if kind == "funding" else CANDLE_COLUMNS
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{report.series}: missing columns {missing}; need {list(required)}")
    extras = [] if kind == "funding" else [c for c in EXTRA_CANDLE_COLUMNS if c in frame.columns]
    out = frame.loc[:, [*required, *extras]].copy()
    out["date"] = _utc_dates(out["date"])
    value_cols = required[1:]
    _numeric(out, value_cols)
    _numeric(out, tuple(extras))
    report.rows_in += len(out)
    out = _drop_rows(out, out["date"].isna().to_numpy(), "missing timestamp", report)

    if kind != "funding" and step_ns is not None:
        ns = pd.DatetimeIndex(out["date"]).as_unit("ns").asi8
        off_grid = np.asarray(ns % step_ns != 0)
        out = _drop_rows(out, off_grid, "timestamp off the timeframe grid", report)
    finite = np.isfinite(out.loc[:, list(value_cols)].to_numpy()).all(axis=1)
    out = _drop_rows(out, ~finite, "NaN or infinite value", report)
    if kind != "funding":
        prices = out.loc[:, list(PRICE_COLUMNS)].to_numpy()
        non_positive = np.asarray((prices <= 0).any(axis=1))
        out = _drop_rows(out, non_positive, "non-positive price", report)
        out = _drop_rows(out, out["volume"].to_numpy() < 0, "negative volume", report)
        out = _drop_rows(out, (out["high"] < out["low"]).to_numpy(), "high < low", report)
        top = np.maximum(out["open"].to_numpy(), out["close"].to_numpy())
        bottom = np.minimum(out["open"].to_numpy(), out["close"].to_numpy())
        report.repair("high widened to max(open, close)", int((out["high"] < top).sum()))
        report.repair("low widened to min(open, close)", int((out["low"] > bottom).sum()))
        out["high"] = np.maximum(out["high"].to_numpy(), top)
        out["low"] = np.minimum(out["low"].to_numpy(), bottom)

    ns = pd.DatetimeIndex(out["date"]).as_unit("ns").asi8
    if len(ns) > 1 and (np.diff(ns) < 0).any():
        report.repair("out-of-order timestamps sorted", int((np.diff(ns) < 0).sum()))
        out = out.sort_values("date", kind="stable")
    dup = out["date"].duplicated(keep="last").to_numpy()
    if dup.any():
        exact = out.duplicated(keep="last").to_numpy()
        report.repair("identical duplicate rows collapsed", int(exact.sum()))
        report.repair("conflicting duplicates: last received kept", int((dup & ~exact).sum()))
        out = out.loc[~dup]
    return out.reset_index(drop=True)


__all__ = [
    "CANDLE_COLUMNS",
    "EXTRA_CANDLE_COLUMNS",
    "FUNDING_COLUMNS",
    "ValidationReport",
    "validate_frame",
]
