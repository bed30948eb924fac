"""Run an ONNX graph with PyTorch operations, so that gradients flow through the peers' own weights.

The CNN peers ship as ONNX files. onnxruntime runs them but gives no gradients; the published
ONNX-to-PyTorch converters depend on torchvision, which pins CUDA builds of PyTorch. This
module is a small interpreter instead: it reads the graph with the ``onnx`` package and executes
each node, in the file's topological order, with the matching ``torch`` function. It covers the
operators of the two peers (a ResNet-50 classifier and a YOLOv8n detector) and a few common ones
more; an unsupported operator is named in a clear error when the graph is loaded.

Hidden activations go through :class:`Activation`, whose backward pass follows a rule chosen at
backward time (so that one forward pass serves several attribution methods):

``"gradient"``
    the true derivative ``g * f'(x)``;
``"deconvnet"``
    ``relu(g)``: only the sign of the signal coming back is used (Zeiler & Fergus 2014);
``"guided"``
    ``relu(g * f'(x))``: guided backpropagation (Springenberg et al. 2015).

ReLU (``Relu``) and SiLU (``Mul(x, Sigmoid(x))``, fused when the graph is loaded) are hidden
activations. For ReLU these are the published rules (and what ``captum``'s ``Deconvolution``
and ``GuidedBackprop`` compute); for SiLU they are the same rules with SiLU's derivative.

>>> import numpy as np, onnx
>>> from onnx import helper, TensorProto
>>> node = helper.make_node("Relu", ["x"], ["y"])
>>> g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
...     [1, 2])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
>>> graph = OnnxGraph(helper.make_model(g))
>>> import torch
>>> graph.run({"x": torch.tensor([[-1.0, 2.0]])})["y"].tolist()
[[0.0, 2.0]]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

__all__ = ["OnnxGraph", "Activation", "RULES", "UnsupportedGraphError"]

RULES = ("gradient", "deconvnet", "guided")


class UnsupportedGraphError(ValueError):
    """The ONNX graph uses an operator or attribute this interpreter does not implement."""


@dataclass
class _RuleHolder:
    """The backward rule in force; read by :class:`Activation` during the backward pass."""

    rule: str = "gradient"


class Activation(torch.autograd.Function):
    """ReLU or SiLU whose backward pass follows the holder's rule (see the module docstring)."""

    @staticmethod
    def forward(ctx, x, kind: str, holder: _RuleHolder):  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.kind, ctx.holder = kind, holder
        return _activate(x, kind)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        rule = ctx.holder.rule
        if rule == "deconvnet":
            return F.relu(grad), None, None
        if ctx.kind == "relu":
            local = grad * (x > 0).to(grad.dtype)
        else:  # silu: d/dx x s(x) = s(x) (1 + x (1 - s(x)))
            s = torch.sigmoid(x)
            local = grad * s * (1 + x * (1 - s))
        return (F.relu(local) if rule == "guided" else local), None, None


def _activate(x, kind: str):
    return F.relu(x) if kind == "relu" else F.silu(x)


@dataclass
class _Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""


