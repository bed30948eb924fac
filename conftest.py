"""pytest settings for the whole checkout (the tests and the package's docstring examples)."""

import importlib.util

# fleck.saliency.graph runs ONNX graphs with PyTorch: without the optional extra
# fleck[saliency] (torch, onnx) its docstring examples cannot even be imported, so they are not
# collected. tests/test_saliency.py says which of its tests skip and why.
collect_ignore = [] if all(importlib.util.find_spec(m) for m in ("torch", "onnx")) else [
    "fleck/saliency/graph.py"]
