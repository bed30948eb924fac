"""Sphinx helpers for fleck's documentation: pages built from the code, so they cannot go stale.

* ``<!-- fleck-configurations -->`` on a page is replaced, each time the page is read, by the
  tables of every configuration in ``fleck.config.CONFIGS`` (``fleck.config.describe``): each
  parameter's value in every configuration, and its provenance.
* ``.. fleck-summary:: MODULE`` (in reStructuredText) is an autosummary table of a module's
  public functions and classes: the names in its ``__all__`` (or, without one, those it defines
  without a leading underscore), so a name added to or moved behind ``__all__`` shows up by
  itself. ``.. fleck-summary:: fleck`` lists the package's top-level names, each linked to the
  public module page that documents it, and warns about a name no page documents. Every
  module documented with ``automodule`` gets this table after its docstring.
* Members imported from other libraries are never documented, nor the methods another library
  adds to a class of fleck (scikit-learn's ``set_score_request`` on ``FleckClassifier``).
* A Python reference that names an object by its short name (``ImageError``) or by its
  package-level alias (``fleck.detect``) links to the one place it is documented; one to a
  part of fleck that exists but has no page (``fleck.scan.walk``) is shown unlinked; one to
  something that does not exist fails the build.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import types
from pathlib import Path
from typing import Any

from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.ext.autosummary import Autosummary
from sphinx.util import logging

logger = logging.getLogger(__name__)

CONFIG_PLACEHOLDER = "<!-- fleck-configurations -->"
CONFIG_PAGES: set[str] = set()  # docnames holding the placeholder: always re-read

# The public modules with a page under docs/api/, in the order a reader meets them. A
# top-level name of ``fleck`` links to the first of these that lists it.
API_MODULES = ("fleck.detector", "fleck.batch", "fleck.estimator", "fleck.config",
               "fleck.loading", "fleck.colour", "fleck.skin", "fleck.segments", "fleck.frame",
               "fleck.grouper", "fleck.decision",
               "fleck.overlay", "fleck.errors", "fleck.scan", "fleck.compare", "fleck.occlusion",
               "fleck.synth", "fleck.skin_rules", "fleck.skin_model", "fleck.cnn",
               "fleck.regions", "fleck.verdict", "fleck.censoring", "fleck.video",
               "fleck.saliency")

# Provenance strings are written for developers; these phrases are reworded for readers of the
# documentation (the strings themselves are unchanged in fleck.config).
WORDING = ((re.compile(r"\bissue 8\b"), "fitted skin model"),
           (re.compile(r"\(figures decided 34/60 -> see README\)"), "(figures decided 34/60)"),
           (re.compile(r"\bREADME\b"), "the reports"))


def is_alias(obj: Any) -> bool:
    """A type alias such as ``Box = tuple[float, ...]``, which autodoc cannot document."""
    return isinstance(obj, (types.GenericAlias, types.UnionType)) or \
        type(obj).__module__ == "typing"


def is_data(obj: Any) -> bool:
    """A constant: not a class, function or module (nor a type alias)."""
    return not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)
                or is_alias(obj))


def public_names(module: Any) -> list[str]:
    """The names ``module`` exports: its ``__all__``, else the classes and functions it
    defines without a leading underscore. Type aliases are left out."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name, obj in vars(module).items()
                 if not name.startswith("_")
                 and getattr(obj, "__module__", None) == module.__name__
                 and (inspect.isclass(obj) or inspect.isfunction(obj))]
    return [n for n in names if not is_alias(getattr(module, n, None))]


# --------------------------------------------------------------------------- configurations


def _cell(value: Any) -> str:
    """A Markdown table cell: code for values, escaped text for prose."""
    return "`" + repr(value).replace("|", "\\|") + "`"


STEP = r"G?\d+(?:\.\d+)*"
STEPS = re.compile(rf"\bspec ({STEP}(?:\s*/\s*{STEP})*)")


def step_labels(srcdir: str) -> set[str]:
    """The steps of the method pages that carry a ``(step-1.7)=`` label."""
    labels = set()
    for page in Path(srcdir, "method").glob("*.md"):
        labels.update(re.findall(r"^\(step-([^)]+)\)=", page.read_text(), flags=re.M))
    return labels


