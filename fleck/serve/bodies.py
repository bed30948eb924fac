"""Reading requests for :mod:`fleck.serve.app`: query parameters, bodies (raw or multipart,
within the size limit and the memory budget), and the JSON error answers (:class:`ApiError`).

>>> ApiError(413, "too_large", "the body is over 20 MB").record()
{'status': 'error', 'kind': 'too_large', 'error': 'the body is over 20 MB'}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from fleck.config import get_config
from fleck.serve.failures import PoolBusy, PoolClosed, TaskFailed, TaskTimeout, WorkerCrashed
from fleck.serve.settings import ServeSettings
from fleck.serve.work import IMAGE_ERRORS, classify

__all__ = ["ApiError", "QUERY"]

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
