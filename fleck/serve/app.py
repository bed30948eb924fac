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
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from fleck._version import __version__
from fleck.censoring import MODES
from fleck.config import CONFIGS, get_config
from fleck.regions import COVER_WHAT
from fleck.serve.metrics import CONTENT_TYPE, Metrics
from fleck.serve.openapi import openapi_schema
from fleck.serve.pool import (
    PoolBusy,
    PoolClosed,
    ServePool,
    TaskFailed,
    TaskTimeout,
    WorkerCrashed,
)
from fleck.serve.settings import ServeSettings
from fleck.serve.work import IMAGE_ERRORS, WorkerOptions, classify

__all__ = ["create_app", "ApiError", "QUERY"]

log = logging.getLogger("fleck.serve")

#: The query parameters each endpoint accepts (any other is a 400).
QUERY = {"/v1/detect": ("config", "regions", "skin_rle"),
         "/v1/censor": ("config", "mode", "what", "margin", "only_flagged")}

_RAW_TYPES = ("application/octet-stream",)
# A body refused for its size is still read and thrown away, up to this many bytes, so that the
# client (which may still be sending it) reads the 413 instead of a reset connection.
_DRAIN_BYTES = 64 * 2**20
_DRAIN_SECONDS = 5.0
# Request bodies held in memory at once, across requests (or 4x --max-bytes if larger).
_BUFFER_BYTES = 256 * 2**20
# Where a request's scope records what became of its body, and how many bytes it holds.
_BODY, _HELD = "fleck.body", "fleck.held"
_NAME_LENGTH = 255