def _prose(text: str, steps: set[str] = frozenset()) -> str:
    """Escape a provenance string for Markdown; link ``spec 1.7`` to step 1.7 of the method."""
    for pattern, replacement in WORDING:
        text = pattern.sub(replacement, text)
    text = re.sub(r"([\\`*_|<>\[\]])", r"\\\1", text)

    def link(match: re.Match) -> str:
        return "spec " + re.sub(STEP, lambda m: f"{{ref}}`{m.group(0)} <step-{m.group(0)}>`"
                                if m.group(0) in steps else m.group(0), match.group(1))

    return STEPS.sub(link, text)


def configuration_tables(steps: set[str] = frozenset()) -> str:
    """Markdown: a values table over every configuration, then each one's provenance."""
    from fleck.config import CONFIGS, describe

    rows = {name: describe(config) for name, config in CONFIGS.items()}
    default_name = next(iter(CONFIGS))
    default = {key: (value, why) for key, value, why in rows[default_name]}
    names = list(CONFIGS)
    out = ["## Values", "",
           f"Every parameter of every configuration. **Bold** values differ from "
           f"`{default_name}`, the default.", "",
           "| parameter | " + " | ".join(f"`{n}`" for n in names) + " |",
           "|---|" + "---|" * len(names)]
    values = {n: {key: value for key, value, _ in rows[n]} for n in names}
    for key in default:
        cells = []
        for n in names:
            cell = _cell(values[n][key])
            cells.append(f"**{cell}**" if values[n][key] != default[key][0] else cell)
        out.append(f"| `{key}` | " + " | ".join(cells) + " |")
    out += ["", f"## Provenance of `{default_name}`", "",
            "| parameter | value | provenance |", "|---|---|---|"]
    out += [f"| `{key}` | {_cell(value)} | {_prose(why, steps)} |"
            for key, (value, why) in default.items()]
    for n in names[1:]:
        changed = [(key, value, why) for key, value, why in rows[n]
                   if key != "name" and (value, why) != default[key]]
        out += ["", f"## `{n}`: what differs from `{default_name}`", "",
                "| parameter | value | provenance |", "|---|---|---|"]
        out += [f"| `{key}` | {_cell(value)} | {_prose(why, steps)} |"
                for key, value, why in changed]
    return "\n".join(out) + "\n"


def _insert_configurations(app: Sphinx, docname: str, source: list[str]) -> None:
    if CONFIG_PLACEHOLDER in source[0]:
        CONFIG_PAGES.add(docname)
        tables = configuration_tables(step_labels(app.srcdir))
        source[0] = source[0].replace(CONFIG_PLACEHOLDER, tables)


def _always_reread(app: Sphinx, env: Any, added: set, changed: set, removed: set) -> list[str]:
    return sorted(CONFIG_PAGES - removed)


# --------------------------------------------------------------------------- API summaries


class FleckSummary(Autosummary):
    """``.. fleck-summary:: MODULE``: autosummary of the module's public names."""

    required_arguments = 1
    has_content = False
    option_spec: dict = {}

    def run(self):
        modname = self.arguments[0]
        module = importlib.import_module(modname)
        if modname == "fleck":
            targets = [self._home(name) for name in public_names(module)]
            targets = [t for t in targets if t]
        else:
            # Inside the module's own documentation autosummary wants bare names.
            inside = self.env.ref_context.get("py:module") == modname
            targets = [name if inside else f"~{modname}.{name}" for name in public_names(module)]
        self.content = StringList(targets, source=self.get_source_info()[0])
        self.options = {"nosignatures": True}
        return super().run()

    def get_items(self, names: list[str]) -> list[tuple[str, str, str, str]]:
        """Autosummary's rows; a constant is summarised by its type (and name), not by the
        docstring of its class."""
        items = []
        for display, sig, summary, real_name in super().get_items(names):
            modname, _, attr = real_name.rpartition(".")
            obj = getattr(importlib.import_module(modname), attr, None)
            if not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)):
                label = getattr(obj, "name", None)
                summary = type(obj).__name__ + (f" {label!r}" if isinstance(label, str) else "")
            items.append((display, sig, summary, real_name))
        return items

    def _home(self, name: str) -> str | None:
        obj = getattr(importlib.import_module("fleck"), name)
        homes = [m for m in map(importlib.import_module, API_MODULES)
                 if getattr(m, name, None) is obj]
        # Where it is defined, else the first page whose module exports it.
        for module in sorted(homes, key=lambda m: (getattr(obj, "__module__", None) != m.__name__,
                                                   name not in public_names(m))):
            return f"~{module.__name__}.{name}"
        logger.warning("fleck.%s is public but no page under docs/api documents it "
                       "(add its module to API_MODULES in docs/_ext/fleck_docs.py)", name,
                       location=self.get_location())
        return None


