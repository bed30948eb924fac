#!/usr/bin/env bash
# Test the pinned floors: install fleck with the lowest core-dependency versions pyproject.toml
# allows (constraints-min.txt) in a fresh virtual environment and run the whole test suite.
#
#   tools/test-min-deps.sh [VENV_DIR]      (default: .venv-min, reused when it exists)
#
# It takes a few minutes (about 2 for the install, the suite's usual time after). The optional
# extras (cnn, dask) are left out: their tests skip. Needs python3 >= 3.10 with venv and pip.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-min}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q -c constraints-min.txt -e ".[test]"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
pins = {}
for line in open("constraints-min.txt"):
    line = line.split("#")[0].strip()
    if line:
        name, version = line.split("==")
        pins[name] = version
wrong = {n: md.version(n) for n, v in pins.items() if md.version(n) != v}
assert not wrong, f"not the floor versions: {wrong}"
print("floors installed:", ", ".join(f"{n} {v}" for n, v in pins.items()))
PY
"$venv/bin/python" -m pytest -q -p no:cacheprovider
