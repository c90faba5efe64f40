"""``MetricsServer``: ``/metrics`` and ``/healthz`` over aiohttp, on the trader's event loop.

Invariants: the server runs on the loop that owns the engine, so a scrape reads the engine's
state between two handled events, never in the middle of one (no locks, no torn reads); it
binds ``MonitoringConfig.host`` (loopback unless configured otherwise) and ``port`` (0: a free
port, read back from :attr:`MetricsServer.port`); a port already taken is a ``ConfigError``
naming it, raised by :meth:`start`, not a traceback later. ``/healthz`` answers 200
``{"status": "ok"}`` or 503 with every reason (``monitoring.health``); ``/metrics`` answers the
registry in the Prometheus text format. A collector that fails answers 500 and is logged; it
does not stop the trader.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from gradtrade.errors import ConfigError
from gradtrade.monitoring.config import MonitoringConfig
from gradtrade.monitoring.health import Health

log = logging.getLogger("gradtrade.monitoring")


class MetricsServer:
    def __init__(
        self,
        config: MonitoringConfig,
        registry: CollectorRegistry,
        health: Callable[[], Health],
    ) -> None:
        self.config, self.registry, self.health = config, registry, health
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ConfigError("the metrics server is not started")
        host = self.config.host
        host = "127.0.0.1" if host in ("0.0.0.0", "localhost") else host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def _metrics(self, request: web.Request) -> web.Response:
        try:
            body = generate_latest(self.registry)
        except Exception:  # a collector bug must not take the trader down; it is logged
            log.exception("metrics collection failed")
            return web.Response(status=500, text="metrics collection failed\n")
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            health = self.health()
        except Exception:
            log.exception("health check failed")
            return web.json_response({"status": "error", "reasons": ["check_failed"]}, status=500)
        return web.json_response(health.as_json(), status=200 if health.ok else 503)

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host, self.config.port))
        except OSError as err:
            sock.close()
            await runner.cleanup()
            why = "is in use" if err.errno == errno.EADDRINUSE else f"cannot be bound ({err})"
            raise ConfigError(
                f"monitoring.port: {self.config.host}:{self.config.port} {why}"
            ) from None
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner
        self.port = int(sock.getsockname()[1])
        log.info("metrics on %s/metrics, health on %s/healthz", self.url, self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


__all__ = ["MetricsServer"]
