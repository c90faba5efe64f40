"""The local Binance-compatible exchange server: REST and websockets on one aiohttp port.

``ExchangeServer`` runs on the caller's event loop; ``ServerThread`` runs one on a background
thread (for synchronous code, tests and benchmarks). Both bind 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from gradtrade.errors import InvalidInput
from gradtrade.local_exchange import rest_public, routes, tickers
from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.faults import Faults
from gradtrade.local_exchange.hub import MAX_STREAMS
from gradtrade.local_exchange.limits import RateLimits, request_weight
from gradtrade.local_exchange.params import Params
from gradtrade.local_exchange.replay import RecordingReplay
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.local_exchange.stepped import StepConfig, SteppedReplay, step_answer
from gradtrade.local_exchange.synthetic import SyntheticMarket
from gradtrade.local_exchange.trading import Trading
from gradtrade.local_exchange.ws import serve_socket, serve_ws_api

log = logging.getLogger("gradtrade.local_exchange")
T = TypeVar("T")

DEFAULT_KEYS = {"gradtrade-test-key": "gradtrade-test-secret"}
_PUBLIC = {"spot": rest_public.SPOT, "usdm": rest_public.USDM}
_VENUE_PREFIX = {
    "api/v3": "spot",
    "api/v1": "spot",
    "fapi/v1": "usdm",
    "fapi/v2": "usdm",
    "fapi/v3": "usdm",
    "sapi/v1": "sapi",
    "dapi/v1": "dapi",
}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response; ``bytes`` are taken as already-serialized JSON."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return web.Response(body=data, status=status, headers=headers, content_type="application/json")


class ExchangeServer:
    """A local exchange: market state, trading, faults, and the HTTP/websocket front end."""

    def __init__(
        self,
        *,
        replay: list[Path] | None = None,
        recordings: list[Path] | None = None,
        synthetic: bool = False,
        seed: int = 0,
        speed: float = 1.0,
        api_keys: dict[str, str] | None = None,
        templates_dir: Path | None = None,
        fees: dict[str, tuple[str, str]] | None = None,
        balances: dict[str, str] | None = None,
        weight_limits: dict[str, int] | None = None,
        ban_after: int = 10,
        faults_endpoint: bool = False,
        stepped: StepConfig | None = None,
    ) -> None:
        """Market sources: ``replay`` (feather klines/funding files or folders), ``recordings``
        (raw websocket recordings) and ``synthetic`` (the default when no data is given).
        ``fees`` maps "spot"/"usdm" to (maker, taker) rates; ``balances`` are every account's
        starting spot balances (asset -> amount text). ``weight_limits`` overrides Binance's
        per-IP request-weight budgets per API ("spot" 6000, "usdm" 2400, "sapi", "dapi") and
        ``ban_after`` is how many 429s in one minute an IP may ignore before a 418 ban (see
        :mod:`gradtrade.local_exchange.limits`). ``faults_endpoint`` turns on
        ``POST /_gradtrade/faults`` (off: 404, as for any unknown path); ``server.faults``
        works in-process either way. ``stepped`` publishes the replayed klines of one interval
        bar by bar, each with its ladder book (:mod:`gradtrade.local_exchange.stepped`),
        stepped by ``POST /_gradtrade/step`` or ``server.stepper.step()``."""
        self.faults_endpoint = faults_endpoint
        self.state = ExchangeState(templates_dir)
        self.state.limits = RateLimits(weight_limits, ban_after)
        self.loaded: list[str] = []
        for path in replay or []:
            self.loaded += self.state.load_feather(path)
        self.trading = Trading(self.state, api_keys or dict(DEFAULT_KEYS), fees, balances)
        self.sources: list[Any] = []
        self.stepper: SteppedReplay | None = None
        if stepped is not None:
            if not replay:
                raise InvalidInput("a stepped replay needs --replay kline files")
            self.stepper = SteppedReplay(self.state, stepped)
            self.sources.append(self.stepper)
        if recordings:
            self.sources += [RecordingReplay(self.state, p, speed) for p in recordings]
        if synthetic or not (replay or recordings):
            self.sources.append(SyntheticMarket(self.state, seed=seed, speed=speed))
        elif replay:
            # markets with history but no live source get a synthetic live market anchored
            # there (stepped markets are live already: the synthetic market skips them)
            self.sources.append(
                SyntheticMarket(self.state, seed=seed, speed=speed, only_existing=True)
            )
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def faults(self) -> Faults:
        """Arm faults on this server (see :class:`gradtrade.local_exchange.faults.Faults`)."""
        return self.state.faults

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/{path:.*}", self.dispatch)
        return app

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        for source in self.sources:
            source.prepare()
        self.runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "the listening socket is missing"
        self.port = int(sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(s.run()) for s in self.sources]
        self.tasks.append(loop.create_task(self._tickers()))
        return self.url

    async def _tickers(self) -> None:
        """Publish ``@ticker`` (24hrTicker) and ``@miniTicker`` every second to subscribers."""
        while True:
            await asyncio.sleep(1.0)
            for m in self.state.all_markets():
                full, mini = f"{m.lower}@ticker", f"{m.lower}@miniTicker"
                if self.state.hub.wants(m.venue, full) or self.state.hub.wants(m.venue, mini):
                    event = tickers.ticker_event(self.state, m)
                    self.state.hub.publish(m.venue, full, orjson.dumps(event))
                    small = {k: event[k] for k in ("E", "s", "c", "o", "h", "l", "v", "q")}
                    small["e"] = "24hrMiniTicker"
                    self.state.hub.publish(m.venue, mini, orjson.dumps(small))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for conn in list(self.state.hub.conns):
            conn.abort()
        if self.runner is not None:
            await self.runner.cleanup()

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.strip("/")
        weight_headers: dict[str, str] = {}  # filled by rest() once the request is charged
        try:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self.websocket(request, path)
            if path.startswith("_gradtrade/"):
                return await self.control(request, path)
            return await self.rest(request, path, weight_headers)
        except ApiError as exc:
            return _json(exc.body(), exc.status, {**weight_headers, **exc.headers})
        except web.HTTPRequestEntityTooLarge:  # the body is over client_max_size (1 MiB)
            return _json({"code": -1000, "msg": "Request body too large."}, 413)
        except Exception:  # a bug must not take the server down nor leak a trace to the client
            log.exception("internal error on %s %s", request.method, request.path)
            return _json(
                {"code": -1000, "msg": "An unknown error occurred while processing the request."},
                500,
            )

    async def rest(
        self, request: web.Request, path: str, weight_headers: dict[str, str]
    ) -> web.StreamResponse:
        prefix, _, endpoint = path.partition("/")
        prefix2, _, endpoint = endpoint.partition("/")
        venue = _VENUE_PREFIX.get(f"{prefix}/{prefix2}")
        if venue is None:
            return _json({"code": -1000, "msg": f"Unknown endpoint /{path}."}, 404)
        raw_query = request.rel_url.raw_query_string
        raw_body = (await request.text()) if request.can_read_body else ""
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        pairs += parse_qsl(raw_body, keep_blank_values=True)
        # Binance charges the weight before it validates anything, refusals included
        weight = request_weight(venue, request.method, endpoint, dict(reversed(pairs)))
        weight_headers.update(
            self.state.limits.charge(venue, request.remote or "", weight, self.state.now_ms())
        )
        fault = self.state.faults.take_rest("/" + path)
        if fault is not None:
            raise fault
        if venue == "dapi":
            if endpoint == "exchangeInfo":
                return _json(
                    rest_public.empty_exchange_info(self.state, "dapi", {}), 200, weight_headers
                )
            raise ApiError(-1121, "Invalid symbol.")
        params: Params = {}
        for key, value in pairs:
            if key in params:
                raise ApiError(-1101, "Duplicate values for a parameter detected.")
            params[key] = value
        private = routes.private_endpoint(self.trading, venue, request.method, endpoint)
        if private is not None:
            body, extra = await private(
                request.headers.get("X-MBX-APIKEY"), raw_query, raw_body, params
            )
            return _json(body, 200, {**weight_headers, **extra} if extra else weight_headers)
        handler = _PUBLIC.get(venue, {}).get(endpoint)
        if handler is None or request.method != "GET":
            raise ApiError(-1000, f"Unknown endpoint {request.method} /{path}.", 404)
        return _json(handler(self.state, venue, params), 200, weight_headers)

    async def websocket(self, request: web.Request, path: str) -> web.StreamResponse:
        parts = path.split("/")
        if path in ("ws-api/v3", "ws-fapi/v1"):
            api = "spot" if path == "ws-api/v3" else "usdm"
            return await serve_ws_api(
                request,
                self.state,
                routes.ws_api_methods(self.trading, api),
                self.trading.users,
                api,
                routes.WS_API_WEIGHTS,
            )
        venue = "spot"
        if parts[0] == "fapi":
            venue, parts = "usdm", parts[1:]
            if parts and parts[0] in ("public", "market", "private"):
                parts = parts[1:]
        elif parts[0] == "stream" and len(parts) > 1:
            parts = parts[1:]  # /stream/ws: the spot URL ccxt recognizes as spot
        if not parts or parts[0] not in ("ws", "stream"):
            raise ApiError(-1000, f"Unknown websocket path /{path}.", 404)
        combined = parts[0] == "stream"
        streams = [s for s in request.query.get("streams", "").split("/") if s]
        if not combined and len(parts) > 1 and "@" in parts[1]:
            streams.append(parts[1])  # /ws/btcusdt@trade; /ws/<id> (ccxt) names no stream
        users = self.trading.users
        listen_key = request.query.get("listenKey") or (parts[1] if len(parts) > 1 else "")
        if venue == "usdm" and listen_key in users.listen_keys:
            return await routes.serve_listen_key(self.trading, request, listen_key)
        # a stream name the venue does not serve is refused at the handshake, as SUBSCRIBE
        # refuses it, rather than a connection that never sends anything
        bad = [s for s in streams if self.state.hub.key(venue, s) is None]
        if bad:
            raise ApiError(-1100, f"Invalid stream name '{bad[0]}'.", 400)
        if len(streams) > MAX_STREAMS:
            raise ApiError(-1100, f"Too many streams; the limit is {MAX_STREAMS}.", 400)
        user = users.by_listen_key if venue == "usdm" else None
        return await serve_socket(
            request, self.state, venue, combined, streams, None, users.forget, None, user
        )

    async def control(self, request: web.Request, path: str) -> web.StreamResponse:
        if path == "_gradtrade/faults" and request.method == "POST" and self.faults_endpoint:
            try:
                spec = orjson.loads(await request.read())
                if not isinstance(spec, dict):
                    raise InvalidInput("body must be a JSON object")
                self.state.faults.arm(spec)
            except (ValueError, orjson.JSONDecodeError) as exc:  # InvalidInput included
                return _json({"code": -1130, "msg": str(exc)}, 400)
            return _json({"ok": True})
        if path == "_gradtrade/step" and request.method == "POST" and self.stepper is not None:
            try:
                return _json(step_answer(self.stepper, await request.read()))
            except (ValueError, orjson.JSONDecodeError) as exc:  # InvalidInput included
                return _json({"code": -1130, "msg": str(exc)}, 400)
        if path == "_gradtrade/status":
            return _json(
                {
                    "markets": {v: sorted(m) for v, m in self.state.markets.items()},
                    "websockets": len(self.state.hub.conns),
                    "published": self.state.hub.published,
                }
            )
        return _json({"code": -1000, "msg": "Unknown control endpoint."}, 404)


class ServerThread:
    """An :class:`ExchangeServer` on its own event loop in a background thread."""

    def __init__(self, server: ExchangeServer, port: int = 0) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="exchange")
        self._thread.start()
        self.url = self.call(lambda: server.start(port))

    def call(self, make: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
        """Run a coroutine on the server's loop and wait for its result."""

        async def wrapped() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(wrapped(), self.loop)
        return future.result(timeout)

    def run(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the server's loop (e.g. arm a fault) and return its result."""

        async def wrapped() -> T:
            return fn()

        return self.call(wrapped)

    def arm(self, kind: str, **args: Any) -> None:
        """Arm a fault (see :meth:`Faults.arm`) from any thread."""
        self.run(lambda: self.server.state.faults.arm({"kind": kind, **args}))

    def close(self) -> None:
        self.call(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
