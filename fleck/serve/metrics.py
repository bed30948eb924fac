"""``GET /metrics``: the server's counters in the Prometheus text format (version 0.0.4).

Written by hand (a few counters and one histogram) so that the ``serve`` extra needs no client
library.

>>> metrics = Metrics()
>>> metrics.observe("/v1/detect", 200, 0.042)
>>> metrics.error("not_an_image")
>>> text = metrics.render({"workers": 2, "busy": 0})
>>> 'fleck_http_requests_total{endpoint="/v1/detect",status="200"} 1' in text
True
>>> 'fleck_http_request_duration_seconds_bucket{endpoint="/v1/detect",le="0.05"} 1' in text
True
"""

from __future__ import annotations

import collections
import math
import threading

from fleck._version import __version__

__all__ = ["Metrics", "BUCKETS", "CONTENT_TYPE"]

#: Upper bounds (seconds) of the latency histogram's buckets.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: The media type of the Prometheus text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Pool figures exported as gauges or counters: (stats key, metric, type, help).
_POOL = (("workers", "fleck_workers", "gauge", "worker processes alive"),
         ("warm", "fleck_workers_warm", "gauge", "worker processes ready to work"),
         ("busy", "fleck_workers_busy", "gauge", "worker processes running a task"),
         ("waiting", "fleck_requests_waiting", "gauge", "requests waiting for a worker"),
         ("tasks", "fleck_tasks_total", "counter", "images sent to workers"),
         ("timeouts", "fleck_timeouts_total", "counter", "requests past their deadline"),
         ("crashes", "fleck_worker_crashes_total", "counter", "workers that died unasked"),
         ("restarts", "fleck_worker_restarts_total", "counter", "workers started to replace "
                                                                 "one that died or was stopped"))


class Metrics:
    """Request counts and latencies per endpoint and status, errors by kind, labels given.

    Examples
    --------
    >>> m = Metrics()
    >>> m.label("unsafe"); m.label("unsafe")
    >>> m.labels["unsafe"]
    2
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: collections.Counter = collections.Counter()  # (endpoint, status)
        self.errors: collections.Counter = collections.Counter()  # kind
        self.labels: collections.Counter = collections.Counter()  # safe / review / unsafe
        self._buckets: dict[str, list[int]] = {}
        self._sums: collections.Counter = collections.Counter()

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request.

        Parameters
        ----------
        endpoint : str
            The route's path (``"other"`` for paths no route matched).
        status : int
            HTTP status sent.
        seconds : float
            Time from the request's arrival to the end of its answer.

        Examples
        --------
        >>> m = Metrics(); m.observe("/healthz", 200, 0.001); m.requests[("/healthz", 200)]
        1
        """
        with self._lock:
            self.requests[(endpoint, int(status))] += 1
            counts = self._buckets.setdefault(endpoint, [0] * (len(BUCKETS) + 1))
            index = next((i for i, bound in enumerate(BUCKETS) if seconds <= bound),
                         len(BUCKETS))
            counts[index] += 1
            self._sums[endpoint] += seconds

    def error(self, kind: str) -> None:
        """Count one error answer of ``kind`` (``not_an_image``, ``timeout``...).

        Parameters
        ----------
        kind : str

        Examples
        --------
        >>> m = Metrics(); m.error("timeout"); m.errors["timeout"]
        1
        """
        with self._lock:
            self.errors[kind] += 1

    def label(self, label: str) -> None:
        """Count one image labelled ``label`` (safe, review, unsafe).

        Parameters
        ----------
        label : str

        Examples
        --------
        >>> m = Metrics(); m.label("safe"); m.labels["safe"]
        1
        """
        with self._lock:
            self.labels[label] += 1

    def render(self, pool: dict) -> str:
        """The Prometheus text exposition of everything counted, and of ``pool``.

        Parameters
        ----------
        pool : dict
            :meth:`fleck.serve.pool.ServePool.stats` (missing keys are left out).

        Returns
        -------
        str

        Examples
        --------
        >>> print(Metrics().render({"busy": 1}).splitlines()[-1])
        fleck_workers_busy 1
        """
        lines = ["# HELP fleck_info fleck serve's version",
                 "# TYPE fleck_info gauge",
                 f'fleck_info{{version="{_escape(__version__)}"}} 1']
        with self._lock:
            lines += ["# HELP fleck_http_requests_total HTTP requests answered",
                      "# TYPE fleck_http_requests_total counter"]
            for (endpoint, status), count in sorted(self.requests.items()):
                lines.append(f'fleck_http_requests_total{{endpoint="{_escape(endpoint)}",'
                             f'status="{status}"}} {count}')
            lines += ["# HELP fleck_http_request_duration_seconds time to answer a request",
                      "# TYPE fleck_http_request_duration_seconds histogram"]
            for endpoint, counts in sorted(self._buckets.items()):
                name = _escape(endpoint)
                total = 0
                for bound, count in zip((*BUCKETS, math.inf), counts, strict=True):
                    total += count
                    le = "+Inf" if bound == math.inf else f"{bound:g}"
                    lines.append(f'fleck_http_request_duration_seconds_bucket{{endpoint="{name}"'
                                 f',le="{le}"}} {total}')
                lines.append(f'fleck_http_request_duration_seconds_sum{{endpoint="{name}"}} '
                             f"{self._sums[endpoint]:.6f}")
                lines.append(f'fleck_http_request_duration_seconds_count{{endpoint="{name}"}} '
                             f"{total}")
            lines += ["# HELP fleck_errors_total error answers by kind",
                      "# TYPE fleck_errors_total counter"]
            lines += [f'fleck_errors_total{{kind="{_escape(kind)}"}} {count}'
                      for kind, count in sorted(self.errors.items())]
            lines += ["# HELP fleck_images_total images answered, by label",
                      "# TYPE fleck_images_total counter"]
            lines += [f'fleck_images_total{{label="{_escape(label)}"}} {count}'
                      for label, count in sorted(self.labels.items())]
        for key, metric, kind, text in _POOL:
            if key in pool:
                lines += [f"# HELP {metric} {text}", f"# TYPE {metric} {kind}",
                          f"{metric} {pool[key]}"]
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
