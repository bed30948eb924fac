"""Write the shipped synthetic sample set into data_samples/ (deterministic).

24 stylised figures (every tone and pose, 240 x 320, a few with a swimsuit band) and two of
each control, as JPEG quality 90, plus ``labels.csv`` (path,label,category) and
``joints.json`` (ground truth per image). Rerunning with the same numpy/OpenCV versions
rewrites the same bytes.

Usage: ``python tools/make_samples.py [OUT_DIR]`` or ``python -m fleck.synth [OUT_DIR]``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing
    sys.path.insert(0, str(ROOT))

from fleck import synth  # noqa: E402

SIZE = (240, 320)          # (height, width): small files, SCALE = 1.75 in the skin filter
QUALITY = 90
N_FIGURES = 24
N_PER_CONTROL = 2


def sample_scenes() -> list[tuple[str, synth.Scene]]:
    """(file name, scene) for the whole shipped set, in a fixed order."""
    tones, poses = list(synth.TONES), synth.POSES
    out = []
    for i in range(N_FIGURES):
        tone, pose = tones[i % len(tones)], poses[i % len(poses)]
        background = synth.BACKGROUNDS[(i // len(poses)) % len(synth.BACKGROUNDS)]
        clothing = i % 8 == 7
        s = synth.figure(i, size=SIZE, tone=tone, pose=pose, background=background,
                         clothing=clothing)
        suffix = "_band" if clothing else ""
        out.append((f"figure_{i:02d}_{tone}_{pose}{suffix}.jpg", s))
    for kind in synth.CONTROLS:
        for j in range(N_PER_CONTROL):
            out.append((f"{kind}_{j}.jpg", synth.scene(kind, j, size=SIZE)))
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else ROOT / "data_samples"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, truth = [], {}
    for name, s in sample_scenes():
        (out_dir / name).write_bytes(synth.encode_jpeg(s.image, QUALITY))
        rows.append((name, s.label, s.category))
        truth[name] = s.to_dict()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("path", "label", "category"))
    writer.writerows(rows)
    (out_dir / "labels.csv").write_text(buf.getvalue(), encoding="utf-8")
    (out_dir / "joints.json").write_text(
        json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    total = sum((out_dir / n).stat().st_size for n, *_ in rows)
    print(f"wrote {len(rows)} images ({total / 1e6:.2f} MB), labels.csv and joints.json "
          f"to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
