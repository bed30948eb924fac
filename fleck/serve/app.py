"""The HTTP API of ``fleck serve``: a Starlette application over a :class:`ServePool`.

Endpoints (see ``/openapi.json`` for the schema, and the serving guide):

* ``POST /v1/detect``: the record ``fleck detect --json`` prints, for image bytes sent as the
  body (``image/*`` or ``application/octet-stream``) or as ``file`` parts of a
  ``multipart/form-data`` body (then ``{"results": [record, ...]}``);
* ``POST /v1/censor``: the censored image, in the format it came in;
* ``GET /healthz`` (the process answers), ``GET /readyz`` (the workers are warm),
  ``GET /v1/configs``, ``GET /openapi.json``, ``GET /metrics`` (Prometheus text).

Errors are JSON, ``{"status": "error", "kind": ..., "error": "<one-line reason>"}``, with a
4xx status for what the client sent and 5xx for the server's own trouble. The server never
opens a path or a URL given by a client: it reads the request's bytes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fleck._version import __version__
from fleck.censoring import MODES
from fleck.config import CONFIGS
from fleck.regions import COVER_WHAT
from fleck.serve.bodies import (
    _BUFFER_BYTES,
    _HELD,
    ApiError,
    _Budget,
    _check_query,
    _closing,
    _drain,
    _flag,
    _from_task,
    _images,
    _json,
    _plural,
)
from fleck.serve.failures import PoolBusy, PoolClosed, TaskFailed, TaskTimeout, WorkerCrashed
from fleck.serve.metrics import CONTENT_TYPE, Metrics
from fleck.serve.openapi import openapi_schema
from fleck.serve.pool import ServePool
from fleck.serve.settings import ServeSettings
from fleck.serve.work import WorkerOptions

__all__ = ["create_app"]

log = logging.getLogger("fleck.serve")

def create_app(settings: ServeSettings | None = None, *,
               pool: ServePool | None = None) -> Starlette:
    """The ASGI application of ``fleck serve``.

    Its lifespan starts the worker processes (``settings.workers``) and stops them.

    Parameters
    ----------
    settings : ServeSettings, optional
        Defaults: :class:`ServeSettings`'s.
    pool : ServePool, optional
        A pool to use instead of starting one (it is started and closed with the app).

    Returns
    -------
    starlette.applications.Starlette

    Examples
    --------
    >>> app = create_app(ServeSettings(workers=1))
    >>> sorted(route.path for route in app.routes)[:3]
    ['/healthz', '/metrics', '/openapi.json']
    """
    settings = settings or ServeSettings()
    thresholds = None
    if settings.thresholds:
        from fleck.verdict import read_thresholds

        thresholds = read_thresholds(settings.thresholds)
    options = WorkerOptions(config=settings.config, max_pixels=settings.max_pixels,
                            thresholds=thresholds)
    metrics = Metrics()
    budget = _Budget(max(_BUFFER_BYTES, 4 * settings.max_bytes))
    schema = json.dumps(openapi_schema(settings)).encode("utf-8")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = pool or ServePool(settings.resolved_workers, options,
                                 max_queue=settings.max_queue)
        app.state.pool = pool
        await pool.start()
        log.info("fleck serve %s: %s, configuration %s, max %d bytes per request, "
                 "timeout %g s", __version__, _plural(pool.size, "worker"), settings.config,
                 settings.max_bytes, settings.timeout)
        async def announce() -> None:
            if await pool.wait_ready():
                log.info("fleck serve: %s ready", _plural(pool.size, "worker"))

        announcing = asyncio.get_running_loop().create_task(announce())
        try:
            yield
        finally:
            announcing.cancel()
            await pool.close()

    def remaining(started: float) -> float:
        return settings.timeout - (time.monotonic() - started)

    async def run(kind: str, task: dict, started: float) -> Any:
        if pool is None:  # mounted in another application, whose lifespan did not start it
            raise ApiError(503, "unavailable", "the workers are not started: the application's "
                           "lifespan has not run", {"Retry-After": "5"})
        try:
            return await pool.run(kind, task, timeout=remaining(started))
        except (TaskFailed, TaskTimeout, WorkerCrashed, PoolBusy, PoolClosed) as err:
            raise _from_task(err) from None

    async def detect(request: Request) -> Response:
        started = time.monotonic()
        config = _check_query(request, "/v1/detect")
        options = {"config": config, "regions": _flag(request, "regions", True),
                   "skin_rle": _flag(request, "skin_rle", False)}
        files, multipart = await _images(request, settings, budget, single=False)

        async def one(name: str | None, data: bytes) -> bytes:
            body, label = await run("detect", {"data": data, "name": name, **options}, started)
            metrics.label(label)
            return body

        if not multipart:
            return Response(await one(*files[0]), media_type="application/json")
        answers = await asyncio.gather(*(one(name, data) for name, data in files),
                                       return_exceptions=True)
        records, failures = [], []
        for (name, _), answer in zip(files, answers, strict=True):
            if isinstance(answer, ApiError):
                failures.append(answer)
                metrics.error(answer.kind)
                records.append(json.dumps(answer.record(name)).encode("utf-8"))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                records.append(answer)
        results = b'"results": [' + b", ".join(records) + b"]}"
        if len(failures) < len(files):
            return Response(b"{" + results, media_type="application/json")
        # Nothing could be done: the first failure's status and kind, and every file's record.
        first = failures[0]
        head = json.dumps(first.record())[:-1].encode("utf-8") + b", "
        return Response(head + results, first.status, first.headers,
                        media_type="application/json")

    async def censor(request: Request) -> Response:
        started = time.monotonic()
        config = _check_query(request, "/v1/censor")
        mode = request.query_params.get("mode", "blur")
        what = request.query_params.get("what", "groups")
        if mode not in MODES:
            raise ApiError(400, "bad_parameter", f"mode must be one of {', '.join(MODES)}, "
                           f"got {mode!r}")
        if what not in COVER_WHAT:
            raise ApiError(400, "bad_parameter", f"what must be one of "
                           f"{', '.join(COVER_WHAT)}, got {what!r}")
        margin = request.query_params.get("margin")
        if margin is not None:
            try:
                margin = float(margin)
            except ValueError:
                margin = -1.0
            if not margin >= 0 or margin == float("inf"):
                raise ApiError(400, "bad_parameter", "margin must be a number of pixels >= 0, "
                               f"got {request.query_params['margin']!r}")
        task = {"config": config, "mode": mode, "what": what, "margin": margin,
                "only_flagged": _flag(request, "only_flagged", False)}
        files, _ = await _images(request, settings, budget, single=True)
        name, data = files[0]
        image, media, done = await run("censor", {"data": data, "name": name, **task}, started)
        metrics.label(done["label"])
        headers = {"X-Fleck-Label": done["label"], "X-Fleck-Score": repr(done["score"]),
                   "X-Fleck-Decision": "true" if done["decision"] else "false",
                   "X-Fleck-Config": done["config"], "X-Fleck-Censored": done["what"],
                   "X-Fleck-Censored-Fraction": repr(done["fraction"]),
                   "Content-Disposition": "inline"}
        return Response(image, headers=headers, media_type=media)

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok", "fleck_version": __version__})

    async def readyz(request: Request) -> Response:
        stats = pool.stats() if pool is not None else {}
        if pool is not None and pool.ready:
            return _json({"status": "ready", **stats})
        never = pool is None or not pool.was_ready
        return _json({"status": "starting" if never else "unavailable", **stats}, 503,
                     {"Retry-After": "1"})

    async def configs(request: Request) -> Response:
        listed = []
        for name in CONFIGS:
            config = options.make_config(name)
            listed.append({"name": name, "default": name == settings.config,
                           "skin_model": config.skin.name,
                           "working_size": config.working_size,
                           "threshold": (config.geometry.decision_threshold
                                         if config.verdict.unsafe_threshold is None
                                         else config.verdict.unsafe_threshold),
                           "review_threshold": config.verdict.review_threshold,
                           "max_pixels": config.max_pixels, "min_size": config.min_size})
        return _json({"default": settings.config, "configs": listed,
                      "names": "a name, optionally with a working size: '<name>@<pixels>' "
                               "(height + width after shrinking) or '<name>@native'"})

    async def openapi(request: Request) -> Response:
        return Response(schema, media_type="application/json")

    async def metrics_text(request: Request) -> Response:
        return Response(metrics.render(pool.stats() if pool is not None else {}),
                        media_type=CONTENT_TYPE)

    async def api_error(request: Request, err: Exception) -> Response:
        assert isinstance(err, ApiError)
        metrics.error(err.kind)
        await _drain(request)
        return _closing(request, err.response())

    async def http_error(request: Request, err: Exception) -> Response:
        assert isinstance(err, HTTPException)
        kinds = {404: "not_found", 405: "method_not_allowed"}
        kind = kinds.get(err.status_code, "bad_request")
        metrics.error(kind)
        reason = {404: f"no endpoint {request.url.path}",
                  405: f"{request.method} is not allowed on {request.url.path}"}.get(
                      err.status_code, str(err.detail))
        await _drain(request)
        return _closing(request, ApiError(err.status_code, kind, reason,
                                          dict(err.headers or {})).response())

    async def server_error(request: Request, err: Exception) -> Response:
        log.exception("fleck serve: unexpected error on %s", request.url.path)
        metrics.error("internal_error")
        return ApiError(500, "internal_error", f"{type(err).__name__}: {err}").response()

    routes = [Route("/v1/detect", detect, methods=["POST"]),
              Route("/v1/censor", censor, methods=["POST"]),
              Route("/healthz", healthz, methods=["GET"]),
              Route("/readyz", readyz, methods=["GET"]),
              Route("/v1/configs", configs, methods=["GET"]),
              Route("/openapi.json", openapi, methods=["GET"]),
              Route("/metrics", metrics_text, methods=["GET"])]
    timed = Middleware(_Timed, metrics=metrics, paths={route.path for route in routes},
                       budget=budget)
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[timed],
                    exception_handlers={ApiError: api_error, HTTPException: http_error,
                                        Exception: server_error})
    app.state.metrics = metrics
    app.state.settings = settings
    return app


class _Timed:
    """ASGI middleware: count every HTTP request by endpoint and status, and time it; give
    back the body bytes it held to the budget when it ends."""

    def __init__(self, app: Any, metrics: Metrics, paths: set[str], budget: _Budget) -> None:
        self.app, self.metrics, self.paths, self.budget = app, metrics, paths, budget

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.budget.held -= scope.pop(_HELD, 0)
            path = scope.get("path", "")
            self.metrics.observe(path if path in self.paths else "other", status,
                                 time.perf_counter() - started)
