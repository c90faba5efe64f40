"""No public entry point of ``gradtrade._core`` panics or aborts, whatever its arguments.

Invariant: calling any method, static method, property or constructor of any class of the
extension (and any module-level function) with extreme arguments raises only the classes of
``gradtrade.errors`` (an int outside an integer parameter's range or beyond the float range,
a string without a UTF-8 form are ``InvalidInput``) or ``TypeError`` for an argument of the
wrong type. Never
``PanicException`` (a ``BaseException`` that ``except Exception`` misses), ``OverflowError``,
``MemoryError``, a bare ``ValueError``, or an abort of the process.

Everything is enumerated by introspection, so a new method or class is called without a change
here; a new class needs sample instances in ``SAMPLES`` (the test fails until it has them).
The calls run in a child process with a capped address space: an abort, or an allocation sized
by an argument, ends the child and fails the test instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHILD = textwrap.dedent(
    r"""
    import inspect, json, resource, sys

    # An argument-sized allocation must fail the run, not swap the machine.
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    import numpy as np
    import gradtrade._core as core
    from gradtrade.errors import GradtradeError

    EXTREMES = [
        0, 1, -1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, -(10**30), 10**400,
        float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 5e-324, -0.0,
        True, "", "0", "-1", "nan", "1e400", "x" * 200_000, "\x00", "\ud800",
        b"", b"\xff\xfe", b"{" * 10_000, bytearray(b"[]"), None, [], [[]],
        [[1e308, 1e308]], [("1", "1")] * 3, {}, object(),
        np.array([]), np.full((3, 2), np.nan), np.zeros((0, 2)), np.ones((2, 2)) * 1e308,
        np.array([1.0, np.inf]), core.Side.BUY, core.OrderStatus.NEW,
    ]

    def filters():
        return core.SymbolFilters("BTCUSDT", "0.01", "0.00001", min_qty="0.00001",
                                  quote_asset="USDT", base_asset="BTC")

    def limits():
        return core.RiskLimits(max_order_notional=1e5, max_position=1.0, max_leverage=3.0,
                               max_open_orders=10, max_orders_per_second=5,
                               price_band_bps=50.0, reduce_drawdown=0.05, halt_drawdown=0.1)

    def state_rows():
        rows = core.StateRows(core.StreamingFeatures(), 1)
        rows.add_funding(np.array([3_600_000_000_000], dtype=np.int64), np.array([1e-4]))
        opens = np.arange(3, dtype=np.int64) * 3_600_000_000_000
        rows.process(opens, 3_600_000_000_000, np.full((3, 6), 100.0), np.ones(3, dtype=bool))
        return rows

    def synced_book():
        b = core.OrderBook("BTCUSDT", "0.01", "0.00001", "spot")
        b.apply_snapshot(10, [("100.00", "1.0")], [("100.02", "2.0")])
        return b

    def gapped_book():
        b = synced_book()
        try:
            b.apply_diff(50, 60, [], [])
        except GradtradeError:
            pass
        return b

    def filled_order():
        o = core.Order("t-1-1", filters(), core.Side.BUY, 1.0, 100.0)
        o.acknowledge(7)
        o.apply_fill(1, 0.5, 100.0, 0.001, "BTC", 1)
        return o

    def position():
        p = core.Position(filters())
        p.apply_fill(core.Side.BUY, 1.0, 100.0, 0.1, "USDT")
        return p

    def kalman():
        k = core.KalmanFilter.local_level(1e-4, 1e-2)
        k.update(1.0)
        return k

    SNAP = b'{"lastUpdateId":10,"bids":[["100.00","0.005"]],"asks":[["100.01","0.002"]]}'
    DIFF = (b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT",'
            b'"U":11,"u":11,"b":[["99.99","0.003"]],"a":[]}}')
    TRADE = (b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1,'
             b'"p":"100.00","q":"0.01","T":1,"m":true,"M":true}}')
    FRAMES = [(1, SNAP), (2, DIFF), (3, TRADE)]

    def l2_config():
        return core.L2VenueConfig(maker_fee_rate=0.0002, queue=core.QueueModel.probabilistic(2.0),
                                  entry_latency=core.Latency.constant(1),
                                  cancel_latency=core.Latency.table(
                                      np.array([0, 10], np.int64), np.array([1, 2], np.int64)))

    def venue():
        # Synced, one fill (the market order), one order resting (the limit).
        v = core.L2Venue("BTCUSDT", "0.01", "0.001", l2_config())
        for t, raw in FRAMES:
            v.process(t, core.frame_kind(raw), raw)
        v.submit(4, "m", core.Side.BUY, core.OrderType.MARKET, 0.001)
        v.submit(4, "r", core.Side.BUY, core.OrderType.LIMIT, 0.001, 99.0)
        v.advance_to(10)
        return v

    def recording():
        r = core.Recording.from_frames(FRAMES)
        r.rewind()
        return r

    def bar():
        return core.Bar(100.0, 101.0, 99.0, 100.5, 1000.0)

    def native_model(kind):
        # n_state 2, hidden 3, latent 2, field hidden 2, policy hidden 2
        shapes = {"encoder.gru.weight_ih_l0": (9, 4), "encoder.gru.weight_hh_l0": (9, 3),
                  "encoder.gru.bias_ih_l0": (9,), "encoder.gru.bias_hh_l0": (9,),
                  "encoder.out.weight": (2, 3), "encoder.out.bias": (2,),
                  "heads.linear.weight": (6, 2), "heads.linear.bias": (6,),
                  "heads.ret_scale": (), "policy.net.0.weight": (2, 4), "policy.net.0.bias": (2,),
                  "policy.net.2.weight": (1, 2), "policy.net.2.bias": (1,),
                  "policy.vol_target": (), "baseline_center": (), "baseline_scale": ()}
        if kind == "ode":
            shapes.update({"field.net.0.weight": (2, 3), "field.net.0.bias": (2,),
                           "field.net.2.weight": (2, 2), "field.net.2.bias": (2,),
                           "field.net.4.weight": (2, 2), "field.net.4.bias": (2,)})
        else:
            shapes.update({"cell.weight_ih": (6, 2), "cell.weight_hh": (6, 2),
                           "cell.bias_ih": (6,), "cell.bias_hh": (6,)})
        config = core.NativeModelConfig(n_state=2, kind=kind, variance_head="residual",
                                        baseline_column=1, policy_prior="vol_target")
        return core.NativeModel(config, {k: np.full(s, 0.1) for k, s in shapes.items()})

    SAMPLES = {
        "OrderBook": [lambda: core.OrderBook("BTCUSDT", "0.01", "0.00001"), synced_book,
                      gapped_book],
        "KalmanFilter": [kalman, lambda: core.KalmanFilter.local_linear_trend(1e-4, 1e-6, 1e-2)],
        "KalmanFit": [lambda: core.KalmanFilter.local_level(1e-4, 1e-2).fit(
            np.cumsum(np.random.default_rng(0).normal(size=64)))],
        "StreamingFeatures": [lambda: core.StreamingFeatures()],
        "StateRows": [lambda: core.StateRows(core.StreamingFeatures()), state_rows],
        "StateNormalization": [lambda: core.StateNormalization(
            np.zeros(3), np.ones(3), np.array([True, False, True]), 5.0)],
        "Ewma": [lambda: core.Ewma(10.0)],
        "RollingVolatility": [lambda: core.RollingVolatility(5)],
        "RiskLimits": [limits],
        "SymbolFilters": [filters],
        "Decision": [lambda: core.RiskEngine(limits(), filters()).check(
            core.Side.BUY, 0.01, 100.0, 100.0, 0.0, 0, 1e4, 0)],
        "DrawdownBreaker": [lambda: core.DrawdownBreaker(0.05, 0.1)],
        "RiskEngine": [lambda: core.RiskEngine(limits(), filters())],
        "PositionSizer": [lambda: core.PositionSizer(filters(), kelly_fraction=0.5,
                                                     target_vol=0.2, max_leverage=3.0)],
        "Order": [lambda: core.Order("t-1-1", filters(), core.Side.SELL, 1.0, 100.0),
                  filled_order],
        "Position": [lambda: core.Position(filters()), position],
        "Market": [lambda: core.Market.SPOT],
        "TradingState": [lambda: core.TradingState.ACTIVE],
        "RejectReason": [lambda: core.RejectReason.HALTED],
        "Side": [lambda: core.Side.BUY],
        "OrderType": [lambda: core.OrderType.LIMIT],
        "TimeInForce": [lambda: core.TimeInForce.GTC],
        "OrderStatus": [lambda: core.OrderStatus.NEW],
        "Bar": [bar],
        "CandleFillConfig": [lambda: core.CandleFillConfig(),
                             lambda: core.CandleFillConfig(fill_at=core.FillAt.DECISION_CLOSE)],
        "CandleFill": [lambda: core.CandleFillConfig().market_fill(core.Side.BUY, 1.0, bar(),
                                                                   0.01)],
        "FillAt": [lambda: core.FillAt.NEXT_OPEN],
        "FillReason": [lambda: core.FillReason.STOP],
        "Liquidity": [lambda: core.Liquidity.MAKER],
        "FrameKind": [lambda: core.FrameKind.DEPTH],
        "BookStatus": [lambda: core.BookStatus.SYNCED],
        "VenueReject": [lambda: core.VenueReject.BOOK_NOT_SYNCED],
        "QueueModel": [core.QueueModel.risk_averse, lambda: core.QueueModel.probabilistic(2.0)],
        "Latency": [lambda: core.Latency.constant(5),
                    lambda: core.Latency.table(np.array([0, 10], np.int64),
                                               np.array([1, 3], np.int64))],
        "L2VenueConfig": [lambda: core.L2VenueConfig(), l2_config],
        "L2Venue": [lambda: core.L2Venue("BTCUSDT", "0.01", "0.001", core.L2VenueConfig()),
                    venue],
        "Recording": [recording],
        "NativeModelConfig": [lambda: core.NativeModelConfig(n_state=2, kind="ode"),
                              lambda: core.NativeModelConfig(n_state=3, kind="gru")],
        "NativeModel": [lambda: native_model("ode"), lambda: native_model("gru")],
        "SimFill": [lambda: venue().take_fills()[0]],
        "VenueOrderEvent": [lambda: venue().take_order_events()[0]],
        "BookEvent": [lambda: venue().take_book_events()[0]],
    }

    ALLOWED = (GradtradeError, TypeError)
    SKIP = {"__class__", "__init_subclass__", "__subclasshook__", "__new__", "__init__",
            "__getattribute__", "__setattr__", "__delattr__", "__reduce__", "__reduce_ex__",
            "__getstate__", "__dir__", "__format__", "__sizeof__", "__doc__", "__module__",
            "__text_signature__", "__dict__", "__weakref__"}
    failures = []
    calls = 0

    def attempt(label, fn, *args, **kwargs):
        global calls
        calls += 1
        try:
            fn(*args, **kwargs)
        except ALLOWED:
            pass
        except BaseException as exc:  # PanicException, MemoryError, a bare ValueError, ...
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")

    def params(fn):
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return None
        return [p for p in sig.parameters.values() if p.name not in ("self", "cls", "$self")]

    def sane(p):
        if p.default is not inspect.Parameter.empty:
            return p.default
        return 1

    def call_all_ways(label, fn):
        ps = params(fn)
        if ps is None:
            for n in range(4):
                for e in EXTREMES:
                    attempt(f"{label}({n} x {e!r:.40})", fn, *([e] * n))
            return
        def invoke(values):
            args = [v for p, v in zip(ps, values) if p.kind is not p.KEYWORD_ONLY]
            kwargs = {p.name: v for p, v in zip(ps, values) if p.kind is p.KEYWORD_ONLY}
            attempt(f"{label}{tuple(values)!r:.120}", fn, *args, **kwargs)
        base = [sane(p) for p in ps]
        invoke(base)
        for e in EXTREMES:
            invoke([e] * len(ps))
            for i in range(len(ps)):
                values = list(base)
                values[i] = e
                invoke(values)

    missing = [name for name in dir(core) if isinstance(getattr(core, name), type)
               and name not in SAMPLES]
    if missing:
        failures.append(f"classes without SAMPLES: {missing}")

    for name in dir(core):
        obj = getattr(core, name)
        if callable(obj) and not isinstance(obj, type):
            call_all_ways(name, obj)

    for cls_name, factories in SAMPLES.items():
        cls = getattr(core, cls_name)
        if "__new__" in cls.__dict__ and cls.__text_signature__ is not None:
            call_all_ways(f"{cls_name}()", cls)
        for attr in sorted(set(dir(cls)) - SKIP):
            static = isinstance(inspect.getattr_static(cls, attr), staticmethod)
            for factory in factories:
                instance = factory()
                try:
                    member = getattr(instance, attr)
                except ALLOWED:
                    continue
                except BaseException as exc:
                    failures.append(f"{cls_name}.{attr} (get): {type(exc).__name__}: {exc}")
                    continue
                if callable(member) and not isinstance(member, type):
                    call_all_ways(f"{cls_name}.{attr}", member)
                    if not static:
                        # A shared instance too: a refused call must leave it usable.
                        for other in ("to_json", "__repr__"):
                            if hasattr(instance, other):
                                attempt(f"{cls_name}.{attr} then {other}",
                                        getattr(instance, other))
    print(json.dumps({"calls": calls, "failures": failures}))
    """
)


@pytest.mark.timeout(900)
def test_no_entry_point_panics_or_aborts() -> None:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2] / "python")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=850
    )
    assert proc.returncode == 0, (
        f"the child process died (rc={proc.returncode}): an entry point aborted\n"
        f"{proc.stderr[-3000:]}"
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["calls"] > 5000, report["calls"]
    assert report["failures"] == [], "\n".join(report["failures"][:50])
