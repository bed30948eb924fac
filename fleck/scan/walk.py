"""The one image walker of ``fleck``: which files under some paths are images or videos.

``fleck scan``, ``fleck compare`` (its ``IMAGES`` arguments) and the benchmarks all call
:func:`find_images`, so one folder always gives one set of files.

* Folders are walked recursively, depth first, entries sorted by name in each folder, so two
  walks of the same tree give the same order. Only one folder listing is held at a time per
  level; millions of paths are never materialised.
* A file found in a folder is an image when its name has one of :data:`IMAGE_EXTENSIONS` *or*
  its first 64 bytes carry an image signature (:func:`fleck.loading.sniff_image`):
  ``holiday.txt`` that is a JPEG is found, and ``broken.jpg`` that is not an image is found too
  (it claims to be an image, so the user hears about it when it fails to load). Videos are
  found the same way, by :data:`fleck.video.VIDEO_EXTENSIONS` or by their container signature
  (:func:`fleck.video.sniff_video`); animated images are images here. Other files are ignored
  silently.
* Hidden entries (names starting with ``.``: ``.git``, ``.thumbnails``, macOS ``._x.jpg``
  resource forks) are not walked. Symbolic links are followed (to files and folders); each
  folder is walked once even when several links lead to it, which also stops link loops.
  Broken links, sockets and FIFOs are ignored.
* A file named explicitly is always yielded, whatever its name or content.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

__all__ = ["find_images", "claims_image", "tidy_path", "IMAGE_EXTENSIONS"]

#: File name extensions that claim to be images: such files are yielded (and reported when
#: unreadable) without sniffing their content.
IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".dib", ".tif",
    ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".avif", ".heic", ".heif", ".ico", ".cur",
    ".jp2", ".j2k", ".qoi", ".psd", ".tga", ".pcx", ".sgi", ".icns")

ErrorCallback = Callable[[str, str], None]


def find_images(paths: Iterable[str | os.PathLike], *, on_error: ErrorCallback | None = None,
                exclude: Iterable[str | os.PathLike] = ()) -> Iterator[str]:
    """Yield the image and video files among ``paths`` (files and folders, walked recursively),
    lazily.

    See the module docstring for the rules (content sniffing, hidden entries, links).

    Parameters
    ----------
    paths : iterable of path
        Files (always yielded) and folders (walked).
    on_error : callable, optional
        ``on_error(path, reason)`` hears about folders that cannot be read or listed.
    exclude : iterable of path
        Folders not to walk (e.g. an output folder inside the input).

    Yields
    ------
    str
        Each path once: as given for files, joined with the names found for folders (a
        leading ``./`` dropped).

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "notes.txt"), "w").write("hello")
    >>> _ = open(os.path.join(folder, "b.txt"), "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(24))
    >>> [os.path.basename(p) for p in find_images([folder])]
    ['b.txt']
    """
    from fleck.loading import sniff_image
    from fleck.video.sniff import VIDEO_EXTENSIONS, sniff_video

    def recognised(path: str, name: str) -> bool:
        return (claims_image(name) or os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS
                or sniff_image(path) or sniff_video(path))

    report = on_error or (lambda path, reason: None)
    given = [tidy_path(os.fspath(p)) for p in paths]
    visited: set[tuple[int, int]] = set()
    for folder in exclude:
        try:
            st = os.stat(folder)
            visited.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    # Explicit files are few; remembering them keeps a walk from yielding them a second time.
    explicit = {os.path.abspath(p) for p in given if not os.path.isdir(p)}
    yielded_explicit: set[str] = set()
    for path in given:
        if not os.path.isdir(path):
            key = os.path.abspath(path)
            if key not in yielded_explicit:
                yielded_explicit.add(key)
                yield path
            continue
        yield from _walk_folder(path, visited, explicit, report, recognised)


def _walk_folder(root: str, visited: set[tuple[int, int]], explicit: set[str],
                 report: ErrorCallback, recognised: Callable[[str, str], bool]) -> Iterator[str]:
    try:
        st = os.stat(root)
    except OSError as err:
        report(root, f"cannot read folder: {err.strerror or err}")
        return
    if (st.st_dev, st.st_ino) in visited:
        return
    visited.add((st.st_dev, st.st_ino))
    listing = _sorted_listing(root, report)
    if listing is None:
        return
    # Depth first with an explicit stack of listings (no recursion limit on deep trees).
    stack = [iter(listing)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError:
            continue
        if is_dir:
            listing = _enter(entry, visited, report)
            if listing is not None:
                stack.append(iter(listing))
        elif is_file:
            path = entry.path
            if explicit and os.path.abspath(path) in explicit:
                continue
            if recognised(path, entry.name):
                yield path


def _enter(entry: os.DirEntry, visited: set[tuple[int, int]],
           report: ErrorCallback) -> list[os.DirEntry] | None:
    """The listing of a sub-folder not walked before (None when seen or unreadable)."""
    try:
        st = entry.stat()
    except OSError:
        return None
    key = (st.st_dev, st.st_ino)
    if key in visited:
        return None
    visited.add(key)
    return _sorted_listing(entry.path, report)


def _sorted_listing(folder: str, report: ErrorCallback) -> list[os.DirEntry] | None:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError as err:
        report(folder, f"cannot list folder: {err.strerror or err}")
        return None


def claims_image(name: str) -> bool:
    """Whether a file name has one of :data:`IMAGE_EXTENSIONS` (any case).

    Parameters
    ----------
    name : str
        A file name or path.

    Returns
    -------
    bool

    Examples
    --------
    >>> claims_image("IMG_0001.HEIC"), claims_image("notes.txt")
    (True, False)
    """
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def tidy_path(path: str) -> str:
    """``path`` without leading ``./`` (nothing more: ``a/../b`` may differ from ``b``).

    Parameters
    ----------
    path : str

    Returns
    -------
    str

    Examples
    --------
    >>> tidy_path("./photos/a.jpg"), tidy_path("."), tidy_path("a/../b")
    ('photos/a.jpg', '.', 'a/../b')
    """
    # "./x" is "x" whatever links exist; anything more (normpath of "a/../b") could change
    # which file is meant when "a" is a link, so it is left alone.
    while path.startswith("./") and len(path) > 2:
        path = path[2:].lstrip("/") or "."
    return path
