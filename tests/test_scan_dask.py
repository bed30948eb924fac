"""``scan(..., scheduler=...)`` on a local Dask cluster gives the records of a local run."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

distributed = pytest.importorskip(
    "distributed", reason="Dask is an optional extra: pip install 'fleck[dask]'")

from fleck.scan import read_results, scan  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, silence_logs=40) as local:
        yield local


@pytest.fixture
def images(tmp_path):
    from fleck import synth

    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(2)
    for seed in range(6):
        Image.fromarray(synth.figure(seed, size=(120, 160)).image).save(root / f"fig{seed}.png")
    for i in range(10):
        noise = np.clip(rng.normal(150, 40, (90, 120, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(noise).save(root / "sub" / f"n{i}.jpg")
    (root / "sub" / "broken.jpg").write_text("not an image")
    return root


def comparable(path) -> dict[str, dict]:
    records = read_results(path)
    keyed = {r["path"]: {k: v for k, v in r.items() if k != "times_ms"} for r in records}
    assert len(keyed) == len(records)
    return keyed


def test_dask_cluster_gives_the_records_of_a_local_run(cluster, images, tmp_path):
    local = scan([images], tmp_path / "local.jsonl", jobs=2)
    remote = scan([images], tmp_path / "dask.jsonl", scheduler=cluster.scheduler_address,
                  chunk=2)
    assert comparable(remote.out) == comparable(local.out)
    assert (remote.images, remote.flagged, remote.failed) == (local.images, local.flagged, 1)
    assert remote.images == 17 and remote.exit_code == 1


def test_dask_resume_and_overlays(cluster, images, tmp_path):
    out, overlays = tmp_path / "dask.jsonl", tmp_path / "overlays"
    first = scan([images / "sub"], out, scheduler=cluster.scheduler_address)
    second = scan([images], out, scheduler=cluster.scheduler_address, resume=True,
                  overlays=overlays)
    assert (first.images, second.skipped, second.images) == (11, 11, 6)
    assert len(comparable(out)) == 17
    assert len(list(overlays.rglob("*.png"))) == second.flagged
