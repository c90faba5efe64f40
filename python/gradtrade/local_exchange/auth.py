"""Binance's HMAC-SHA256 request signing, checked exactly as the exchange does.

The signed payload is the query string followed by the request body (no separator), with the
``signature`` parameter removed; the signature is the lowercase hex HMAC-SHA256 of that payload
under the API secret. ``timestamp`` must be within ``recvWindow`` (default 5000 ms, at most
60000) behind the server clock and at most 1000 ms ahead of it. Keys and secrets never appear
in error messages.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from gradtrade.local_exchange.errors import (
    BAD_API_KEY_FMT,
    INVALID_SIGNATURE,
    INVALID_TIMESTAMP,
    REJECTED_MBX_KEY,
    ApiError,
    mandatory,
)
from gradtrade.local_exchange.params import Params, opt_int


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _strip_signature(raw: str) -> tuple[str, str | None]:
    if not raw:
        return "", None
    kept, signature = [], None
    for part in raw.split("&"):
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def check_api_key(keys: Mapping[str, str], api_key: str | None) -> str:
    """The secret of a known API key; -2014/-2015 otherwise."""
    if not api_key:
        raise ApiError(BAD_API_KEY_FMT, "API-key format invalid.", status=401)
    secret = keys.get(api_key)
    if secret is None:
        raise ApiError(REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", 401)
    return secret


def check_timestamp(params: Params, now_ms: int) -> None:
    timestamp = opt_int(params, "timestamp")
    if timestamp is None:
        raise mandatory("timestamp")
    window = opt_int(params, "recvWindow", 5000)
    assert window is not None
    if window > 60_000 or window <= 0:
        raise ApiError(-1131, "recvWindow must be less than 60000")
    if timestamp > now_ms + 1000:
        raise ApiError(
            INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if now_ms - timestamp > window:
        raise ApiError(
            INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow."
        )


def verify_request(
    keys: Mapping[str, str],
    api_key: str | None,
    raw_query: str,
    raw_body: str,
    params: Params,
    now_ms: int,
) -> str:
    """Check a signed REST request; returns the API key it is authenticated as."""
    secret = check_api_key(keys, api_key)
    query, sig_q = _strip_signature(raw_query)
    body, sig_b = _strip_signature(raw_body)
    signature = sig_q or sig_b
    if not signature:
        raise mandatory("signature")
    if not hmac.compare_digest(sign(secret, query + body), signature.lower()):
        raise ApiError(INVALID_SIGNATURE, "Signature for this request is not valid.")
    check_timestamp(params, now_ms)
    assert api_key is not None
    return api_key


def verify_ws_params(keys: Mapping[str, str], params: Mapping[str, object], now_ms: int) -> str:
    """Check the signed params of a websocket-API request (apiKey, timestamp, signature):
    the payload is every other parameter, sorted by name, as ``k=v&...``."""
    api_key = params.get("apiKey")
    secret = check_api_key(keys, api_key if isinstance(api_key, str) else None)
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise mandatory("signature")
    payload = "&".join(f"{k}={ws_text(v)}" for k, v in sorted(params.items()) if k != "signature")
    if not hmac.compare_digest(sign(secret, payload), signature.lower()):
        raise ApiError(INVALID_SIGNATURE, "Signature for this request is not valid.")
    check_timestamp({k: ws_text(v) for k, v in params.items()}, now_ms)
    assert isinstance(api_key, str)
    return api_key


def ws_text(v: object) -> str:
    """A websocket-API parameter as the text it is signed (and validated) as."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