class OnnxGraph:
    """An ONNX model executed with PyTorch operations (float32, CPU).

    Parameters
    ----------
    model : str, path, bytes or onnx.ModelProto
        The ONNX model (file, serialized bytes, or loaded proto).

    Attributes
    ----------
    input_names, output_names : list of str
        The graph's inputs (initialisers excluded) and outputs.
    holder : _RuleHolder
        ``holder.rule`` selects the backward rule of the hidden activations.

    Examples
    --------
    See the module docstring.
    """

    def __init__(self, model: str | os.PathLike[str] | bytes | onnx.ModelProto) -> None:
        if isinstance(model, onnx.ModelProto):
            proto = model
        elif isinstance(model, (bytes, bytearray)):
            proto = onnx.load_from_string(bytes(model))
        else:
            proto = onnx.load(os.fspath(model))
        graph = proto.graph
        self.constants: dict[str, torch.Tensor] = {
            init.name: _tensor(numpy_helper.to_array(init)) for init in graph.initializer}
        self.input_names = [i.name for i in graph.input if i.name not in self.constants]
        self.output_names = [o.name for o in graph.output]
        self.holder = _RuleHolder()
        nodes = []
        for n in graph.node:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            if n.op_type == "Constant":
                self.constants[n.output[0]] = _constant(attrs)
                continue
            nodes.append(_Node(n.op_type, list(n.input), list(n.output), attrs, n.name))
        self.nodes = _fuse_silu(nodes)
        missing = sorted({n.op for n in self.nodes} - set(_OPS))
        if missing:
            raise UnsupportedGraphError(f"ONNX operators not supported: {', '.join(missing)}")
        self.producers = {out: node for node in self.nodes for out in node.outputs}

    def run(self, inputs: dict[str, torch.Tensor], keep: Iterable[str] = ()) -> dict[str, Any]:
        """Execute the graph; returns the outputs and the tensors named in ``keep``."""
        wanted = set(self.output_names) | set(keep)
        unknown = wanted - set(self.producers) - set(self.constants) - set(inputs)
        if unknown:
            raise KeyError(f"no tensor named {', '.join(sorted(unknown))} in the graph")
        values: dict[str, Any] = {**self.constants, **inputs}
        grad = torch.is_grad_enabled() and any(
            getattr(v, "requires_grad", False) for v in inputs.values())
        for node in self.nodes:
            args = [values[name] if name else None for name in node.inputs]
            if node.op in _ACTIVATIONS:
                x = args[0]
                kind = _ACTIVATIONS[node.op]
                out = Activation.apply(x, kind, self.holder) if grad and x.requires_grad \
                    else _activate(x, kind)
                results: Any = (out,)
            else:
                results = _OPS[node.op](args, node.attrs)
                if not isinstance(results, (tuple, list)):
                    results = (results,)
            for name, value in zip(node.outputs, results, strict=False):
                values[name] = value
        return {name: values[name] for name in wanted}


# -------------------------------------------------------------------------------------- loading
def _tensor(array: np.ndarray) -> torch.Tensor:
    array = np.array(array, copy=True)
    if array.dtype == np.float64 or array.dtype == np.float16:
        array = array.astype(np.float32)
    return torch.from_numpy(array)


def _constant(attrs: dict[str, Any]) -> torch.Tensor:
    if "value" in attrs:
        return _tensor(numpy_helper.to_array(attrs["value"]))
    for key, dtype in (("value_float", np.float32), ("value_int", np.int64),
                       ("value_floats", np.float32), ("value_ints", np.int64)):
        if key in attrs:
            return _tensor(np.asarray(attrs[key], dtype))
    raise UnsupportedGraphError(f"Constant with attributes {sorted(attrs)}")


def _fuse_silu(nodes: list[_Node]) -> list[_Node]:
    """``s = Sigmoid(x); y = Mul(x, s)`` (s used nowhere else) becomes ``y = SiLU(x)``."""
    uses: dict[str, int] = {}
    for node in nodes:
        for name in node.inputs:
            uses[name] = uses.get(name, 0) + 1
    sigmoid_of = {n.outputs[0]: n.inputs[0] for n in nodes if n.op == "Sigmoid"}
    fused_sigmoids = set()
    out = []
    for node in nodes:
        if node.op == "Mul" and len(node.inputs) == 2:
            a, b = node.inputs
            for x, s in ((a, b), (b, a)):
                if sigmoid_of.get(s) == x and uses.get(s) == 1:
                    node = _Node("SiLU", [x], node.outputs, {}, node.name)
                    fused_sigmoids.add(s)
                    break
        out.append(node)
    return [n for n in out if not (n.op == "Sigmoid" and n.outputs[0] in fused_sigmoids)]


# ------------------------------------------------------------------------------------ operators
def _ints(value) -> list[int]:
    if isinstance(value, torch.Tensor):
        return [int(v) for v in value.reshape(-1).tolist()]
    return [int(v) for v in value]


def _spatial_pads(attrs: dict[str, Any], dims: int) -> list[int] | None:
    """ONNX pads (begins..., ends...) -> F.pad order (last axis first), or None if symmetric 0."""
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
        raise UnsupportedGraphError(f"auto_pad={attrs['auto_pad']!r}")
    pads = list(attrs.get("pads", [0] * 2 * dims))
    if not any(pads):
        return None
    begins, ends = pads[:dims], pads[dims:]
    order: list[int] = []
    for axis in reversed(range(dims)):
        order += [begins[axis], ends[axis]]
    return order


