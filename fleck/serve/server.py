"""Run ``fleck serve``: the application of :mod:`fleck.serve.app` under uvicorn.

The web stack (Starlette, uvicorn, python-multipart) is the ``serve`` extra; :func:`require_extra`
says which package is missing and how to install it, instead of an import traceback.

>>> require_extra()  # the serve extra is installed where the tests run
"""

from __future__ import annotations

import copy
import importlib

from fleck.serve.settings import ServeSettings

__all__ = ["run", "require_extra", "MissingExtra", "EXTRA_MODULES"]

#: The modules of the ``serve`` extra, with the package that provides each.
EXTRA_MODULES = (("starlette", "starlette"), ("uvicorn", "uvicorn"),
                 ("python_multipart", "python-multipart"))


class MissingExtra(ImportError):
    """A package of the ``serve`` extra is not installed; the message says what to install.

    Examples
    --------
    >>> str(MissingExtra(["uvicorn"])).startswith("fleck serve needs the 'serve' extra")
    True
    """

    def __init__(self, packages: list[str]) -> None:
        super().__init__(f"fleck serve needs the 'serve' extra: pip install 'fleck[serve]' "
                         f"(missing: {', '.join(packages)})")
        self.packages = packages


def require_extra() -> None:
    """Raise :class:`MissingExtra` unless every package of the ``serve`` extra can be imported.

    Raises
    ------
    MissingExtra

    Examples
    --------
    >>> require_extra()
    """
    missing = []
    for module, package in EXTRA_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise MissingExtra(missing)


def run(settings: ServeSettings, *, log_level: str = "info") -> None:
    """Serve the API with ``settings`` until interrupted (Ctrl-C or SIGTERM: a clean stop).

    Parameters
    ----------
    settings : ServeSettings
    log_level : str
        uvicorn's log level (``debug``, ``info``, ``warning``, ``error``).

    Raises
    ------
    MissingExtra
        Without the ``serve`` extra.

    Examples
    --------
    Blocking; the tests start it as ``fleck serve`` in a subprocess:

    >>> run  # doctest: +ELLIPSIS
    <function run at ...>
    """
    require_extra()
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from fleck.serve.app import create_app

    logging_config = copy.deepcopy(LOGGING_CONFIG)
    logging_config["loggers"]["fleck.serve"] = {"handlers": ["default"], "level": "INFO",
                                                "propagate": False}
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            log_level=log_level, access_log=settings.access_log,
                            log_config=logging_config, lifespan="on", server_header=False,
                            timeout_graceful_shutdown=max(5, int(settings.timeout) + 1))
    uvicorn.Server(config).run()
