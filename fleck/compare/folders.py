"""Labels from folder names: ``fleck compare --labels-from-folders "porn,sexy=1;neutral=0"``.

NSFW data sets usually come as one folder per class (``porn/ hentai/ sexy/ neutral/
drawings/``, or ``nsfw/ sfw/``). A *folder spec* lists folder names per label::

    porn,hentai,sexy,nsfw=1;neutral,drawings,sfw=0

Groups are separated by ``;``; each is comma-separated folder names, ``=``, and a label (any
value ``--labels`` accepts: 1/0, nsfw/sfw, true/false, yes/no, positive/negative).

Each image gets the label of the **nearest** enclosing folder whose name is listed (names
compare case-insensitively), and that folder's name, as written in the spec, becomes its
category: ``data/sfw/porn/x.jpg`` is ``porn`` (1), ``data/drawings/2019/y.png`` is
``drawings`` (0). Only the folders from the image up to the folder given on the command line
count (that folder's own name included, so ``fleck compare ... .`` run inside ``nsfw/``
works); a listed name higher up, e.g. in your home folder's path, labels nothing. Images under
no listed folder are *unlabelled*: they are counted and listed, not evaluated.

Images are found by the walker of ``fleck scan`` (:func:`fleck.scan.find_images`), so the set
is the one fleck scans: hidden entries skipped, links followed, each folder once (link loops
stop), non-image files ignored.

>>> spec = parse_folder_spec("porn,hentai,NSFW=1; neutral,sfw=0")
>>> spec.text
'porn,hentai,NSFW=1;neutral,sfw=0'
>>> spec.label_of("data/nsfw/a.jpg"), spec.label_of("data/other/b.jpg")
((True, 'NSFW'), None)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from fleck.compare.readers import LabelSet, parse_label

__all__ = ["FolderSpec", "FolderLabels", "parse_folder_spec", "labels_from_folders",
           "labels_from_paths"]


@dataclass(frozen=True)
class FolderSpec:
    """A parsed folder spec: folder name (case-folded) -> (label, category as written).

    Examples
    --------
    >>> parse_folder_spec("Drawings,neutral=0").names["drawings"]
    (False, 'Drawings')
    """

    text: str
    names: dict[str, tuple[bool, str]]

    def label_of(self, path: str, root: str | None = None) -> tuple[bool, str] | None:
        """(label, category) of the nearest listed folder enclosing ``path``, or None.

        Parameters
        ----------
        path : str
            An image path.
        root : str, optional
            The file or folder given on the command line that ``path`` was found under: only
            the folders from ``path`` up to ``root`` (its own name included) count. Without
            it, every folder written in ``path`` counts.

        Returns
        -------
        (bool, str) or None

        Examples
        --------
        >>> spec = parse_folder_spec("sfw=0;nsfw=1")
        >>> spec.label_of("sfw/deeper/nsfw/x.jpg"), spec.label_of("nsfw/x.jpg", root="nsfw/x.jpg")
        ((True, 'nsfw'), (True, 'nsfw'))
        >>> spec.label_of("/home/nsfw/data/x.jpg", root="/home/nsfw/data") is None
        True
        """
        for name in reversed(_folders(path, root)):
            found = self.names.get(name.casefold())
            if found is not None:
                return found
        return None


def _parts(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]


def _folders(path: str, root: str | None) -> list[str]:
    """The folder names that may label ``path``, outermost first."""
    if root is None:
        return _parts(os.path.dirname(path))
    root_parts, parts = _parts(root), _parts(path)
    if parts[:len(root_parts)] == root_parts and len(parts) > len(root_parts):
        # Found inside the folder ``root``: its name, then the folders below it.
        top = os.path.basename(os.path.abspath(root))
        return [top, *parts[len(root_parts):-1]]
    # ``root`` is the image itself (a file named on the command line): its folder only.
    return [os.path.basename(os.path.dirname(os.path.abspath(path)))]


def parse_folder_spec(text: str) -> FolderSpec:
    """Parse ``"name,name=label;name=label"`` (see the module docstring).

    Parameters
    ----------
    text : str

    Returns
    -------
    FolderSpec

    Raises
    ------
    ValueError
        For a group without ``=``, an empty or path-like folder name, a bad label, a name
        listed twice, or no group at all.

    Examples
    --------
    >>> parse_folder_spec("nsfw=1;sfw=0").names
    {'nsfw': (True, 'nsfw'), 'sfw': (False, 'sfw')}
    >>> parse_folder_spec("nsfw=1;NSFW=0")
    Traceback (most recent call last):
    ...
    ValueError: folder spec 'nsfw=1;NSFW=0': folder 'NSFW' is listed twice
    """
    where = f"folder spec {text!r}"
    names: dict[str, tuple[bool, str]] = {}
    groups = []
    for group in text.split(";"):
        if not group.strip():
            continue
        folders, equals, value = group.rpartition("=")
        if not equals:
            raise ValueError(f"{where}: {group.strip()!r} has no '=label' (expected e.g. "
                             "'porn,hentai=1;neutral=0')")
        label = parse_label(value, where)
        listed = [name.strip() for name in folders.split(",")]
        for name in listed:
            if not name or name in (".", "..") or "/" in name or "\\" in name:
                raise ValueError(f"{where}: {name!r} is not a folder name")
            if name.casefold() in names:
                raise ValueError(f"{where}: folder {name!r} is listed twice")
            names[name.casefold()] = (label, name)
        groups.append(f"{','.join(listed)}={value.strip()}")
    if not names:
        raise ValueError(f"{where}: no folder names (expected e.g. 'porn,hentai=1;neutral=0')")
    return FolderSpec(text=";".join(groups), names=names)


@dataclass(frozen=True)
class FolderLabels:
    """Labels read from folder names: the labelled images and the unlabelled ones.

    Examples
    --------
    >>> found = labels_from_paths("nsfw=1", ["nsfw/a.jpg", "b.jpg"], base=".")
    >>> found.summary()["labelled"], found.summary()["unlabelled_images"]
    (1, ['b.jpg'])
    """

    spec: FolderSpec
    labels: LabelSet
    unlabelled: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """What ``metrics.json`` records under ``inputs.labels_from_folders``."""
        categories: dict[str, int] = {}
        for category in self.labels.categories:
            categories[str(category)] = categories.get(str(category), 0) + 1
        return {"spec": self.spec.text, "labelled": len(self.labels),
                "unlabelled": len(self.unlabelled), "categories": categories,
                "unlabelled_images": list(self.unlabelled)}


def labels_from_folders(spec: str | FolderSpec, images: Sequence[str | os.PathLike]
                        ) -> FolderLabels:
    """Label the images under ``images`` (files and folders, walked as ``fleck scan`` does).

    Parameters
    ----------
    spec : str or FolderSpec
        The folder spec, e.g. ``"porn,hentai,sexy,nsfw=1;neutral,drawings,sfw=0"``.
    images : sequence of path
        Files and folders, as given to ``fleck compare IMAGES...``.

    Returns
    -------
    FolderLabels
        ``labels`` (paths as the walker gives them, categories = listed folder names) and
        ``unlabelled`` (images under no listed folder, in walk order).

    Raises
    ------
    ValueError
        When no image is under a listed folder.

    Examples
    --------
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ("Porn/a.png", "neutral/b.png", "misc/c.png"):
    ...     os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
    ...     _ = open(os.path.join(root, name), "wb").write(b"\\x89PNG\\r\\n\\x1a\\n")
    >>> found = labels_from_folders("porn=1;neutral=0", [root])
    >>> [(os.path.relpath(p, root), bool(y), c) for p, y, c in
    ...  zip(found.labels.paths, found.labels.labels, found.labels.categories)]
    [('Porn/a.png', True, 'porn'), ('neutral/b.png', False, 'neutral')]
    >>> [os.path.relpath(p, root) for p in found.unlabelled]
    ['misc/c.png']
    """
    from fleck.scan import find_images
    from fleck.scan.walk import tidy_path

    spec = spec if isinstance(spec, FolderSpec) else parse_folder_spec(spec)
    roots = [tidy_path(os.fspath(p)) for p in images]
    found = ((path, _root_of(path, roots)) for path in find_images(roots))
    return _label(spec, found, source=f"--labels-from-folders {spec.text}", base=os.getcwd())


def labels_from_paths(spec: str | FolderSpec, paths: Iterable[str], *, base: str
                      ) -> FolderLabels:
    """Label image paths (e.g. those of a ``fleck scan`` results file) by their folders.

    Every folder written in a path counts (there is no command-line folder to stop at). The
    paths are sorted (folder by folder, as the walker orders them), so the order of a results
    file, which is the order in which a scan finished its images, does not matter.

    Parameters
    ----------
    spec : str or FolderSpec
    paths : iterable of str
    base : str
        The folder relative paths are relative to.

    Returns
    -------
    FolderLabels

    Examples
    --------
    >>> found = labels_from_paths("nsfw=1;sfw=0", ["nsfw/a.jpg", "x/b.jpg"], base=".")
    >>> found.labels.paths, found.unlabelled
    (('nsfw/a.jpg',), ['x/b.jpg'])
    """
    spec = spec if isinstance(spec, FolderSpec) else parse_folder_spec(spec)
    ordered = sorted(paths, key=_parts)
    return _label(spec, ((p, None) for p in ordered), source=f"--labels-from-folders {spec.text}",
                  base=base)


def _root_of(path: str, roots: list[str]) -> str | None:
    """The command-line argument ``path`` was found under (the deepest one that matches)."""
    parts = _parts(path)
    best = None
    for root in roots:
        root_parts = _parts(root)
        if parts[:len(root_parts)] == root_parts and (
                best is None or len(root_parts) > len(_parts(best))):
            best = root
    return best


def _label(spec: FolderSpec, found: Iterable[tuple[str, str | None]], *, source: str,
           base: str) -> FolderLabels:
    paths: list[str] = []
    labels: list[bool] = []
    categories: list[str] = []
    unlabelled: list[str] = []
    seen: set[str] = set()
    for path, root in found:
        if path in seen:
            continue
        seen.add(path)
        hit = spec.label_of(path, root)
        if hit is None:
            unlabelled.append(path)
            continue
        paths.append(path)
        labels.append(hit[0])
        categories.append(hit[1])
    if not paths:
        names = ", ".join(category for _, category in spec.names.values())
        raise ValueError(f"no image is inside a folder named {names} "
                         f"({len(unlabelled)} unlabelled images)")
    label_set = LabelSet(source=source, paths=tuple(paths),
                         labels=np.array(labels, dtype=bool), categories=tuple(categories),
                         base=base)
    return FolderLabels(spec=spec, labels=label_set, unlabelled=unlabelled)
