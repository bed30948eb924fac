"""The tools behind the documentation: report blocks (bench/_report.py) and the generated
configuration tables (docs/_ext/fleck_docs.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fleck.config import CONFIGS, describe

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import _report  # noqa: E402


def test_write_block_creates_the_page_then_replaces_only_its_own_block(tmp_path):
    page = tmp_path / "reports" / "speed.md"
    _report.write_block(page, "bench/a.py", "| a | 1 |", title="Speed", argv=["--x"])
    text = page.read_text()
    assert text.startswith("# Speed\n")
    assert "`python bench/a.py --x`" in text and "| a | 1 |" in text

    # Prose around the block and another script's block survive a re-run of the first script.
    page.write_text(text.replace("# Speed\n", "# Speed\n\nIntro prose.\n") + "\nAfter prose.\n")
    _report.write_block(page, "bench/b.py", "| b | 2 |")
    _report.write_block(page, "bench/a.py", "| a | 3 |", argv=[])
    text = page.read_text()
    assert "| a | 1 |" not in text and "| a | 3 |" in text and "| b | 2 |" in text
    assert "Intro prose." in text and "After prose." in text
    assert text.count("<!-- begin: bench/a.py") == 1
    assert text.count("<!-- end: bench/a.py -->") == 1
    assert text.index("| a | 3 |") < text.index("After prose.") < text.index("| b | 2 |")


def test_header_records_commit_machine_and_versions():
    header = _report.header("bench/x.py", ["--quick"])
    rows = dict(line.strip("|").split("|", 1) for line in header.splitlines()[2:])
    rows = {key.strip(): value.strip() for key, value in rows.items()}
    assert rows["command"] == "`python bench/x.py --quick`"
    assert rows["commit"].strip("`")  # a hash, possibly +dirty, or 'unknown' outside git
    assert "cores" in rows["machine"]
    assert "Python" in rows["software"] and "NumPy" in rows["software"]


def test_run_writes_what_main_printed_only_with_report(tmp_path, monkeypatch, capsys):
    page = tmp_path / "page.md"

    def main():
        print("| t | 1 |")
        return 0

    monkeypatch.setattr(sys, "argv", ["bench/t.py"])
    assert _report.run(main, "bench/t.py", str(page), "T") == 0
    assert not page.exists()
    monkeypatch.setattr(sys, "argv", ["bench/t.py", "--report", str(page)])
    assert _report.run(main, "bench/t.py", str(page), "T", fence=True) == 0
    assert "```text\n| t | 1 |\n```" in page.read_text()
    assert "| t | 1 |" in capsys.readouterr().out  # still printed


def test_configuration_tables_cover_every_configuration_and_parameter():
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(REPO / "docs" / "_ext"))
    import fleck_docs

    text = fleck_docs.configuration_tables({"1.7"})
    header = next(line for line in text.splitlines() if line.startswith("| parameter | `"))
    assert all(f"`{name}`" in header for name in CONFIGS)
    for key, _, _ in describe(CONFIGS["fleck1996"]):
        assert f"| `{key}` |" in text
    assert "{ref}`1.7 <step-1.7>`" in text  # provenance links to the step of the method
    # A '|' inside a provenance or value must not split the Markdown table row.
    assert fleck_docs._prose("P(a | b)") == "P(a \\| b)"
