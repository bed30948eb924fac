"""``fleck serve``: the detector as an HTTP API for moderation pipelines.

* :mod:`fleck.serve.app`: the Starlette application (endpoints, limits, errors);
* :mod:`fleck.serve.pool`: the worker processes, with per-request deadlines and replacement of
  a worker that dies or overruns;
* :mod:`fleck.serve.work`: what a worker runs (bytes in, record or censored image out);
* :mod:`fleck.serve.settings`, :mod:`fleck.serve.metrics`, :mod:`fleck.serve.openapi`,
  :mod:`fleck.serve.server` (uvicorn).

The web stack is the ``serve`` extra (``pip install 'fleck[serve]'``); only
:mod:`~fleck.serve.app` and :func:`~fleck.serve.server.run` need it.

>>> from fleck.serve import ServeSettings
>>> ServeSettings().host
'127.0.0.1'
"""

from fleck.serve.server import MissingExtra, require_extra, run
from fleck.serve.settings import ServeSettings, parse_size

__all__ = ["ServeSettings", "parse_size", "run", "require_extra", "MissingExtra"]
