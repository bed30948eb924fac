"""Sphinx configuration of fleck's documentation.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pages are MyST Markdown; the API pages are autodoc + numpydoc from the docstrings. The build
needs no network: no intersphinx, nothing fetched.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # document the checkout, installed or not

import fleck  # noqa: E402

project = "fleck"
author = "the fleck authors"
copyright = "the fleck authors"  # noqa: A001  (Sphinx's name)
version = release = fleck.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "fleck_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
smartquotes = False  # keep --options, 'names' and "strings" as typed

# MyST: ::: fences for notes, and anchors on headings so pages can link to sections.
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# API pages: autodoc documents what each module exports; numpydoc renders the docstrings.
autosummary_generate = False
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc Parameters sections give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# A cross-reference to something that does not exist fails the build (with -W). References to
# parts of fleck without a page of their own are shown unlinked (docs/_ext/fleck_docs.py).
nitpicky = True

html_theme = "pydata_sphinx_theme"
html_title = f"fleck {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": [], "getting-started": []}
html_show_sourcelink = False
