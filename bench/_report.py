"""Report pages of the documentation (``docs/reports/*.md``), written by the bench scripts.

A report page holds hand-written prose and one block per script that measures it::

    <!-- begin: bench/skin_accuracy.py (generated: rerun the script, do not edit) -->
    ...the header (command, commit, date, machine, versions) and the script's tables...
    <!-- end: bench/skin_accuracy.py -->

``write_block(page, script, body)`` replaces that script's block (or appends it when the page
has none, creating the page if needed) and leaves everything else on the page alone, so the
prose around the tables survives a re-run. Every script adds the same option with
``add_report_option(parser, "docs/reports/<page>.md")``::

    python bench/skin_accuracy.py --report            # the page named in the script
    python bench/skin_accuracy.py --report out.md     # somewhere else

Scripts that print their tables use ``tee_stdout()`` to collect what they print.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The CPU flags that decide how fast OpenCV, NumPy and onnxruntime kernels run.
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
                "avx512_vnni", "avx512_bf16", "amx_tile", "asimd", "sve", "sve2")


def add_report_option(parser: argparse.ArgumentParser, page: str) -> None:
    """Add ``--report [PAGE]``: write the results into that documentation page too."""
    parser.add_argument(
        "--report", nargs="?", const=REPO / page, type=Path, metavar="PAGE",
        help=f"also write the results, with the commit and machine, into this page of the "
             f"documentation (default when given without a value: {page})")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def commit() -> str:
    """Short hash of HEAD, with ``+dirty`` when tracked files other than the documentation
    (which the reports themselves rewrite) differ from it."""
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs")
    return f"{head}+dirty" if dirty else head


def cpu() -> str:
    """CPU model, usable cores and vector extensions (from /proc/cpuinfo where it exists)."""
    model, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Model") and model in ("", platform.machine(),
                                                             platform.processor()):
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    vector = [f for f in VECTOR_FLAGS if f in flags]
    return f"{model}, {cores} cores" + (f" ({', '.join(vector)})" if vector else "")


def versions() -> str:
    """Python and the numeric libraries the timings depend on."""
    parts = [f"Python {platform.python_version()}"]
    for label, module in (("NumPy", "numpy"), ("OpenCV", "cv2"), ("scikit-image", "skimage"),
                          ("fleck", "fleck")):
        try:
            parts.append(f"{label} {__import__(module).__version__}")
        except ImportError:
            pass
    return ", ".join(parts)


def header(script: str, argv: list[str] | None = None) -> str:
    """The table saying how, when and where a block's figures were measured."""
    argv = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", script, *argv])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "-"
    rows = [("command", f"`{command}`"), ("commit", f"`{commit()}`"),
            ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
            ("machine", cpu()), ("software", versions()),
            ("load average (1, 5, 15 min)", load)]
    return "\n".join(["| measured with | |", "|---|---|",
                      *(f"| {key} | {value} |" for key, value in rows)])


def _markers(name: str) -> tuple[str, str]:
    return (f"<!-- begin: {name} (generated: rerun the script, do not edit) -->",
            f"<!-- end: {name} -->")


def write_block(page: Path, script: str, body: str, *, title: str = "Report",
                argv: list[str] | None = None, block: str | None = None) -> Path:
    """Put ``body`` under a fresh header as ``script``'s block of ``page``; keep the rest.

    ``script`` is the path relative to the repository root (``bench/skin_accuracy.py``);
    ``title`` is used only when the page does not exist yet. ``block`` names the block when a
    script writes several to one page (``"bench/geometry_eval.py --section real"``; default
    ``script``); a block's name is matched whole, so one name may be a prefix of another.
    """
    name = block or script
    begin, end = _markers(name)
    block_text = f"{begin}\n\n{header(script, argv)}\n\n{body.strip()}\n\n{end}"
    text = page.read_text() if page.exists() else f"# {title}\n\n"
    pattern = re.compile(re.escape(f"<!-- begin: {name} (") + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block_text, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block_text + "\n"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    print(f"wrote the block {name!r} of {page}", file=sys.stderr)
    return page


class _Tee(io.TextIOBase):
    def __init__(self, stream):
        self.stream, self.buffer = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.buffer.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def tee_stdout() -> Iterator[io.StringIO]:
    """Collect what is printed to stdout inside the block (it is still printed)."""
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    try:
        yield tee.buffer
    finally:
        sys.stdout = tee.stream


def run(main, script: str, page: str, title: str, *, fence: bool = False,
        block: str | None = None) -> int:
    """Run a bench script's ``main()``; with ``--report [PAGE]``, write what it printed there.

    ``main``'s own parser declares the option (``add_report_option``) so that ``--help`` shows
    it; this wrapper reads it first, collects stdout while ``main`` runs and, when ``main``
    succeeds, writes the output as ``script``'s block of the page (inside a ``text`` fence when
    the script prints plain text rather than Markdown tables). ``block`` names the block when
    one script writes several into the page (see :func:`write_block`).
    """
    pre = argparse.ArgumentParser(add_help=False)
    add_report_option(pre, page)
    known, _ = pre.parse_known_args()
    if known.report is None:
        return main()
    with tee_stdout() as printed:
        status = main()
    if status:
        print(f"not writing {known.report}: the run failed (exit {status})", file=sys.stderr)
        return status
    body = printed.getvalue()
    write_block(known.report, script, f"```text\n{body.strip()}\n```" if fence else body,
                title=title, block=block)
    return 0
