"""Credentials never reach a log or an error: the scrubber's properties, and the connector run
for real with DEBUG logging against the local exchange on signed calls, its log grepped."""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Iterator
from pathlib import Path

import ccxt
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gradtrade.data.connector import ExchangeConnector
from gradtrade.errors import AuthenticationFailed, scrub
from gradtrade.local_exchange import DEFAULT_KEYS, ExchangeServer, ServerThread
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.redaction import LOG_FILTER, install_log_filter, redact
from gradtrade.venue.rest import from_ccxt, from_http, make_exchange

KEY, SECRET = next(iter(DEFAULT_KEYS.items()))
NAMES = ["signature", "apiKey", "api_key", "X-MBX-APIKEY", "secret", "api_secret", "apiSecret"]
FORMS = ["{n}={v}", "{n}: {v}", '"{n}": "{v}"', "'{n}': '{v}'", "&{n}={v}&x=1", "{n} = {v}"]
VALUES = st.text(string.ascii_letters + string.digits + "-_", min_size=12, max_size=64)
# ordinary prose: no "=" or ":" after a word, so nothing in it is a credential pair
PROSE = st.text(string.ascii_letters + string.digits + " .,!?()-_\n", max_size=80)


@given(PROSE)
def test_scrub_leaves_ordinary_text_alone(text: str) -> None:
    assert scrub(text) == text
    assert scrub(f"Signature for this request is not valid. {text}").startswith(
        "Signature for this request is not valid."
    )


@given(st.sampled_from(NAMES), st.sampled_from(FORMS), VALUES, PROSE, PROSE)
def test_scrub_removes_every_credential_form(
    name: str, form: str, value: str, before: str, after: str
) -> None:
    assume(value not in before + after)
    text = f"{before} {form.format(n=name, v=value)} {after}"
    clean = scrub(text)
    assert value not in clean and "<redacted>" in clean
    assert clean.startswith(before) and clean.endswith(after)  # the rest is untouched
    assert scrub(clean) == clean


def test_redact_blanks_known_values_anywhere() -> None:
    assert redact(f"bad value {SECRET}!", [SECRET]) == "bad value <redacted>!"
    assert redact("short ab", ["ab"]) == "short ab"  # too short to be a credential


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """Everything logged at DEBUG and above, as a user's ``logging.basicConfig`` would write it.
    The redacting filter is taken off every logger first: the code under test must install it."""
    for logger in [logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict)]:
        logger.removeFilter(LOG_FILTER)
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()


@pytest.fixture(scope="module")
def exchange() -> Iterator[ServerThread]:
    with ServerThread(ExchangeServer(synthetic=True, seed=3, speed=1e-3)) as st_:
        yield st_


async def test_debug_logging_never_writes_key_secret_or_signature(
    exchange: ServerThread, debug_log: Path
) -> None:
    config = ConnectorConfig.for_url(exchange.url, "spot", api_key=KEY, api_secret=SECRET)
    async with ExchangeConnector(config) as conn:
        balance = await conn.rest.call("fetch_balance", conn.rest.exchange.fetch_balance)
        assert balance["USDT"]["total"] > 0  # the signed call really went through
    wrong = ConnectorConfig.for_url(exchange.url, "spot", api_key=KEY, api_secret="wrong-secret-1")
    conn = ExchangeConnector(wrong)
    with pytest.raises(AuthenticationFailed) as refused:
        try:  # ccxt signs its margin-pair requests while loading markets when it has a key
            await conn.start()
        finally:
            await conn.close()
    message = str(refused.value)
    assert "Signature for this request is not valid" in message  # the scrubber kept the text
    text = debug_log.read_text()
    # ccxt did log the signed requests and their headers: only the values are gone
    assert re.search(r"ccxt\.base\.exchange DEBUG GET .*/api/v3/account\?", text), text[-2000:]
    assert "'X-MBX-APIKEY': '<redacted>'" in text and "signature=<redacted>" in text
    for leaked in (KEY, SECRET, "wrong-secret-1"):
        assert leaked not in text and leaked not in message
    assert re.search(r"signature=[0-9a-fA-F]{16}", text) is None


def test_the_filter_reaches_child_loggers_and_tracebacks(debug_log: Path) -> None:
    install_log_filter([SECRET])
    child = logging.getLogger("aiohttp.client")  # a filter on "aiohttp" alone would not see it
    assert LOG_FILTER in child.filters
    try:
        raise RuntimeError(f"GET /api/v3/order?signature=abcdef0123456789 with {SECRET}")
    except RuntimeError:
        child.exception("request failed: %s", {"X-MBX-APIKEY": KEY})
    text = debug_log.read_text()
    assert "request failed" in text and "RuntimeError" in text
    assert SECRET not in text and KEY not in text and "abcdef0123456789" not in text


def test_connector_errors_blank_the_configured_credentials() -> None:
    make_exchange(ConnectorConfig.for_url("http://127.0.0.1:1", api_key=KEY, api_secret=SECRET))
    error = from_ccxt(ccxt.AuthenticationError(f"binance refused {KEY} (secret {SECRET})"))
    assert isinstance(error, AuthenticationFailed)
    assert KEY not in str(error) and SECRET not in str(error) and "binance refused" in str(error)
    refused = from_http(401, f'{{"msg": "key {KEY} unknown"}}'.encode(), None)
    assert KEY not in str(refused) and "unknown" in str(refused)
