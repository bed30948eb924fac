"""The shipped synthetic sample set (``data_samples/`` of the repository), deterministic.

24 stylised figures (every tone and pose, 240 x 320, a few with a swimsuit band) and two of
each control, as JPEG quality 90, plus ``labels.csv`` (path,label,category) and ``joints.json``
(ground truth per image). Rerunning with the same numpy/OpenCV versions rewrites the same
bytes. ``python -m fleck.synth OUT_DIR`` writes it anywhere (an installed wheel included).

>>> [name for name, _ in sample_scenes()][:2]
['figure_00_very_light_standing.jpg', 'figure_01_light_walking.jpg']
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

from fleck.synth.controls import CONTROLS
from fleck.synth.figures import POSES, figure
from fleck.synth.render import BACKGROUNDS, TONES, Scene, encode_jpeg

__all__ = ["sample_scenes", "write_samples", "main", "SIZE", "QUALITY"]

SIZE = (240, 320)          # (height, width): small files, SCALE = 1.75 in the skin filter
QUALITY = 90
N_FIGURES = 24
N_PER_CONTROL = 2


def sample_scenes() -> list[tuple[str, Scene]]:
    """(file name, scene) for the whole shipped set, in a fixed order.

    Returns
    -------
    list of (str, Scene)
        24 figures, then two scenes of each control.

    Examples
    --------
    >>> scenes = sample_scenes()
    >>> len(scenes), sum(s.label for _, s in scenes)
    (40, 24)
    """
    tones, poses = list(TONES), POSES
    out = []
    for i in range(N_FIGURES):
        tone, pose = tones[i % len(tones)], poses[i % len(poses)]
        background = BACKGROUNDS[(i // len(poses)) % len(BACKGROUNDS)]
        clothing = i % 8 == 7
        s = figure(i, size=SIZE, tone=tone, pose=pose, background=background,
                   clothing=clothing)
        suffix = "_band" if clothing else ""
        out.append((f"figure_{i:02d}_{tone}_{pose}{suffix}.jpg", s))
    for kind, make in CONTROLS.items():
        for j in range(N_PER_CONTROL):
            out.append((f"{kind}_{j}.jpg", make(j, size=SIZE)))
    return out


def write_samples(out_dir: str | os.PathLike) -> list[str]:
    """Write the sample images, ``labels.csv`` and ``joints.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Created when missing; files of the same names are replaced.

    Returns
    -------
    list of str
        The image file names written, in order.

    Examples
    --------
    >>> import tempfile                                            # doctest: +SKIP
    >>> len(write_samples(tempfile.mkdtemp()))                     # doctest: +SKIP
    40
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rows, truth = [], {}
    for name, s in sample_scenes():
        (folder / name).write_bytes(encode_jpeg(s.image, QUALITY))
        rows.append((name, s.label, s.category))
        truth[name] = s.to_dict()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("path", "label", "category"))
    writer.writerows(rows)
    (folder / "labels.csv").write_text(buf.getvalue(), encoding="utf-8")
    (folder / "joints.json").write_text(
        json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return [name for name, *_ in rows]


def main(argv: list[str] | None = None, *, default: str | os.PathLike = "data_samples") -> int:
    """``python -m fleck.synth [OUT_DIR]``: write the sample set (default ``./data_samples``).

    Parameters
    ----------
    argv : list of str, optional
        ``[OUT_DIR]`` (default: ``sys.argv[1:]``); ``--help`` prints the usage.
    default : path
        The folder written when no OUT_DIR is given.

    Returns
    -------
    int
        The exit status (0).

    Examples
    --------
    >>> main(["--help"])                                           # doctest: +SKIP
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m fleck.synth [OUT_DIR]\n\n" + (__doc__ or "").split("\n\n")[1])
        return 0
    out_dir = Path(argv[0]) if argv else Path(default)
    names = write_samples(out_dir)
    total = sum((out_dir / n).stat().st_size for n in names)
    print(f"wrote {len(names)} images ({total / 1e6:.2f} MB), labels.csv and joints.json "
          f"to {out_dir}")
    return 0
