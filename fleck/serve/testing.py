"""Testing a ``fleck serve``: the server in a subprocess, and bodies that must be refused.

For tests and load tests of the server (fleck's own, and a pipeline's): :class:`ServerProcess`
starts it on a free port of 127.0.0.1, waits until ``/readyz`` says the workers are warm, and
stops it by its PID with SIGTERM (a clean shutdown); :func:`hostile_bodies` are requests that
must each get a 4xx answer naming the reason.

>>> png_header(100_000, 100_000)[:4]
b'\x89PNG'
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

__all__ = ["ServerProcess", "free_port", "hostile_bodies", "png_header"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the system's choice).

    Parameters
    ----------
    host : str

    Returns
    -------
    int

    Examples
    --------
    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ServerProcess:
    """Run ``fleck serve ARGS`` in a subprocess; its output goes to ``log``.

    Parameters
    ----------
    *args : str
        Options of ``fleck serve`` (``--host`` and ``--port`` are chosen here).
    log : path, optional
        File for the server's output (default: a temporary file).
    env : dict, optional
        Environment of the server (default: this process's).

    Examples
    --------
    >>> server = ServerProcess("--workers", "1")
    >>> server.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, *args: str, log: str | os.PathLike | None = None,
                 env: dict | None = None) -> None:
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(log) if log else Path(tempfile.mkstemp(prefix="fleck-serve-",
                                                               suffix=".log")[1])
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The server process's PID (None before :meth:`start`)."""
        return self.process.pid if self.process else None

    def start(self, timeout: float = 120.0) -> ServerProcess:
        """Start the server and wait until ``/readyz`` answers 200.

        Parameters
        ----------
        timeout : float
            Seconds to wait for readiness.

        Returns
        -------
        ServerProcess
            ``self``.

        Raises
        ------
        RuntimeError
            If the server exits or is not ready in time (the message ends with its output).
        """
        command = [sys.executable, "-m", "fleck.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), *self.args]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fleck serve exited with status {self.process.returncode}"
                                   f":\n{self.output()}")
            try:
                if self.ready() is not None:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"fleck serve was not ready within {timeout:g} s:\n{self.output()}")

    def ready(self) -> dict | None:
        """``/readyz``'s answer when it is 200, else None.

        Returns
        -------
        dict or None
            Pool figures: ``pids``, ``busy_pids``, ``warm``, ``restarts``...

        Raises
        ------
        OSError
            If nothing answers.
        """
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as err:
            if err.code == 503:
                return None
            raise

    def output(self) -> str:
        """What the server printed so far."""
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the server (a clean shutdown: workers stopped), SIGKILL it if it lingers.

        Parameters
        ----------
        timeout : float
            Seconds to wait after SIGTERM.

        Returns
        -------
        int or None
            Its exit status (None if it was never started).
        """
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def png_header(width: int, height: int) -> bytes:
    """A small PNG file whose header announces ``width`` x ``height`` pixels: a decompression
    bomb when they are many (its pixel data is a few bytes: decoding it would fail, but a
    server must refuse it from the header, before allocating anything).

    Parameters
    ----------
    width, height : int

    Returns
    -------
    bytes

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> Image.open(io.BytesIO(png_header(40, 30))).size
    (40, 30)
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def hostile_bodies(jpeg: bytes, max_bytes: int) -> dict[str, tuple[str, bytes, int, str]]:
    """Requests a server must refuse, each with the answer it must give.

    Parameters
    ----------
    jpeg : bytes
        A valid JPEG (truncated for one body, mislabelled for another).
    max_bytes : int
        The server's ``--max-bytes``.

    Returns
    -------
    dict
        name -> (Content-Type, body, expected status, expected ``kind``).

    Examples
    --------
    >>> bodies = hostile_bodies(b"\\xff\\xd8" + bytes(100), max_bytes=1000)
    >>> bodies["decompression_bomb"][2:], bodies["too_large"][2:]
    ((422, 'too_many_pixels'), (413, 'body_too_large'))
    """
    noise = bytes((i * 7919 + 13) % 251 for i in range(4096))
    boundary = "fleckboundary"
    return {
        "not_an_image": ("image/jpeg", noise, 422, "not_an_image"),
        "truncated_jpeg": ("image/jpeg", jpeg[: len(jpeg) // 2], 422, "corrupt_image"),
        "decompression_bomb": ("image/png", png_header(100_000, 100_000), 422,
                               "too_many_pixels"),
        "tiny_image": ("image/png", png_header(8, 8), 422, "too_small"),
        "too_large": ("application/octet-stream", b"\0" * (max_bytes + 1), 413,
                      "body_too_large"),
        "wrong_type": ("text/plain", jpeg, 415, "unsupported_media_type"),
        "empty": ("image/jpeg", b"", 400, "empty_body"),
        "bad_multipart": (f"multipart/form-data; boundary={boundary}",
                          b"--" + boundary.encode() + b"\r\nnot a part", 400, "bad_multipart"),
    }
