"""``python -m fleck.synth [OUT_DIR]``: write the synthetic sample set (see fleck.synth.samples)."""

import sys

from fleck.synth.samples import main

sys.exit(main())
