"""``OrderWire``: new orders signed here and written straight to a kept-alive HTTP/1.1
connection of their own, the latency path from a decision to the venue.

Why: ccxt's generic request path (``request`` -> ``sign`` -> ``fetch``) and aiohttp's client
run about 0.6 ms of Python per order on a CPU whose caches went cold between bar closes
(``benches/RESULTS.md``, trader section); this path formats the request once and hands it to
the socket in one write.

Invariants:

* the bytes sent are the request ccxt would send: the same signed query (ccxt's ``nonce``, its
  parameter order and encoding, HMAC-SHA256 in hex), the same ``X-MBX-APIKEY`` and content
  type, to the same URL (``tests/venue/test_wire.py`` holds it to ``exchange.sign``);
* an answer is judged by ccxt itself: ``last_response_headers`` and ``last_http_response`` are
  set as its ``fetch`` sets them and then its ``handle_errors`` and ``handle_http_status_code``
  run, so an answer raises exactly the exception the generic path raises. No answer within
  ``exchange.timeout`` ms raises ``RequestTimeout`` and a lost connection or an unreadable
  answer ``ExchangeNotAvailable``, as ccxt maps aiohttp's errors: the order's fate is then
  unknown and the caller resolves it by query, as on the generic path;
* one request in flight per connection (no pipelining). ``ready`` says whether an idle
  connection is open; ``post`` takes it before its first await, so a request never waits for a
  connection: without one the caller uses ccxt's path;
* a connection that failed, timed out, answered ``Connection: close`` or sat idle for
  ``max_idle_s`` (a server closes idle keep-alive connections, and a request written into one
  it just closed would have an unknown fate) is closed and never reused; a fresh one is opened
  in the background, off the order path;
* secrets: the request is never logged, and no message carries the query or the key.

Only what it can reproduce exactly takes this path: an HMAC key (RSA and Ed25519 keys go
through ccxt), no proxy of any kind, ``verbose`` off.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt

from gradtrade.venue.http1 import ProtocolError, Response

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")  # what urllib's quote never escapes


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; at most one response awaited at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.idle_since = time.monotonic()
        self.response: Response | None = None
        self.done: asyncio.Future[Response] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open = True

    def data_received(self, data: bytes) -> None:
        if self.response is None or self.done is None or self.done.done():
            self._fail(ProtocolError("bytes from the server while no request is in flight"))
            return
        try:
            if self.response.feed(data):
                self.done.set_result(self.response)
        except ProtocolError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        if self.done is not None and not self.done.done() and self.response is not None:
            if self.response.eof():
                self.done.set_result(self.response)
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError(f"connection lost: {exc or 'closed by peer'}"))

    def _fail(self, exc: Exception) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()


class OrderWire:
    """``POST {api}/order`` of one ccxt Binance exchange over up to ``connections`` kept-alive
    connections (module docstring)."""

    def __init__(
        self,
        exchange: Any,
        api: str,
        path: str = "order",
        *,
        connections: int = 2,
        max_idle_s: float = 20.0,
    ) -> None:
        self.exchange = exchange
        self.api, self.path = api, path
        self.url = f"{exchange.urls['api'][api]}/{path}"
        parts = urlsplit(self.url)
        self._host, self._secure = parts.hostname or "", parts.scheme == "https"
        self._port = parts.port or (443 if self._secure else 80)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc
        self._head = f"POST {target} HTTP/1.1\r\nHost: {host}\r\n"
        self.size, self.max_idle_s = connections, max_idle_s
        self._idle: list[_Connection] = []
        self._opening = 0
        self._busy = 0
        self._started = self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0  # requests that took this path
        self.connects = 0

    @staticmethod
    def supports(exchange: Any, api: str) -> bool:
        """Whether this path reproduces ccxt's request for ``exchange`` exactly."""
        url = exchange.urls["api"].get(api)
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            return False
        secret = exchange.secret or ""
        if not exchange.apiKey or not secret or "PRIVATE KEY" in secret or exchange.verbose:
            return False
        if exchange.aiohttp_proxy or exchange.aiohttp_trust_env:
            return False
        if exchange.check_proxy_url_settings(url, "POST", None, None) is not None:
            return False
        return not any(exchange.check_proxy_settings(url, "POST", None, None))

    # --- connections ---

    async def start(self) -> None:
        """Opens the connections (a failure leaves ccxt's path in use and is retried later)."""
        self._started = True
        await asyncio.gather(*(self._open_one() for _ in range(self.size - len(self._idle))))

    async def _open_one(self) -> None:
        if self._closed:
            return
        self._opening += 1
        try:
            loop = asyncio.get_running_loop()
            ctx = self._ssl() if self._secure else None
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    _Connection, self._host, self._port, ssl=ctx,
                    server_hostname=self._host if ctx else None,
                ),
                self.exchange.timeout / 1000,
            )  # fmt: skip
        except Exception as exc:  # whatever fails here, orders still leave by ccxt's path
            log.info("order wire to %s: no connection (%s); ccxt's path is used", self._host, exc)
            return
        finally:
            self._opening -= 1
        self.connects += 1
        if self._closed:
            conn.close()
        else:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)

    def _ssl(self) -> ssl.SSLContext:
        ex = self.exchange
        if ex.verify:
            return ssl.create_default_context(cafile=ex.cafile)
        return ssl._create_unverified_context()  # the user turned verification off in ccxt

    def _replenish(self) -> None:
        """Opens connections in the background up to ``size`` (never on the order path)."""
        if not self._started or self._closed:
            return
        missing = self.size - len(self._idle) - self._opening - self._busy
        for _ in range(max(0, missing)):
            task = asyncio.get_running_loop().create_task(self._open_one())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def ready(self) -> bool:
        """An idle connection is open and fresh: ``post`` will take this path. Replaces stale
        or missing connections in the background."""
        now = time.monotonic()
        for conn in [c for c in self._idle if not c.open or now - c.idle_since > self.max_idle_s]:
            self._idle.remove(conn)
            conn.close()
        if self._started and not self._closed:
            self._replenish()
        return bool(self._idle)

    async def close(self) -> None:
        self._closed = True
        for conn in self._idle:
            conn.close()
        self._idle.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- requests ---

    def signed_body(self, params: dict[str, Any]) -> str:
        """ccxt's signed query for ``params`` (``binance.sign`` for a private POST)."""
        ex = self.exchange
        extended = {"timestamp": ex.nonce(), **params}
        default_window = ex.safe_integer(ex.options, "recvWindow")
        if default_window is not None:
            extended["recvWindow"] = default_window
        window = ex.safe_integer(params, "recvWindow")
        if window is not None:
            extended["recvWindow"] = window
        if all(
            type(v) in (str, int) and _SAFE.fullmatch(str(v)) and _SAFE.fullmatch(k)
            for k, v in extended.items()
        ):
            query = "&".join(f"{k}={v}" for k, v in extended.items())  # nothing to escape
        else:
            query = ex.urlencode(extended)
        signature = hmac.new(ex.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        return f"{query}&signature={signature}"

    def _request_bytes(self, body: str) -> bytes:
        ex = self.exchange
        headers = f"X-MBX-APIKEY: {ex.apiKey}\r\n"
        agent = ex.userAgent if ex.userAgent is not None else ex.user_agent
        if isinstance(agent, str) and agent:
            headers += f"User-Agent: {agent}\r\n"
        for name, value in (ex.headers or {}).items():
            headers += f"{name}: {value}\r\n"
        data = body.encode()
        return (
            f"{self._head}{headers}Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode() + data

    async def post(self, params: dict[str, Any]) -> Any:
        """Sends ``params`` signed; the parsed answer, or ccxt's exception for it. Call only
        when ``ready()``."""
        conn = self._idle.pop()
        request = self._request_bytes(self.signed_body(params))
        assert conn.transport is not None
        loop = asyncio.get_running_loop()
        conn.response, conn.done = Response(), loop.create_future()
        self._busy += 1
        self.sent += 1
        reusable = False
        try:
            conn.transport.write(request)
            try:
                response = await asyncio.wait_for(conn.done, self.exchange.timeout / 1000)
            except TimeoutError:
                raise ccxt.RequestTimeout(f"{self.exchange.id} POST {self.url}") from None
            except (ConnectionError, ProtocolError) as exc:
                raise ccxt.ExchangeNotAvailable(
                    f"{self.exchange.id} POST {self.url}: {exc}"
                ) from None
            reusable = response.keep_alive and conn.open
            return self._judge(response)
        finally:
            self._busy -= 1
            conn.response, conn.done = None, None
            if reusable and not self._closed:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
                self._replenish()

    def _judge(self, response: Response) -> Any:
        """What ccxt's ``fetch`` does with an answer (module docstring)."""
        ex = self.exchange
        headers: dict[str, str] = {}
        for name, value in response.headers:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        text = response.body.decode("utf-8", errors="replace")
        text = ex.on_rest_response(
            response.status, response.reason, self.url, "POST", headers, text, None, None
        )
        parsed = ex.parse_json(text)
        if ex.enableLastHttpResponse:
            ex.last_http_response = text
        if ex.enableLastResponseHeaders:
            ex.last_response_headers = headers
        if ex.enableLastJsonResponse:
            ex.last_json_response = parsed
        ex.handle_errors(
            response.status, response.reason, self.url, "POST", headers, text, parsed, None, None
        )
        ex.handle_http_status_code(response.status, response.reason, self.url, "POST", text)
        return parsed if parsed is not None else text


__all__ = ["OrderWire"]
