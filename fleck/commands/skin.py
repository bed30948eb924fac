"""``fleck skin IMAGE... [--out DIR] [--json]``: the skin filter's map and skin fraction per image.

Writes ``DIR/<stem>_skin.png`` (0 = not skin, 255 = skin) at each input image's own size, and
prints one line per image::

    photos/beach.jpg  skin 34.2 %  passes

``passes`` means at least the configuration's minimum skin fraction (30 %) is skin, so the image
goes on to the grouper; otherwise ``fails``. With ``--json`` each line is a JSON object
(``path, status, skin_fraction, passes, mask, width, height, config``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fleck.commands._common import (
    Batch,
    add_config_options,
    emit,
    make_folder,
    resolve_config,
    unique_output,
    write_png,
)

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fleck skin`` to ``subparsers`` (its ``func`` is :func:`run`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers()``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="fleck")
    >>> register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(['skin', 'x.jpg']).func is run
    True
    """
    parser = subparsers.add_parser(
        "skin", help="skin maps: a mask PNG per image and the skin fraction",
        description="Run the skin filter (method step 1) on each IMAGE, print its skin fraction "
                    "and write the skin map as a black/white PNG at the image's own size.")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for the <stem>_skin.png masks (created if needed); "
                             "without it only the fractions are printed")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per image instead of a text line")
    add_config_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fleck skin`` with parsed arguments; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        From the parser :func:`register` built.

    Returns
    -------
    int
        0 success, 1 some inputs failed, 2 usage error.

    Examples
    --------
    :func:`fleck.cli.main` parses the arguments and calls it:

    >>> from fleck.cli import main
    >>> main(["skin", "no/such/file.jpg"])
    1
    """
    from fleck.loading import load
    from fleck.skin import skin_filter

    config = resolve_config(args)
    folder = make_folder(args.out)
    batch = Batch("skin", args)
    used: set[Path] = set()
    for source in args.images:
        try:
            # Full-size decode, as fleck.detect does, so both commands see the same pixels.
            loaded = load(source, max_pixels=config.max_pixels, min_size=config.min_size)
            skin = skin_filter(loaded.rgb, config, input_shape=loaded.original_size)
            mask_path = None
            if folder is not None:
                mask_path = unique_output(folder, source, "_skin.png", used)
                mask = skin.mask_at(loaded.original_size).astype(np.uint8) * 255
                write_png(mask_path, mask)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
            batch.fail(source, err)
            continue
        batch.ok += 1
        if args.json:
            height, width = loaded.original_size
            emit({"path": source, "status": "ok", "skin_fraction": round(skin.fraction, 6),
                  "passes": bool(skin.passes),
                  "mask": str(mask_path) if mask_path is not None else None,
                  "width": int(width), "height": int(height), "config": config.name})
        else:
            verdict = "passes" if skin.passes else "fails"
            print(f"{source}  skin {100 * skin.fraction:.1f} %  {verdict}", flush=True)
    return batch.exit_code
