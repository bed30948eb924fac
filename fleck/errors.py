"""The one exception type users catch for input that cannot be processed."""

from __future__ import annotations

__all__ = ["ImageError"]


class ImageError(ValueError):
    """An image that cannot be processed: the message names the source and the reason.

    >>> err = ImageError("photo.jpg", "zero bytes")
    >>> str(err)
    'photo.jpg: zero bytes'
    >>> err.source, err.reason
    ('photo.jpg', 'zero bytes')
    """

    def __init__(self, source: object, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")

    def __reduce__(self):  # keep it picklable across worker processes
        return (type(self), (self.source, self.reason))
