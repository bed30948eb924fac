"""What the worker processes of ``fleck serve`` run: one :class:`Tasks` per process.

A worker receives encoded image bytes (never a path or a URL) with the request's options, runs
the detector or the censor, and returns what the server sends back: the JSON record
``fleck detect --json`` prints, or the censored image. It keeps one
:class:`~fleck.detector.Detector` per configuration it has been asked for.

Nothing here imports the web stack: the fork server preloads this module, so that a worker
starts in milliseconds, already holding the detector's code.

>>> tasks = Tasks(WorkerOptions())
>>> body, label = tasks.detect(b"not an image at all")
Traceback (most recent call last):
...
fleck.errors.ImageError: <body>: not an image (unrecognised format)
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import socket
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from fleck.config import FleckConfig, get_config
from fleck.detector import Detector
from fleck.errors import ImageError
from fleck.parallel import limit_threads
from fleck.verdict import Thresholds, apply_thresholds

__all__ = ["WorkerOptions", "Tasks", "classify", "worker_main", "read_frame", "write_frame",
           "IMAGE_ERRORS"]

#: The ``kind`` of each refusal of an image, the HTTP status it gets and what it means.
IMAGE_ERRORS = {
    "not_an_image": (422, "the body is not an image fleck can read (or is empty)"),
    "corrupt_image": (422, "an image whose data is truncated or corrupt"),
    "unsupported_image": (422, "an image in a colour mode or variant fleck cannot decode"),
    "too_many_pixels": (422, "more pixels than the limit, judged from the header before "
                             "decoding: a decompression bomb, or a very large image"),
    "too_small": (422, "an image whose smaller side is under the minimum (16 px)"),
}

_HEADER = struct.Struct("!Q")
_CACHE_SIZE = 8  # detectors kept per worker (configurations asked for by name)


def classify(reason: str) -> str:
    """The ``kind`` (a key of :data:`IMAGE_ERRORS`) of an :class:`~fleck.errors.ImageError`'s
    reason.

    Parameters
    ----------
    reason : str
        ``ImageError.reason``, as :mod:`fleck.loading` words it.

    Returns
    -------
    str

    Examples
    --------
    >>> classify("too large: 60000x60000 = 3600.0 megapixels > limit 100.0")
    'too_many_pixels'
    >>> classify("not an image (unrecognised format)"), classify("image file is truncated")
    ('not_an_image', 'corrupt_image')
    """
    text = reason.lower()
    if text.startswith("too large"):
        return "too_many_pixels"
    if text.startswith("too small"):
        return "too_small"
    if text.startswith(("not an image", "empty")):
        return "not_an_image"
    if text.startswith("unsupported"):
        return "unsupported_image"
    return "corrupt_image"


@dataclass(frozen=True)
class WorkerOptions:
    """What every worker is told once, when it starts.

    Parameters
    ----------
    config : str
        The configuration warmed up at start and used when a request names none.
    max_pixels : int or None
        Refuse images with more pixels (from the header); None keeps the configuration's.
    thresholds : Thresholds or None
        Calibrated thresholds applied to every configuration.

    Examples
    --------
    >>> WorkerOptions(max_pixels=1000).make_config("kapur").max_pixels
    1000
    """

    config: str = "fleck1996"
    max_pixels: int | None = None
    thresholds: Thresholds | None = None

    def make_config(self, name: str | None) -> FleckConfig:
        """The configuration ``name`` (default :attr:`config`) with the server's limits and
        thresholds.

        Parameters
        ----------
        name : str or None
            A name :func:`fleck.config.get_config` knows.

        Returns
        -------
        FleckConfig

        Examples
        --------
        >>> WorkerOptions().make_config(None).name
        'fleck1996'
        """
        config = get_config(name or self.config)
        if self.max_pixels is not None:
            config = config.replace(max_pixels=int(self.max_pixels))
        if self.thresholds is not None:
            config = apply_thresholds(config, self.thresholds)
        return config


class Tasks:
    """The work of one worker process: detection records and censored images from bytes.

    Parameters
    ----------
    options : WorkerOptions

    Examples
    --------
    >>> from fleck import synth
    >>> tasks = Tasks(WorkerOptions())
    >>> body, label = tasks.detect(synth.encode_jpeg(synth.figure(1, size=(120, 160)).image))
    >>> record = json.loads(body)
    >>> {"decision", "score", "reason", "config"} <= set(record), record["label"] == label
    (True, True)
    """

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self._detectors: OrderedDict[str, Detector] = OrderedDict()

    def detector(self, config: str | None) -> Detector:
        """The detector of configuration ``config`` (default: the server's), kept for reuse.

        Parameters
        ----------
        config : str or None

        Returns
        -------
        fleck.Detector

        Examples
        --------
        >>> Tasks(WorkerOptions()).detector("kapur").config.name
        'kapur'
        """
        key = config or self.options.config
        detector = self._detectors.pop(key, None) or Detector(self.options.make_config(key))
        self._detectors[key] = detector
        while len(self._detectors) > _CACHE_SIZE:
            self._detectors.popitem(last=False)
        return detector

    def warm(self) -> None:
        """Run the default detector once, so that the first request pays no start-up cost.

        Examples
        --------
        >>> Tasks(WorkerOptions()).warm()
        """
        from fleck import synth

        # Encoded, as requests come: the first JPEG and PNG decodes cost a few hundred ms.
        image = synth.figure(0, size=(120, 160)).image
        for data in (synth.encode_jpeg(image), _png(image)):
            self.detect(data)

    def detect(self, data: bytes, *, name: str | None = None, config: str | None = None,
               regions: bool = True, skin_rle: bool = False) -> tuple[bytes, str]:
        """The record of ``fleck detect --json`` for an encoded image, as JSON bytes.

        Parameters
        ----------
        data : bytes
            The encoded image.
        name : str, optional
            The record's ``path``: the name the client gave the file (a label; never opened).
        config : str, optional
            Configuration name (default: the server's).
        regions : bool
            Keep the record's ``regions`` list.
        skin_rle : bool
            Add the skin map's run-length encoding to the skin region.

        Returns
        -------
        (bytes, str)
            The UTF-8 JSON record and its label (safe, review or unsafe).

        Raises
        ------
        fleck.ImageError
            If the bytes are not an image fleck can read, or are refused.

        Examples
        --------
        >>> from fleck import synth
        >>> body, label = Tasks(WorkerOptions()).detect(synth.encode_jpeg(
        ...     synth.figure(0, size=(120, 160)).image), name="a.jpg", regions=False)
        >>> record = json.loads(body)
        >>> record["path"], record["status"], "regions" in record
        ('a.jpg', 'ok', False)
        """
        from fleck.regions import attach_skin_rle

        detection = self.detector(config).detect(data, name=name or "<body>")
        record = {"path": name, "status": "ok", **detection.summary()}
        if not regions:
            record.pop("regions", None)
        elif skin_rle:
            attach_skin_rle(record, detection)
        return json.dumps(record, ensure_ascii=False).encode("utf-8"), detection.label

    def censor(self, data: bytes, *, name: str | None = None, config: str | None = None,
               mode: str = "blur", what: str = "groups", margin: float | None = None,
               only_flagged: bool = False) -> tuple[bytes, str, dict]:
        """The censored copy of an encoded image (:func:`fleck.censoring.censor_bytes`).

        Parameters
        ----------
        data : bytes
            The encoded image.
        name : str, optional
            What error messages call it.
        config : str, optional
            Configuration name (default: the server's).
        mode, what, margin, only_flagged
            As in :func:`fleck.censoring.censor_bytes`.

        Returns
        -------
        (bytes, str, dict)
            The image (same format as ``data``), its media type, and what was done: label,
            score, decision, config, and ``what``, ``margin``, ``fraction`` censored.

        Raises
        ------
        fleck.ImageError
            If the bytes are not an image fleck can read, or are refused.

        Examples
        --------
        >>> import numpy as np
        >>> from fleck import synth
        >>> data = synth.encode_jpeg(np.full((60, 80, 3), (176, 112, 80), np.uint8))
        >>> image, media, done = Tasks(WorkerOptions()).censor(data, what="skin", mode="fill")
        >>> media, done["what"], done["fraction"]
        ('image/jpeg', 'skin', 1.0)
        """
        from PIL import Image

        from fleck.censoring import censor_bytes

        done, image = censor_bytes(data, detector=self.detector(config), mode=mode, what=what,
                                   margin=margin, only_flagged=only_flagged,
                                   name=name or "<body>")
        with Image.open(io.BytesIO(image)) as written:
            media = Image.MIME.get(written.format or "", "application/octet-stream")
        detection = done.detection
        return image, media, {"label": detection.label, "score": detection.score,
                              "decision": detection.decision, "config": detection.config,
                              "mode": mode, "what": done.what, "margin": done.margin,
                              "fraction": round(done.fraction, 6)}

    def run(self, kind: str, options: dict) -> object:
        """Dispatch one task: ``kind`` is ``"detect"`` or ``"censor"``, ``options`` its
        keyword arguments.

        Parameters
        ----------
        kind : str
        options : dict

        Returns
        -------
        object
            What :meth:`detect` or :meth:`censor` returns.

        Examples
        --------
        >>> Tasks(WorkerOptions()).run("sleep", {})
        Traceback (most recent call last):
        ...
        ValueError: unknown task 'sleep'
        """
        if kind == "detect":
            return self.detect(**options)
        if kind == "censor":
            return self.censor(**options)
        raise ValueError(f"unknown task {kind!r}")


def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


# -- the wire: length-prefixed pickles over a socket pair ----------------------------------------

def write_frame(sock: socket.socket, message: object) -> None:
    """Send one message (a pickle behind its 8-byte length) on a blocking socket.

    Parameters
    ----------
    sock : socket.socket
    message : object
        Anything picklable.

    Examples
    --------
    >>> a, b = socket.socketpair()
    >>> write_frame(a, ("ready", 1)); read_frame(b)
    ('ready', 1)
    """
    blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(blob)))
    sock.sendall(blob)


def read_frame(sock: socket.socket) -> object:
    """Receive one message :func:`write_frame` sent; EOFError when the other end closed.

    Parameters
    ----------
    sock : socket.socket

    Returns
    -------
    object

    Examples
    --------
    >>> a, b = socket.socketpair()
    >>> a.close(); read_frame(b)
    Traceback (most recent call last):
    ...
    EOFError: connection closed
    """
    size = _HEADER.unpack(_read_exactly(sock, _HEADER.size))[0]
    return pickle.loads(_read_exactly(sock, size))


def _read_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view, done = memoryview(buffer), 0
    while done < size:
        got = sock.recv_into(view[done:])
        if not got:
            raise EOFError("connection closed")
        done += got
    return buffer


def worker_main(sock: socket.socket, options: WorkerOptions) -> None:
    """The life of a worker process: warm up, say ``ready``, then answer tasks until the server
    closes the socket.

    Each message from the server is ``(kind, options)``; each answer ``("ok", result)`` or
    ``("error", (kind, reason))`` with kind ``image`` (a refused image: the
    :class:`~fleck.errors.ImageError` reason), ``bad_request`` (a bad option) or ``internal``
    (a bug: the worker goes on).

    Parameters
    ----------
    sock : socket.socket
        This worker's end of its socket pair.
    options : WorkerOptions

    Examples
    --------
    >>> import threading
    >>> server, worker = socket.socketpair()
    >>> thread = threading.Thread(target=worker_main, args=(worker, WorkerOptions()))
    >>> thread.start()
    >>> read_frame(server)[0]
    'ready'
    >>> write_frame(server, ("detect", {"data": b"GIF89a"})); read_frame(server)[1][0]
    'image'
    >>> server.close(); thread.join()
    """
    if threading.current_thread() is threading.main_thread():  # a worker process
        # A Ctrl-C in the terminal reaches the whole process group: the server decides.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        limit_threads()
    tasks = Tasks(options)
    try:
        tasks.warm()
        write_frame(sock, ("ready", os.getpid()))
        while True:
            try:
                kind, task = read_frame(sock)
            except (EOFError, OSError):
                return
            try:
                answer: tuple = ("ok", tasks.run(kind, task))
            except ImageError as err:
                answer = ("error", ("image", err.reason))
            except ValueError as err:
                answer = ("error", ("bad_request", str(err)))
            except Exception as err:  # noqa: BLE001 - a bug costs one request, not the worker
                answer = ("error", ("internal", f"{type(err).__name__}: {err}"))
            write_frame(sock, answer)
    except (BrokenPipeError, ConnectionError):
        return
    finally:
        sock.close()

