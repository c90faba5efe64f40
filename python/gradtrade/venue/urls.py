"""Binance's endpoints: the one table of URL presets, and the ccxt ``urls`` that point at them.

Invariant: every Binance URL the package knows is in :data:`PRESETS`; the connector
(:class:`gradtrade.venue.config.ConnectorConfig`) and ccxt clients of the local exchange
(:func:`ccxt_urls`) both read it, so they cannot disagree. ``ws`` is the market-stream base:
raw streams live at ``{ws}/ws/<name>``, combined ones at ``{ws}/stream?streams=a/b``
(Binance's "WebSocket Market Streams" pages, spot and USD-M, testnet included).

``ccxt.pro.binance({"urls": ccxt_urls(base, "spot")})`` (or ``binanceusdm`` with ``"usdm"``) is
the only change a ccxt client needs; signing, parsing and the websocket protocol stay ccxt's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gradtrade.errors import InvalidInput

Market = Literal["spot", "usdm"]

BINANCE = "binance"
BINANCE_TESTNET = "testnet"


@dataclass(frozen=True)
class Endpoints:
    """One market of one Binance environment."""

    rest: str
    ws: str
    ws_api: str


PRESETS: dict[str, dict[Market, Endpoints]] = {
    BINANCE: {
        "spot": Endpoints(
            "https://api.binance.com",
            "wss://stream.binance.com:9443",
            "wss://ws-api.binance.com:443/ws-api/v3",
        ),
        "usdm": Endpoints(
            "https://fapi.binance.com",
            "wss://fstream.binance.com",
            "wss://ws-fapi.binance.com/ws-fapi/v1",
        ),
    },
    BINANCE_TESTNET: {
        "spot": Endpoints(
            "https://testnet.binance.vision",
            "wss://stream.testnet.binance.vision",
            "wss://ws-api.testnet.binance.vision/ws-api/v3",
        ),
        "usdm": Endpoints(
            "https://testnet.binancefuture.com",
            "wss://fstream.binancefuture.com",
            "wss://testnet.binancefuture.com/ws-fapi/v1",
        ),
    },
}


def preset(name: str, market: Market) -> Endpoints:
    """The endpoints of ``market`` in the environment ``name`` (``binance`` or ``testnet``)."""
    if name not in PRESETS:
        raise InvalidInput(f"preset: {name!r} is not one of {sorted(PRESETS)}")
    if market not in ("spot", "usdm"):
        raise InvalidInput(f"market must be 'spot' or 'usdm', not {market!r}")
    return PRESETS[name][market]


def rest_api_urls(base: str, market: Market) -> dict[str, str]:
    """ccxt ``urls['api']`` REST entries of one market, all under the REST base ``base``."""
    if market == "spot":
        names = {"public": "api/v3", "private": "api/v3", "v1": "api/v1"}
        names.update({f"sapi{v}": f"sapi/v{v[-1] if v else 1}" for v in ("", "V2", "V3", "V4")})
    else:
        names = {
            "fapiPublic": "fapi/v1",
            "fapiPublicV2": "fapi/v2",
            "fapiPublicV3": "fapi/v3",
            "fapiPrivate": "fapi/v1",
            "fapiPrivateV2": "fapi/v2",
            "fapiPrivateV3": "fapi/v3",
            "fapiData": "futures/data",
        }
    return {k: f"{base}/{v}" for k, v in names.items()}


def ccxt_urls(base_url: str, market: str = "spot") -> dict[str, Any]:
    """The ``urls`` config for ccxt's ``binance`` / ``binanceusdm`` (REST and ``ccxt.pro``).

    ``base_url`` is the local exchange's URL (``http://127.0.0.1:PORT``, as printed by
    ``gradtrade exchange serve``) or a preset name (:data:`BINANCE`, :data:`BINANCE_TESTNET`).
    ``market`` ("spot" or "usdm") only checks intent: the returned dict covers both, since ccxt's
    binance classes route by market type themselves.
    """
    if market not in ("spot", "usdm"):
        raise InvalidInput(f"market must be 'spot' or 'usdm', not {market!r}")
    if base_url in PRESETS:
        spot_e, fut_e = PRESETS[base_url]["spot"], PRESETS[base_url]["usdm"]
        spot, fut = spot_e.rest, fut_e.rest
        ws: dict[str, Any] = {
            "spot": f"{spot_e.ws}/ws",
            "margin": f"{spot_e.ws}/ws",
            "linear": f"{fut_e.ws}/ws",
            "ws-api": {"spot": spot_e.ws_api, "linear": fut_e.ws_api},
        }
    else:
        if not base_url.startswith(("http://", "https://")):
            raise InvalidInput(f"base_url must be http(s)://host:port, not {base_url!r}")
        spot = fut = base_url.rstrip("/")
        wsb = "ws" + spot[len("http") :]
        # "/stream" in the spot URL is how ccxt tells spot depth frames from futures ones
        ws = {
            "spot": f"{wsb}/stream/ws",
            "margin": f"{wsb}/stream/ws",
            "linear": f"{wsb}/fapi/ws",
            "inverse": f"{wsb}/dapi/ws",
            "ws-api": {
                "spot": f"{wsb}/ws-api/v3",
                "linear": f"{wsb}/ws-fapi/v1",
                "inverse": f"{wsb}/ws-dapi/v1",
            },
        }
    dapi = fut.replace("fapi", "dapi")
    api: dict[str, Any] = {
        **rest_api_urls(spot, "spot"),
        **rest_api_urls(fut, "usdm"),
        "dapiPublic": f"{dapi}/dapi/v1",
        "dapiPrivate": f"{dapi}/dapi/v1",
        "dapiPrivateV2": f"{dapi}/dapi/v2",
        "dapiData": f"{dapi}/futures/data",
        "ws": ws,
    }
    return {"api": api}


__all__ = [
    "BINANCE",
    "BINANCE_TESTNET",
    "PRESETS",
    "Endpoints",
    "Market",
    "ccxt_urls",
    "preset",
    "rest_api_urls",
]
