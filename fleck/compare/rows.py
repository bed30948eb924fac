"""Text files to rows: CSV (with or without header), JSON Lines, and the image path of a row.

Shared by the readers of labels, fleck results and CNN scores (:mod:`fleck.compare.readers`).

>>> list(_jsonl_objects('{"path": "a.jpg"}\\n\\n{"path": "b.jpg"}', "x.jsonl"))
[(1, {'path': 'a.jpg'}), (3, {'path': 'b.jpg'})]
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from typing import Any

__all__ = ["PATH_KEYS"]

PATH_KEYS = ("path", "image", "file", "filename", "image_path")


class _Skip(Exception):
    """A record that yields no score: listed as a problem, the rest of the file is read."""


def _present(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _looks_like_json(text: str) -> bool:
    stripped = text.lstrip()
    return stripped.startswith("{") or stripped.startswith("[")


def _jsonl_objects(text: str, source: str) -> Iterable[tuple[int, dict]]:
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{source} line {line_no}: not JSON ({err.msg})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{source} line {line_no}: expected a JSON object")
        yield line_no, obj


def _csv_rows(text: str, source: str, has_header) -> Iterable[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text))
    rows = [(i, r) for i, r in enumerate(reader, start=1) if any(c.strip() for c in r)]
    if not rows:
        return
    first = rows[0][1]
    if has_header(first):
        header = [c.strip().lower() for c in first]
        body = rows[1:]
    else:
        header = ["path", "label", "category"][:len(first)]
        body = rows
    for row_no, values in body:
        if len(values) > len(header):
            raise ValueError(f"{source} row {row_no}: {len(values)} fields, header has "
                             f"{len(header)} (quote paths that contain commas)")
        yield row_no, {h: v.strip() for h, v in zip(header, values, strict=False)}


def _path_of(row: dict, where: str) -> str:
    for key in PATH_KEYS:
        value = row.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    if "_clarifai" in row:  # an output without input id: a problem record, not a broken file
        raise _Skip(f"{where}: no image path (no input metadata path, image url or id)")
    raise ValueError(f"{where}: no image path (expected a `path` field, got "
                     f"{', '.join(map(str, row)) or 'nothing'})")
