"""``fleck serve [--host 127.0.0.1] [--port 8080] [--workers N] ...``: the detector over HTTP.

Endpoints: ``POST /v1/detect`` (the record ``fleck detect --json`` prints), ``POST
/v1/censor`` (the censored image), ``GET /healthz``, ``GET /readyz``, ``GET /v1/configs``,
``GET /openapi.json``, ``GET /metrics``. Needs the ``serve`` extra (``pip install
'fleck[serve]'``); without it the command says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run"]

EPILOG = """\
examples:
  fleck serve                                   # http://127.0.0.1:8080, one worker per core
  curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' \\
       http://127.0.0.1:8080/v1/detect
  curl -F file=@a.jpg -F file=@b.png 'http://127.0.0.1:8080/v1/detect?regions=false'
  curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' -o censored.jpg \\
       'http://127.0.0.1:8080/v1/censor?mode=pixelate'

The server reads image bytes only, never a path or URL sent by a client. It listens on
127.0.0.1 (this machine) unless --host says otherwise; it has no authentication or TLS: put a
reverse proxy in front of it before exposing it.
"""


def _size(text: str) -> int:
    from fleck.serve.settings import parse_size

    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fleck serve`` to ``subparsers`` (its ``func`` is :func:`run`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers()``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="fleck")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["serve", "--max-bytes", "2MB", "--timeout", "5"])
    >>> args.func is run, args.host, args.port, args.max_bytes, args.timeout
    (True, '127.0.0.1', 8080, 2000000, 5.0)
    """
    from fleck.commands._common import add_thresholds_option
    from fleck.serve.settings import DEFAULT_MAX_BYTES

    parser = subparsers.add_parser(
        "serve", help="serve the detector as an HTTP API (needs fleck[serve])",
        description="Serve fleck over HTTP: POST image bytes to /v1/detect for the record "
                    "`fleck detect --json` prints, or to /v1/censor for the censored image. "
                    "The image work runs in worker processes, so the server keeps answering "
                    "while they compute.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                             "0.0.0.0 for every interface, e.g. in a container)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument("--workers", type=_count, default=None, metavar="N",
                        help="worker processes (default: one per core available, "
                             "CPU quota included)")
    parser.add_argument("--config", default="fleck1996", metavar="NAME",
                        help="configuration used when a request names none (fleck1996, "
                             "kapur, fitted, fitted_strict, fleck_plus; '<name>@<N>' sets the "
                             "working size); requests choose with ?config=NAME")
    parser.add_argument("--max-bytes", type=_size, default=DEFAULT_MAX_BYTES, metavar="SIZE",
                        help="largest request body, e.g. 20MB (the default), 512KiB; larger "
                             "ones get 413 before they are read")
    parser.add_argument("--timeout", type=_seconds, default=30.0, metavar="S",
                        help="seconds a request may take, waiting for a worker included "
                             "(default 30); then 504, and the worker running it is replaced")
    parser.add_argument("--max-pixels", type=_count, default=None, metavar="N",
                        help="refuse images with more pixels, judged from the header before "
                             "decoding (default: the configuration's, 100 megapixels)")
    parser.add_argument("--max-files", type=_count, default=32, metavar="N",
                        help="most 'file' parts in one multipart request (default 32)")
    parser.add_argument("--max-queue", type=_count, default=256, metavar="N",
                        help="most requests waiting for a worker; more get 503 (default 256)")
    add_thresholds_option(parser)
    parser.add_argument("--no-access-log", dest="access_log", action="store_false",
                        help="do not log a line per request")
    parser.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warning", "error"),
                        help="server log level (default info)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fleck serve`` with parsed arguments until interrupted; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        From the parser :func:`register` built.

    Returns
    -------
    int
        0 after a clean stop, 2 for a usage error, a missing ``serve`` extra or an address that
        cannot be listened on.

    Examples
    --------
    :func:`fleck.cli.main` parses the arguments and calls it:

    >>> from fleck.cli import main
    >>> main(["serve", "--config", "no_such_config"])
    2
    """
    from fleck.serve import MissingExtra, ServeSettings
    from fleck.serve import run as serve

    settings = ServeSettings(host=args.host, port=args.port, workers=args.workers,
                             config=args.config, max_bytes=args.max_bytes,
                             timeout=args.timeout, max_pixels=args.max_pixels,
                             max_files=args.max_files, max_queue=args.max_queue,
                             thresholds=args.thresholds, access_log=args.access_log)
    try:
        serve(settings, log_level=args.log_level)
    except MissingExtra as err:
        print(f"fleck serve: error: {err}", file=sys.stderr)
        return 2
    except SystemExit as stop:  # uvicorn could not start (the port is taken...): logged above
        if stop.code in (0, None):
            return 0
        print(f"fleck serve: error: the server could not start on {args.host}:{args.port}",
              file=sys.stderr)
        return 2
    return 0