def _pad_input(x, attrs, dims: int, fill: float | None = 0.0):
    """(x, padding): symmetric ONNX pads become the operator's own ``padding``; asymmetric ones
    are applied to ``x`` first with ``fill`` (None: not supported by the operator)."""
    pads = _spatial_pads(attrs, dims)
    if pads is None:
        return x, 0
    if all(pads[i] == pads[i + 1] for i in range(0, len(pads), 2)):
        return x, tuple(pads[::2][::-1])
    if fill is None:
        raise UnsupportedGraphError("asymmetric pads on an averaging pool")
    return F.pad(x, pads, value=fill), 0


def _conv(args, attrs):
    x, w = args[0], args[1]
    bias = args[2] if len(args) > 2 else None
    dims = w.dim() - 2
    x, padding = _pad_input(x, attrs, dims)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
    return conv(x, w, bias, stride=tuple(attrs.get("strides", [1] * dims)), padding=padding,
                dilation=tuple(attrs.get("dilations", [1] * dims)),
                groups=int(attrs.get("group", 1)))


def _max_pool(args, attrs):
    x = args[0]
    kernel = attrs["kernel_shape"]
    dims = len(kernel)
    x, padding = _pad_input(x, attrs, dims, fill=float("-inf"))
    return F.max_pool2d(x, tuple(kernel), stride=tuple(attrs.get("strides", kernel)),
                        padding=padding, dilation=tuple(attrs.get("dilations", [1] * dims)),
                        ceil_mode=bool(attrs.get("ceil_mode", 0)))


def _average_pool(args, attrs):
    x = args[0]
    kernel = attrs["kernel_shape"]
    x, padding = _pad_input(x, attrs, len(kernel), fill=None)
    return F.avg_pool2d(x, tuple(kernel), stride=tuple(attrs.get("strides", kernel)),
                        padding=padding, ceil_mode=bool(attrs.get("ceil_mode", 0)),
                        count_include_pad=bool(attrs.get("count_include_pad", 0)))


def _reshape(args, attrs):
    x, shape = args[0], _ints(args[1])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _split(args, attrs):
    x = args[0]
    axis = int(attrs.get("axis", 0))
    sizes = _ints(args[1]) if len(args) > 1 and args[1] is not None else attrs.get("split")
    if sizes is None:
        parts = int(attrs.get("num_outputs", 2))
        return torch.chunk(x, parts, dim=axis)
    return torch.split(x, list(sizes), dim=axis)


def _axes(args, attrs) -> list[int]:
    return _ints(args[1]) if len(args) > 1 and args[1] is not None else list(attrs["axes"])


def _unsqueeze(args, attrs):
    x = args[0]
    for axis in sorted(a % (x.dim() + len(_axes(args, attrs))) for a in _axes(args, attrs)):
        x = x.unsqueeze(axis)
    return x


def _squeeze(args, attrs):
    x = args[0]
    if (len(args) < 2 or args[1] is None) and "axes" not in attrs:
        return x.squeeze()
    for axis in sorted((a % x.dim() for a in _axes(args, attrs)), reverse=True):
        x = x.squeeze(axis)
    return x


def _slice(args, attrs):
    x = args[0]
    starts, ends = _ints(args[1]), _ints(args[2])
    axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else list(range(len(starts)))
    steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index: list[Any] = [slice(None)] * x.dim()
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=False):
        if step < 1:
            raise UnsupportedGraphError("Slice with a negative step")
        length = x.shape[axis]
        start = max(0, min(length, start + length if start < 0 else start))
        end = max(0, min(length, end + length if end < 0 else end))
        index[axis] = slice(start, end, step)
    return x[tuple(index)]