class ApiError(Exception):
    """An error answer: HTTP ``status``, a machine-readable ``kind`` and a one-line ``reason``.

    Parameters
    ----------
    status : int
    kind : str
    reason : str
    headers : dict, optional

    Examples
    --------
    >>> err = ApiError(415, "unsupported_media_type", "send image/* bytes")
    >>> err.response().status_code, json.loads(err.response().body)["kind"]
    (415, 'unsupported_media_type')
    """

    def __init__(self, status: int, kind: str, reason: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason
        self.headers = headers or {}

    def record(self, name: str | None = None) -> dict:
        """The error as a record (``path`` first when ``name`` is given, as in a batch)."""
        record = {"path": name} if name is not None else {}
        record.update({"status": "error", "kind": self.kind, "error": self.reason})
        return record

    def response(self) -> Response:
        """The JSON answer."""
        return _json(self.record(), self.status, self.headers)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _json(document: Any, status: int = 200, headers: dict | None = None) -> Response:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(body, status, headers, media_type="application/json")


def _from_task(err: BaseException) -> ApiError:
    """The answer for what :meth:`ServePool.run` raised."""
    if isinstance(err, TaskFailed):
        if err.kind == "image":
            kind = classify(err.reason)
            return ApiError(IMAGE_ERRORS[kind][0], kind, err.reason)
        if err.kind == "bad_request":
            return ApiError(400, "bad_parameter", err.reason)
        return ApiError(500, "internal_error", err.reason)
    if isinstance(err, TaskTimeout):
        return ApiError(504, "timeout", f"the image took too long ({err})")
    if isinstance(err, WorkerCrashed):
        return ApiError(500, "worker_crashed", f"the worker processing the image died ({err}); "
                        "it has been replaced, retry")
    if isinstance(err, PoolBusy):
        return ApiError(503, "busy", str(err), {"Retry-After": "1"})
    if isinstance(err, PoolClosed):
        return ApiError(503, "unavailable", str(err), {"Retry-After": "5"})
    raise err


# -- request parsing ------------------------------------------------------------------------------

def _flag(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ApiError(400, "bad_parameter", f"{name} must be true or false, got {value!r}")


def _check_query(request: Request, endpoint: str) -> str | None:
    """Refuse unknown parameters; return the configuration asked for (checked), if any."""
    unknown = sorted(set(request.query_params) - set(QUERY[endpoint]))
    if unknown:
        raise ApiError(400, "bad_parameter", f"unknown query parameter {unknown[0]!r}; "
                       f"{endpoint} takes {', '.join(QUERY[endpoint])}")
    config = request.query_params.get("config")
    if config is not None:
        try:
            get_config(config)
        except ValueError as err:
            raise ApiError(400, "bad_parameter", str(err)) from None
    return config


class _Budget:
    """Bytes of request bodies held in memory at once, across requests: a request that would
    pass ``limit`` gets 503 (retry later) instead of the server running out of memory."""

    def __init__(self, limit: int) -> None:
        self.limit, self.held = limit, 0

    def take(self, request: Request, size: int) -> None:
        others = self.held - request.scope.get(_HELD, 0)
        if self.held + size > self.limit and others > 0:
            raise ApiError(503, "busy", "too many request bodies are being held; retry",
                           {"Retry-After": "1"})
        self.held += size
        request.scope[_HELD] = request.scope.get(_HELD, 0) + size


async def _read_body(request: Request, max_bytes: int, budget: _Budget) -> bytes:
    """The request's body, refused with 413 as soon as it is known to exceed ``max_bytes``:
    from ``Content-Length`` before reading anything, else while reading (chunked bodies)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise ApiError(400, "bad_request", f"bad Content-Length {declared!r}") from None
        if length > max_bytes:
            if length > _DRAIN_BYTES:
                request.scope[_BODY] = "refused"  # not worth reading: the connection closes
            raise _too_large(max_bytes, f"Content-Length is {length} bytes")
        budget.take(request, length)
    chunks, total = [], 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_bytes:
                raise _too_large(max_bytes, f"more than {max_bytes} bytes were sent")
            if declared is None:
                budget.take(request, len(chunk))
            chunks.append(chunk)
    except ClientDisconnect:
        request.scope[_BODY] = "gone"
        raise ApiError(400, "client_disconnected", "the client closed the connection while "
                       "sending the body") from None
    request.scope[_BODY] = "read"
    return b"".join(chunks)


def _too_large(max_bytes: int, what: str) -> ApiError:
    return ApiError(413, "body_too_large", f"request body too large: {what}; this server "
                    f"accepts at most {max_bytes} bytes (--max-bytes)")


async def _drain(request: Request) -> None:
    """Read and discard what is left of the body of a request answered with an error, so that
    the client, which may still be sending it, reads the answer instead of a reset connection.
    At most ``_DRAIN_BYTES`` for ``_DRAIN_SECONDS``: past that the connection is closed after
    the answer (:func:`_closing`). Not when the client waits for ``100 Continue`` before
    sending the body (curl does, for large bodies): then it sends nothing."""
    if request.scope.get(_BODY):
        return
    if request.headers.get("expect", "").lower() == "100-continue":
        request.scope[_BODY] = "not sent"
        return
    if request.headers.get("content-length", "0") == "0" and \
            "chunked" not in request.headers.get("transfer-encoding", "").lower():
        return
    request.scope[_BODY] = "partly drained"  # until the end is seen
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _DRAIN_SECONDS
    received = 0
    with contextlib.suppress(ClientDisconnect, asyncio.TimeoutError, RuntimeError,
                             StopAsyncIteration):
        stream = request.stream().__aiter__()
        while received < _DRAIN_BYTES:
            chunk = await asyncio.wait_for(stream.__anext__(), deadline - loop.time())
            received += len(chunk)
            if not chunk:
                request.scope[_BODY] = "drained"
                break


def _closing(request: Request, response: Response) -> Response:
    """Close the connection after ``response`` unless the request's body was read to its end:
    the server then reads no more of it."""
    if request.scope.get(_BODY) not in (None, "read", "drained"):
        response.headers["Connection"] = "close"
    return response


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _images(request: Request, settings: ServeSettings, budget: _Budget, *,
                  single: bool) -> tuple[list[tuple[str | None, bytes]], bool]:
    """The images a request carries, as (client's file name or None, bytes), and whether it was
    a multipart request."""
    media = _media_type(request)
    multipart = media == "multipart/form-data"
    if not (multipart or not media or media.startswith("image/") or media in _RAW_TYPES):
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type {media!r} is not accepted: send the image's bytes as the "
                       "body (Content-Type image/* or application/octet-stream) or as 'file' "
                       "parts of multipart/form-data")
    body = await _read_body(request, settings.max_bytes, budget)
    if not multipart:
        if not body:
            raise ApiError(400, "empty_body", "the request has no body: send the image's bytes")
        return [(None, body)], False
    files = await _parse_multipart(request, body, settings.max_files)
    if single and len(files) > 1:
        raise ApiError(400, "too_many_files", f"this endpoint takes one 'file' part, got "
                       f"{len(files)}")
    return files, True


async def _parse_multipart(request: Request, body: bytes,
                           max_files: int) -> list[tuple[str | None, bytes]]:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    parsed = Request(request.scope, replay)
    try:
        form = await parsed.form(max_files=max_files, max_fields=max_files)
    except HTTPException as err:  # malformed, or too many parts
        kind = "too_many_files" if "too many" in str(err.detail).lower() else "bad_multipart"
        raise ApiError(400, kind, f"multipart body refused: {err.detail}") from None
    except Exception as err:  # noqa: BLE001 - whatever the parser chokes on is the client's
        raise ApiError(400, "bad_multipart", f"multipart body refused: {err}") from None
    try:
        parts = form.getlist("file")
        if not parts:
            raise ApiError(400, "no_file", "the multipart body has no 'file' part (send "
                           "-F file=@photo.jpg)")
        files = []
        for part in parts:
            if not isinstance(part, UploadFile):
                raise ApiError(400, "bad_multipart", "a 'file' part must be a file (with a "
                               "filename), not a text field")
            name = (part.filename or "")[:_NAME_LENGTH] or None
            files.append((name, await part.read()))
        return files
    finally:
        await form.close()


# -- the application ------------------------------------------------------------------------------

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
