"""Sub-commands of the ``fleck`` command line: one module each, exposing ``register(subparsers)``.

``register`` adds a parser whose ``func(args) -> int`` runs the command and returns the exit code.
"""

__all__ = []
