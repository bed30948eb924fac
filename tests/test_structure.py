"""The package's shape: no import cycle inside ``fleck``, ``__all__`` everywhere, cheap import.

The import graph is read from the source (AST), so lazy imports inside functions count too: a
cycle through a lazy import is still a cycle (it only fails later, at run time). Importing a
submodule runs its parent packages' ``__init__`` first; that implicit edge is left out, as it
is in every package whose ``__init__`` re-exports its submodules. The names that
``fleck/__init__.pyi`` declares lazily are edges of ``fleck``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fleck"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The fleck modules that the module at ``path`` (called ``name``) imports, anywhere."""
    package = name if path.name in ("__init__.py", "__init__.pyi") else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` imports module a.b when there is one, else module a.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import fleck.x.y` -> the module fleck.x.y
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    graph = {name: imported(path, name, known) for name, path in found.items()}
    stub = PACKAGE / "__init__.pyi"
    if stub.exists():
        graph["fleck"] |= imported(stub, "fleck", known)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_graph_sees_lazy_relative_and_from_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "fleck"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from fleck.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("from .b import x\n")
    (pkg / "sub" / "b.py").write_text("import fleck.a\nx = 1\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    graph = import_graph()
    assert graph["fleck.a"] == {"fleck.sub.b"}
    assert graph["fleck.sub"] == {"fleck.sub.b"}
    assert find_cycle(graph) == ["fleck.a", "fleck.sub.b", "fleck.a"]


def test_no_import_cycle_inside_fleck():
    graph = import_graph()
    assert len(graph) > 30 and graph["fleck.skin_model"]  # the graph was really read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


PRIVATE = ("fleck.__main__",)


@pytest.mark.parametrize("name", sorted(n for n in modules() if n not in PRIVATE
                                        and not n.rpartition(".")[2].startswith("_")))
def test_every_public_module_declares_all(name):
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    names = [n.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
             for n in ast.walk(t) if isinstance(n, ast.Name)]
    assert "__all__" in names, f"{name} has no __all__"


def test_import_fleck_is_cheap_and_dir_shows_the_lazy_names():
    code = ("import sys, fleck; names = dir(fleck); "
            "print(all(n in names for n in ('detect', 'Detector', 'load_image', 'draw', "
            "'occlusion_map', 'skin_map')), "
            "[m for m in ('fleck.detector', 'fleck.skin', 'cv2', 'skimage', 'matplotlib') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True []"


def test_min_constraints_pin_the_pyproject_floors():
    """constraints-min.txt (tools/test-min-deps.sh) pins exactly the floors pyproject declares."""
    import re

    root = PACKAGE.parent
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    floors = dict(re.findall(r'^\s*"([A-Za-z0-9_.-]+)>=([0-9.]+)"', block, re.M))
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([0-9.]+)",
                           (root / "constraints-min.txt").read_text(encoding="utf-8"), re.M))
    assert len(floors) >= 8 and set(floors) == set(pins)
    for name, floor in floors.items():
        assert pins[name] == floor or pins[name].startswith(floor + "."), (name, floor, pins[name])


# The modules whose public API follows the numpydoc standard (Parameters, Returns, Examples).
DOCUMENTED = ("fleck.scan", "fleck.loading", "fleck.parallel", "fleck.synth", "fleck.occlusion",
              "fleck.compare", "fleck.cnn", "fleck.scorers", "fleck.overlay", "fleck.skin_model",
              "fleck.evaldata", "fleck.colour", "fleck.commands", "fleck.cli", "fleck.errors",
              "fleck.skin_rules", "fleck.regions", "fleck.verdict", "fleck.censoring",
              "fleck.video", "fleck.batch", "fleck.estimator", "fleck.serve")
# Examples that point to another object's doctest instead of repeating it.
EXAMPLE_ELSEWHERE = {"fleck.scan.worker.scan_chunk", "fleck.compare.report.render_html",
                     "fleck.scan.local.keep_pool"}


def public_objects():
    import importlib
    import inspect

    for name in sorted(modules()):
        if not name.startswith(DOCUMENTED) or name.rpartition(".")[2].startswith("_"):
            continue
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == name:
                yield f"{name}.{attr}", obj


def test_public_functions_and_classes_have_numpydoc_sections_and_hints():
    import inspect

    problems = []
    for name, obj in public_objects():
        doc = inspect.getdoc(obj) or ""
        if ">>>" not in doc and name not in EXAMPLE_ELSEWHERE:
            problems.append(f"{name}: no example")
        if inspect.isfunction(obj):
            signature = inspect.signature(obj)
            params = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
            if params and "Parameters\n----------" not in doc:
                problems.append(f"{name}: no Parameters section")
            if signature.return_annotation in (inspect.Signature.empty,) or any(
                    p.annotation is inspect.Parameter.empty for p in params
                    if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)):
                problems.append(f"{name}: missing type hints")
            if signature.return_annotation not in (None, "None", inspect.Signature.empty) and \
                    "Returns\n-------" not in doc and "Yields\n------" not in doc:
                problems.append(f"{name}: no Returns section")
    assert not problems, "\n".join(problems)


MAX_MODULE_LINES = 500


def test_no_module_over_500_lines():
    """A module that outgrows this does two jobs: split it (as fleck/config/, fleck/chains.py)."""
    long = {name: len(path.read_text(encoding="utf-8").splitlines())
            for name, path in modules().items()}
    assert {name: n for name, n in long.items() if n > MAX_MODULE_LINES} == {}
