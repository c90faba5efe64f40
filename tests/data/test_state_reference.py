"""The state rows (``core.StateRows`` behind ``StateTransformer``) against an independent NumPy
reference on real data: the spot 1h file's outages and the USD-M funding events."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gradtrade.core import StateNormalization
from gradtrade.data.state import StateFrame, StateTransformer
from gradtrade.errors import InvalidInput

NS_PER_HOUR, NS_PER_DAY = 3_600_000_000_000, 86_400_000_000_000


def reference_columns(
    frame: StateFrame, candles: pd.DataFrame, funding: pd.DataFrame | None
) -> dict[str, np.ndarray]:
    """The columns after the streaming features, computed over the whole grid with NumPy."""
    opens = frame.times_ns - NS_PER_HOUR
    by_open = candles.set_index(pd.DatetimeIndex(candles["date"]).as_unit("ns").asi8)
    bars = by_open.reindex(opens)
    present = bars["close"].notna().to_numpy()
    if funding is None:
        times, rates = np.empty(0, np.int64), np.empty(0)
    else:
        times = pd.DatetimeIndex(funding["date"]).as_unit("ns").round("s").asi8
        rates = funding["rate"].to_numpy()
    at_open = np.searchsorted(times, opens, side="right")
    at_close = np.searchsorted(times, opens + NS_PER_HOUR, side="right")
    sums = np.concatenate(([0.0], np.cumsum(rates)))
    count = at_close - at_open
    # one event in a bar (the rule) is paid at its exact rate; several, as a sum
    single = np.concatenate((rates, [0.0]))[np.minimum(at_open, len(rates))]
    paid = np.where(count == 1, single, sums[at_close] - sums[at_open])
    paid[count == 0] = 0.0
    hours = (opens % NS_PER_DAY) / NS_PER_HOUR * (2 * np.pi / 24)
    days = ((opens // NS_PER_DAY + 3) % 7) * (2 * np.pi / 7)
    return {
        "hl_range": np.log(bars["high"].to_numpy() / bars["low"].to_numpy()),
        "funding_rate": np.concatenate(([0.0], rates))[at_close],
        "paid": paid,
        "hour_sin": np.sin(hours),
        "hour_cos": np.cos(hours),
        "dow_sin": np.sin(days),
        "dow_cos": np.cos(days),
        "missing_bar": (~present).astype(float),
        "after_gap": (present & ~np.concatenate(([True], present[:-1]))).astype(float),
    }


@pytest.mark.parametrize("which", ["spot outages", "usdm funding"])
def test_rows_match_a_numpy_reference_on_real_data(
    which: str,
    btc_1h: pd.DataFrame,
    futures_1h: pd.DataFrame,
    funding_events: pd.DataFrame,
) -> None:
    if which == "spot outages":
        candles, funding = btc_1h, None
    else:
        window = (futures_1h["date"] >= "2023-06-01") & (futures_1h["date"] < "2024-03-01")
        candles, funding = futures_1h.loc[window].reset_index(drop=True), funding_events
    frame = StateTransformer().transform(candles, funding)
    want = reference_columns(frame, candles, funding)
    for name, expected in want.items():
        got = frame.funding if name == "paid" else frame.raw[:, frame.names.index(name)]
        # NumPy's own log may differ from the C library's in the last bit; the rest is exact
        rtol = 1e-15 if name == "hl_range" else 0.0
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=0, err_msg=name)
    if funding is not None:
        assert np.count_nonzero(frame.funding) > 700  # the events of nine months were paid


def test_normalization_matches_a_numpy_reference(btc_1h: pd.DataFrame) -> None:
    transformer = StateTransformer()
    frame = transformer.transform(btc_1h)
    transformer.fit(frame, train_end=len(frame) // 2)
    assert transformer.center is not None and transformer.scale is not None
    raw = frame.raw.copy()
    raw[5, 0], raw[6, 1] = np.inf, -np.inf  # winsorized like any large value
    clip, scaled = transformer.config.clip, transformer._scaled
    z = (raw - transformer.center) / transformer.scale
    z = np.where(scaled, np.clip(z, -clip, clip), z)
    z = np.nan_to_num(z, nan=0.0, posinf=clip, neginf=-clip)
    z[~frame.warm] = np.nan
    got = transformer.normalize(StateFrame(frame.times_ns, raw, frame.names, frame.returns,
                                           frame.funding, frame.missing, frame.warm))  # fmt: skip
    np.testing.assert_array_equal(got, z.astype(np.float32))


def test_restored_live_state_is_validated_like_new(btc_1h: pd.DataFrame) -> None:
    transformer = StateTransformer()
    transformer.transform(btc_1h.iloc[:300])
    good = json.loads(transformer.to_json(include_live_state=True))
    StateTransformer.from_json(json.dumps(good))  # the unchanged document loads

    def broken(**live: object) -> str:
        doc = json.loads(json.dumps(good))
        doc["live"].update(live)
        return json.dumps(doc)

    other = StateTransformer(transformer.config.__class__(ewma_halflives=(6.0, 48.0)))
    other_features = json.loads(other.to_json(include_live_state=True))["live"]["features"]
    cases = {
        "grid": broken(last_open_ns=good["live"]["last_open_ns"] + 1),
        "finite": broken(last_rate=float("inf")),
        "increasing": broken(funding_ns=[2, 1], funding_rate=[0.0, 0.0]),
        "same length": broken(funding_ns=[1], funding_rate=[0.0, 1.0]),
        "configuration": broken(features=other_features),
        "StreamingFeatures": broken(features="{}"),
    }
    for match, text in cases.items():
        with pytest.raises(InvalidInput, match=match):
            StateTransformer.from_json(text)


def test_bad_funding_is_refused_and_changes_nothing(btc_1h: pd.DataFrame) -> None:
    transformer = StateTransformer()
    transformer.transform(btc_1h.iloc[:100])
    hour = pd.Timedelta(hours=1)
    start = btc_1h["date"].iloc[100]
    unsorted = pd.DataFrame({"date": [start + 2 * hour, start + hour], "rate": [1e-4, 1e-4]})
    with pytest.raises(InvalidInput, match="increasing"):
        transformer.add_funding(unsorted)
    nan = pd.DataFrame({"date": [start + hour], "rate": [float("nan")]})
    with pytest.raises(InvalidInput, match="finite"):
        transformer.add_funding(nan)
    rows = transformer.update(btc_1h.iloc[100:110])
    assert (rows.funding == 0).all()


def test_the_normalization_refuses_statistics_it_cannot_use() -> None:
    ok = (np.zeros(3), np.ones(3), np.array([True, False, True]))
    StateNormalization(*ok, 5.0)
    with pytest.raises(InvalidInput, match="scale"):
        StateNormalization(np.zeros(3), np.array([1.0, 0.0, 1.0]), ok[2], 5.0)
    with pytest.raises(InvalidInput, match="clip"):
        StateNormalization(*ok, float("nan"))
    with pytest.raises(InvalidInput, match="same length"):
        StateNormalization(np.zeros(3), np.ones(2), ok[2], 5.0)
