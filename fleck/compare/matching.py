"""Matching image paths across labels and results files: :class:`PathMatcher`.

Rules, in order: the same file after resolving relative paths against the labels file's folder,
the results file's folder and the current directory (``os.path.normpath``, case-sensitive; so
two relative paths written alike match); then the unique label with the same file name (and,
among several, the unique one sharing the most trailing folders). When the file name is
ambiguous the record is not matched and a warning names it: we refuse to guess.

>>> PathMatcher(["a/x.jpg"], base_dir="/data").match("/data/a/x.jpg", base_dir="/")
(0, 'exact')
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PathMatcher", "MatchReport"]


def _split(path: str) -> tuple[str, ...]:
    return tuple(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))


def _resolved(path: str, bases: Sequence[str]) -> list[str]:
    if os.path.isabs(path):
        return [os.path.normpath(path)]
    return [os.path.normpath(os.path.join(base, path)) for base in bases]


@dataclass
class MatchReport:
    """How one results file's records met the labels: lists for the report, counts by rule.

    Examples
    --------
    >>> m = PathMatcher(["a/x.jpg"], base_dir="/data")
    >>> found, report = m.align({"/elsewhere/x.jpg": 0.5, "y.jpg": 0.1}, base_dir="/", what="s")
    >>> found, report.to_dict()["matched_by"], report.unlabelled
    ({0: 0.5}, {'basename': 1}, ['y.jpg'])
    """

    matched_by: Counter = field(default_factory=Counter)
    unlabelled: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"matched_by": dict(self.matched_by), "unlabelled": self.unlabelled,
                "ambiguous": self.ambiguous, "duplicates": self.duplicates,
                "missing": self.missing}


class PathMatcher:
    """Find the label row a results record refers to.

    Parameters
    ----------
    label_paths : sequence of str
        The labels file's paths, as written.
    base_dir : str
        The labels file's folder (relative label paths are relative to it).

    Examples
    --------
    >>> m = PathMatcher(["pos/a.jpg", "neg/a.jpg", "neg/b.jpg"], base_dir="/data")
    >>> m.match("/data/pos/a.jpg", base_dir="/elsewhere")
    (0, 'exact')
    >>> m.match("/mnt/copy/neg/b.jpg", base_dir="/elsewhere")
    (2, 'basename')
    >>> m.match("a.jpg", base_dir="/elsewhere")
    (None, 'ambiguous')
    """

    def __init__(self, label_paths: Sequence[str], *, base_dir: str) -> None:
        self._bases = [base_dir, os.getcwd()]
        self._absolute: list[dict[str, int]] = [{} for _ in self._bases]
        self._by_name: dict[str, list[int]] = {}
        self._parts = [_split(p) for p in label_paths]
        for i, path in enumerate(label_paths):
            for table, base in zip(self._absolute, self._bases, strict=False):
                table.setdefault(_resolved(path, [base])[0], i)
            if self._parts[i]:
                self._by_name.setdefault(self._parts[i][-1], []).append(i)

    def match(self, path: str, *, base_dir: str) -> tuple[int | None, str]:
        """(label index, rule) with rule exact/suffix/basename, or (None, why).

        Two relative paths written alike always match as "exact": both also resolve against the
        current directory.
        """
        for resolved in _resolved(path, [base_dir, os.getcwd()]):
            for table in self._absolute:
                if resolved in table:
                    return table[resolved], "exact"
        parts = _split(path)
        if not parts:
            return None, "unlabelled"
        candidates = self._by_name.get(parts[-1], [])
        if len(candidates) == 1:
            return candidates[0], "basename"
        if not candidates:
            return None, "unlabelled"
        depth = {i: _common_tail(parts, self._parts[i]) for i in candidates}
        best = max(depth.values())
        winners = [i for i, d in depth.items() if d == best]
        if best >= 2 and len(winners) == 1:
            return winners[0], "suffix"
        return None, "ambiguous"

    def align(self, records: dict[str, Any], *, base_dir: str, what: str,
              ) -> tuple[dict[int, Any], MatchReport]:
        """Map each record to its label index; the report lists what did not match."""
        report = MatchReport()
        found: dict[int, Any] = {}
        for path, value in records.items():
            index, rule = self.match(path, base_dir=base_dir)
            if index is None:
                (report.ambiguous if rule == "ambiguous" else report.unlabelled).append(path)
                continue
            if index in found:
                report.duplicates.append(path)
                continue
            found[index] = value
            report.matched_by[rule] += 1
        if report.ambiguous:
            warnings.warn(f"{what}: {len(report.ambiguous)} record(s) share a file name with "
                          f"several labelled images and were not matched (e.g. "
                          f"{report.ambiguous[0]!r}); use paths relative to the labels file",
                          stacklevel=2)
        return found, report


def _common_tail(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