def _skip_foreign(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any):
    """Never document another library's class or function that a module merely imported, nor a
    type alias. A module's constants are documented by ``_summary_after_docstring`` instead
    (autodoc skips those without a doc comment), so they are skipped here."""
    module = getattr(obj, "__module__", None)
    if what == "class":  # methods another library adds to a class (scikit-learn's set_*_request)
        foreign = callable(obj) and isinstance(module, str) and not module.startswith("fleck")
        return True if foreign else None
    if what != "module":
        return None
    if is_alias(obj) or is_data(obj):
        return True
    if isinstance(module, str) and not module.startswith("fleck"):
        return True
    return None


def _summary_after_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                             lines: list[str]) -> None:
    """Follow each documented module's docstring by the table of what it exports, then its
    exported constants (a long value is left out: the summary gives its type)."""
    if what != "module" or name not in API_MODULES:
        return
    lines.extend(["", ".. rubric:: Summary", "", f".. fleck-summary:: {name}", ""])
    for attr in public_names(obj):
        value = getattr(obj, attr, None)
        if is_data(value):
            lines.extend([f".. autodata:: {attr}"]
                         + (["   :no-value:"] if len(repr(value)) > 80 else []) + [""])


def _lookup(dotted: str) -> tuple[bool, Any]:
    """Whether ``dotted`` names a module or an attribute of one, and that object."""
    try:
        return True, importlib.import_module(dotted)
    except ImportError:
        pass
    modname, _, attr = dotted.rpartition(".")
    while modname:
        try:
            obj = importlib.import_module(modname)
        except ImportError:
            modname, _, head = modname.rpartition(".")
            attr = f"{head}.{attr}"
            continue
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            return False, None
        return True, obj
    return False, None


def _documented_name(env: Any, target: str, context: str | None) -> str | None:
    """The documented full name a short or package-level Python reference means, if unique.

    ``fleck.detect`` is documented as ``fleck.detector.detect``; ``ImageError`` written in a
    docstring of ``fleck.loading`` means ``fleck.errors.ImageError``.
    """
    documented = env.get_domain("py").objects
    candidates = [target] + ([f"{context}.{target}"] if context else [])
    for dotted in candidates:
        if not dotted.startswith("fleck.") or dotted in documented:
            continue
        found, obj = _lookup(dotted)
        attr = dotted.rpartition(".")[2]
        for name in API_MODULES if found else ():
            if getattr(importlib.import_module(name), attr, None) is obj \
                    and f"{name}.{attr}" in documented:
                return f"{name}.{attr}"
    matches = [name for name in documented if name.endswith("." + target)]
    return matches[0] if len(matches) == 1 else None


def _resolve_short_names(app: Sphinx, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve what the Python domain could not; leave only references to nothing to fail.

    A reference to an object documented under another name links there. A reference to a
    module or object of fleck that exists but has no page of its own (an implementation
    module such as ``fleck.scan.walk``) is shown without a link. A reference to something that
    does not exist (a typo, a function since removed) stays unresolved, and ``-W`` fails the
    build on it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    context = node.get("py:module")
    name = _documented_name(env, target, context)
    if name is not None:
        return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, "obj", name,
                                                node, contnode)
    for dotted in [target] + ([f"{context}.{target}"] if context else []):
        if dotted.startswith("fleck") and _lookup(dotted)[0]:
            return contnode
    if "." not in target and any(
            hasattr(module, target) for name, module in list(sys.modules.items())
            if name == "fleck" or name.startswith("fleck.")):
        return contnode  # a short name defined in one of fleck's (implementation) modules
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", _resolve_short_names)
    app.connect("autodoc-skip-member", _skip_foreign)
    app.connect("autodoc-process-docstring", _summary_after_docstring)
    app.connect("source-read", _insert_configurations)
    app.connect("env-get-outdated", _always_reread)
    app.add_directive("fleck-summary", FleckSummary)
    return {"parallel_read_safe": True, "parallel_write_safe": True,
            "version": "1"}

