"""``GET /openapi.json``: the OpenAPI 3.1 description of the ``fleck serve`` API.

Written out by hand, next to the code it describes (``fleck/serve/app.py``); a test checks that
every route is described and every described route exists.

>>> schema = openapi_schema()
>>> schema["openapi"], sorted(schema["paths"])[:3]
('3.1.0', ['/healthz', '/metrics', '/openapi.json'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleck._version import __version__
from fleck.censoring import MODES
from fleck.config import CONFIGS
from fleck.regions import COVER_WHAT

if TYPE_CHECKING:
    from fleck.serve.settings import ServeSettings

__all__ = ["openapi_schema"]

_IMAGE_BODY = {
    "description": "The image's bytes (any format fleck reads: JPEG, PNG, GIF, WebP, BMP, "
                   "TIFF...), or a multipart/form-data body with the image in a part named "
                   "'file'.",
    "required": True,
    "content": {
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "array",
                                    "items": {"type": "string", "format": "binary"}}}}},
    },
}

_ERROR = {
    "type": "object", "required": ["status", "kind", "error"],
    "properties": {
        "status": {"const": "error"},
        "kind": {"type": "string", "description": "machine-readable: not_an_image, "
                 "corrupt_image, unsupported_image, too_many_pixels, too_small, "
                 "body_too_large, empty_body, unsupported_media_type, bad_parameter, "
                 "bad_request, bad_multipart, no_file, too_many_files, timeout, "
                 "worker_crashed, busy, unavailable, internal_error, not_found, "
                 "method_not_allowed"},
        "error": {"type": "string", "description": "the reason, in one line"},
        "path": {"type": ["string", "null"], "description": "the file's name (multipart)"},
        "results": {"type": "array", "description": "multipart: every file's record"},
    },
}

_RECORD = {
    "type": "object",
    "description": "The record `fleck detect --json` prints: path (the multipart file name, "
                   "else null), status, and Detection.summary().",
    "required": ["status", "decision", "score", "threshold", "label", "rule", "reason",
                 "config", "fleck_version"],
    "properties": {
        "path": {"type": ["string", "null"]},
        "status": {"const": "ok"},
        "decision": {"type": "boolean", "description": "score >= threshold"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "threshold": {"type": "number"},
        "label": {"enum": ["safe", "review", "unsafe"]},
        "review_threshold": {"type": ["number", "null"]},
        "skin_fraction": {"type": "number"},
        "passes_skin": {"type": "boolean"},
        "rule": {"type": ["string", "null"], "description": "the group type that fired"},
        "reason": {"type": "string", "description": "why, in one line"},
        "groups": {"type": "object", "additionalProperties": {"type": "integer"}},
        "times_ms": {"type": "object", "additionalProperties": {"type": "number"}},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "config": {"type": "string"},
        "fleck_version": {"type": "string"},
        "regions": {"type": "array", "items": {"type": "object"},
                    "description": "groups, limbs, segments and the skin map: kind, rule, box "
                                   "[x0, y0, x1, y1], polygon, score (omitted with "
                                   "regions=false)"},
    },
}


def _errors(*codes: int) -> dict:
    described = {400: "bad request: parameter, multipart body, empty body",
                 413: "body larger than --max-bytes (refused before it is read)",
                 415: "Content-Type is not image/*, application/octet-stream or "
                      "multipart/form-data",
                 422: "not an image, corrupt, too many pixels (decompression bomb), too small",
                 500: "a worker crashed (it is replaced) or an internal error",
                 503: "too many requests waiting or request bodies held, or shutting "
                      "down",
                 504: "the image took longer than --timeout"}
    return {str(code): {"description": described[code],
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}}}}
            for code in codes}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def openapi_schema(settings: ServeSettings | None = None) -> dict:
    """The OpenAPI 3.1 document of the API served with ``settings``.

    Parameters
    ----------
    settings : ServeSettings, optional
        Fills in the defaults the document states (configuration, limits).

    Returns
    -------
    dict
        JSON-able.

    Examples
    --------
    >>> schema = openapi_schema()
    >>> [p["name"] for p in schema["paths"]["/v1/detect"]["post"]["parameters"]]
    ['config', 'regions', 'skin_rle']
    """
    default = settings.config if settings is not None else "fleck1996"
    config = _query("config", {"type": "string", "default": default,
                               "examples": list(CONFIGS) + ["fleck1996@480"]},
                    "detector configuration: " + ", ".join(CONFIGS)
                    + ", optionally '@<working size>' or '@native'")
    errors = _errors(400, 413, 415, 422, 500, 503, 504)
    return {
        "openapi": "3.1.0",
        "info": {"title": "fleck serve", "version": __version__,
                 "description": "The Fleck-Forsyth-Bregler (1996) rule-based nudity detector "
                                "over HTTP. Images are sent as bytes; the server never reads "
                                "a path or a URL."},
        "paths": {
            "/v1/detect": {"post": {
                "summary": "Detect: the record `fleck detect --json` prints",
                "operationId": "detect",
                "parameters": [
                    config,
                    _query("regions", {"type": "boolean", "default": True},
                           "include the regions list (false: leave it out)"),
                    _query("skin_rle", {"type": "boolean", "default": False},
                           "add the skin map's run-length encoding to the skin region"),
                ],
                "requestBody": _IMAGE_BODY,
                "responses": {
                    "200": {"description": "one record for a raw body; {results: [...]} for "
                                           "a multipart body (a file that failed has an error "
                                           "record; the status is an error's only when every "
                                           "file failed)",
                            "content": {"application/json": {"schema": {"oneOf": [
                                {"$ref": "#/components/schemas/Record"},
                                {"type": "object", "properties": {"results": {
                                    "type": "array", "items": {"oneOf": [
                                        {"$ref": "#/components/schemas/Record"},
                                        {"$ref": "#/components/schemas/Error"}]}}}}]}}}},
                    **errors}}},
            "/v1/censor": {"post": {
                "summary": "Censor: the image with what fleck found blurred, pixelated or "
                           "covered, in its own format and size",
                "operationId": "censor",
                "parameters": [
                    config,
                    _query("mode", {"enum": list(MODES), "default": "blur"},
                           "how to obscure"),
                    _query("what", {"enum": list(COVER_WHAT), "default": "groups"},
                           "what to cover (a flagged image whose choice covers nothing gets "
                           "the next wider one)"),
                    _query("margin", {"type": "number", "minimum": 0},
                           "pixels added around the covered regions (default 1 % of the "
                           "image's mean side)"),
                    _query("only_flagged", {"type": "boolean", "default": False},
                           "return the image unchanged unless it is flagged"),
                ],
                "requestBody": _IMAGE_BODY,
                "responses": {
                    "200": {"description": "the censored image; headers X-Fleck-Label, "
                                           "X-Fleck-Score, X-Fleck-Decision, X-Fleck-Config, "
                                           "X-Fleck-Censored (what was covered), "
                                           "X-Fleck-Censored-Fraction",
                            "content": {"image/*": {"schema": {"type": "string",
                                                               "format": "binary"}}}},
                    **errors}}},
            "/healthz": {"get": {"summary": "Liveness: the server process answers",
                                 "operationId": "healthz",
                                 "responses": {"200": {"description": "alive"}}}},
            "/readyz": {"get": {"summary": "Readiness: the worker processes are warm",
                                "operationId": "readyz",
                                "responses": {"200": {"description": "ready"},
                                              "503": {"description": "starting or no worker "
                                                                     "alive"}}}},
            "/v1/configs": {"get": {"summary": "The configurations a request may name",
                                    "operationId": "configs",
                                    "responses": {"200": {"description": "default and list"}}}},
            "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                      "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/metrics": {"get": {"summary": "Counters in the Prometheus text format",
                                 "operationId": "metrics",
                                 "responses": {"200": {"description": "text/plain; "
                                                                      "version=0.0.4"}}}},
        },
        "components": {"schemas": {"Record": _RECORD, "Error": _ERROR}},
    }