def _resize(args, attrs):
    x = args[0]
    mode = attrs.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    transform = attrs.get("coordinate_transformation_mode", b"half_pixel")
    transform = transform.decode() if isinstance(transform, bytes) else transform
    sizes = args[3] if len(args) > 3 and args[3] is not None else None
    if sizes is not None:
        size = _ints(sizes)[2:]
    else:
        scales = [float(s) for s in args[2].reshape(-1).tolist()]
        size = [int(np.floor(d * s)) for d, s in zip(x.shape[2:], scales[2:], strict=False)]
    if mode == "nearest":
        nearest = attrs.get("nearest_mode", b"round_prefer_floor")
        nearest = nearest.decode() if isinstance(nearest, bytes) else nearest
        if transform != "asymmetric" or nearest != "floor":
            raise UnsupportedGraphError(f"Resize nearest with {transform}/{nearest}")
        return F.interpolate(x, size=size, mode="nearest")
    if mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        return F.interpolate(x, size=size, mode="bilinear",
                             align_corners=transform == "align_corners")
    raise UnsupportedGraphError(f"Resize mode {mode} with {transform}")


_ONNX_DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool,
                11: torch.float64}


def _cast(args, attrs):
    to = int(attrs["to"])
    if to not in _ONNX_DTYPES:
        raise UnsupportedGraphError(f"Cast to ONNX type {to}")
    dtype = _ONNX_DTYPES[to]
    return args[0].to(torch.float32 if dtype == torch.float64 else dtype)


def _constant_of_shape(args, attrs):
    value = attrs.get("value")
    fill = numpy_helper.to_array(value).reshape(-1) if value is not None \
        else np.zeros(1, np.float32)
    return torch.full(_ints(args[0]), fill[0].item(), dtype=_tensor(fill).dtype)


def _gather(args, attrs):
    x, index = args[0], args[1]
    axis = int(attrs.get("axis", 0))
    index = torch.where(index < 0, index + x.shape[axis], index)
    if index.dim() == 0:
        return x.select(axis, int(index))
    return torch.index_select(x, axis, index.reshape(-1)).reshape(
        *x.shape[:axis], *index.shape, *x.shape[axis + 1:])


def _gemm(args, attrs):
    a, b = args[0], args[1]
    if attrs.get("transA", 0):
        a = a.t()
    if attrs.get("transB", 0):
        b = b.t()
    out = float(attrs.get("alpha", 1.0)) * (a @ b)
    if len(args) > 2 and args[2] is not None:
        out = out + float(attrs.get("beta", 1.0)) * args[2]
    return out


def _flatten(args, attrs):
    x = args[0]
    axis = int(attrs.get("axis", 1)) % max(x.dim(), 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


_ACTIVATIONS = {"Relu": "relu", "SiLU": "silu"}

_OPS: dict[str, Callable[[list, dict], Any]] = {
    "Relu": lambda a, k: F.relu(a[0]),
    "SiLU": lambda a, k: F.silu(a[0]),
    "Sigmoid": lambda a, k: torch.sigmoid(a[0]),
    "Conv": _conv,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": lambda a, k: a[0].mean(dim=tuple(range(2, a[0].dim())), keepdim=True),
    "Add": lambda a, k: a[0] + a[1],
    "Sub": lambda a, k: a[0] - a[1],
    "Mul": lambda a, k: a[0] * a[1],
    "Div": lambda a, k: a[0] / a[1],
    "MatMul": lambda a, k: a[0] @ a[1],
    "Gemm": _gemm,
    "Softmax": lambda a, k: torch.softmax(a[0], dim=int(k.get("axis", -1))),
    "Transpose": lambda a, k: a[0].permute(*k["perm"]) if "perm" in k else a[0].permute(
        *reversed(range(a[0].dim()))),
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Concat": lambda a, k: torch.cat([t for t in a if t is not None], dim=int(k["axis"])),
    "Split": _split,
    "Slice": _slice,
    "Resize": _resize,
    "Shape": lambda a, k: torch.tensor(list(a[0].shape), dtype=torch.int64),
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Cast": _cast,
    "Range": lambda a, k: torch.arange(a[0].item(), a[1].item(), a[2].item(),
                                       dtype=a[0].dtype),
    "ConstantOfShape": _constant_of_shape,
    "Expand": lambda a, k: a[0] * torch.ones(_ints(a[1]), dtype=a[0].dtype),
    "Identity": lambda a, k: a[0],
}
