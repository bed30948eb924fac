"""Write the shipped synthetic sample set into data_samples/ (deterministic).

The set is defined in :mod:`fleck.synth.samples` (24 figures and two of each control, 240 x 320,
JPEG quality 90, labels.csv and joints.json). Rerunning with the same numpy/OpenCV versions
rewrites the same bytes.

Usage: ``python tools/make_samples.py [OUT_DIR]`` (default: the repository's data_samples/) or,
anywhere fleck is installed, ``python -m fleck.synth OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing
    sys.path.insert(0, str(ROOT))

from fleck.synth.samples import main, sample_scenes  # noqa: E402

__all__ = ["main", "sample_scenes"]

if __name__ == "__main__":
    sys.exit(main(default=ROOT / "data_samples"))
