"""URL overrides that point ccxt at the local exchange, Binance's testnet or Binance itself.

``ccxt.pro.binance({"urls": ccxt_urls(base, "spot")})`` (or ``binanceusdm`` with ``"usdm"``) is the
only change a client needs; everything else (signing, parsing, websocket protocol) is ccxt's own.
"""

from __future__ import annotations

from typing import Any

from gradtrade.errors import InvalidInput

BINANCE = "binance"
BINANCE_TESTNET = "binance-testnet"

_REMOTE = {
    BINANCE: {
        "spot": "https://api.binance.com",
        "usdm": "https://fapi.binance.com",
        "ws_spot": "wss://stream.binance.com:9443/ws",
        "ws_usdm": "wss://fstream.binance.com/ws",
        "ws_api_spot": "wss://ws-api.binance.com:443/ws-api/v3",
        "ws_api_usdm": "wss://ws-fapi.binance.com/ws-fapi/v1",
    },
    BINANCE_TESTNET: {
        "spot": "https://testnet.binance.vision",
        "usdm": "https://testnet.binancefuture.com",
        "ws_spot": "wss://stream.testnet.binance.vision/ws",
        "ws_usdm": "wss://fstream.binancefuture.com/ws",
        "ws_api_spot": "wss://ws-api.testnet.binance.vision/ws-api/v3",
        "ws_api_usdm": "wss://testnet.binancefuture.com/ws-fapi/v1",
    },
}


def ccxt_urls(base_url: str, market: str = "spot") -> dict[str, Any]:
    """The ``urls`` config for ccxt's ``binance`` / ``binanceusdm`` (REST and ``ccxt.pro``).

    ``base_url`` is the local exchange's URL (``http://127.0.0.1:PORT``, as printed by
    ``gradtrade exchange serve``) or one of :data:`BINANCE` / :data:`BINANCE_TESTNET`.
    ``market`` ("spot" or "usdm") only checks intent: the returned dict covers both, since ccxt's
    binance classes route by market type themselves.
    """
    if market not in ("spot", "usdm"):
        raise InvalidInput(f"market must be 'spot' or 'usdm', not {market!r}")
    if base_url in _REMOTE:
        r = _REMOTE[base_url]
        spot, fut = r["spot"], r["usdm"]
        ws = {
            "spot": r["ws_spot"],
            "margin": r["ws_spot"],
            "linear": r["ws_usdm"],
            "ws-api": {"spot": r["ws_api_spot"], "linear": r["ws_api_usdm"]},
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
        "public": f"{spot}/api/v3",
        "private": f"{spot}/api/v3",
        "v1": f"{spot}/api/v1",
        "sapi": f"{spot}/sapi/v1",
        "sapiV2": f"{spot}/sapi/v2",
        "sapiV3": f"{spot}/sapi/v3",
        "sapiV4": f"{spot}/sapi/v4",
        "fapiPublic": f"{fut}/fapi/v1",
        "fapiPublicV2": f"{fut}/fapi/v2",
        "fapiPublicV3": f"{fut}/fapi/v3",
        "fapiPrivate": f"{fut}/fapi/v1",
        "fapiPrivateV2": f"{fut}/fapi/v2",
        "fapiPrivateV3": f"{fut}/fapi/v3",
        "fapiData": f"{fut}/futures/data",
        "dapiPublic": f"{dapi}/dapi/v1",
        "dapiPrivate": f"{dapi}/dapi/v1",
        "dapiPrivateV2": f"{dapi}/dapi/v2",
        "dapiData": f"{dapi}/futures/data",
        "ws": ws,
    }
    return {"api": api}
