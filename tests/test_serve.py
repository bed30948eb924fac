"""``fleck serve``: the HTTP API, started as a real server in a subprocess on a free port and
stopped by its PID.

One server (two workers, --max-bytes 2MB) answers most tests; a second one (one worker,
--timeout 3, --max-queue 1) the timeout and full-queue test. A slow request is an image
processed at its native size (``?config=fleck1996@native``), which takes seconds; tests that
need one in flight wait until ``/readyz`` lists its worker as busy, and never depend on how
long anything takes.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="fleck serve needs the serve extra")
pytest.importorskip("uvicorn", reason="fleck serve needs the serve extra")
pytest.importorskip("python_multipart", reason="fleck serve needs the serve extra")
httpx = pytest.importorskip("httpx", reason="the tests talk to the server with httpx")

from PIL import Image  # noqa: E402

from fleck import synth  # noqa: E402
from fleck.censoring import censor_bytes  # noqa: E402
from fleck.cli import main  # noqa: E402
from fleck.config import CONFIGS  # noqa: E402
from fleck.detector import Detector  # noqa: E402
from fleck.serve.testing import ServerProcess, hostile_bodies, png_header  # noqa: E402

MAX_BYTES = 2_000_000
SLOW = {"config": "fleck1996@native"}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("serve-images")
    found = {}
    for seed in range(40):  # a figure fleck flags, for censoring
        scene = synth.figure(seed, size=(240, 320))
        if Detector().detect(synth.encode_jpeg(scene.image)).decision and \
                Detector().detect(scene.image).decision:
            found["figure"] = folder / "figure.jpg"
            found["figure"].write_bytes(synth.encode_jpeg(scene.image))
            Image.fromarray(scene.image).save(folder / "figure.png")
            found["figure_png"] = folder / "figure.png"
            break
    control = next(synth.generate(1, kinds=["wood"], size=(240, 320)))
    found["control"] = folder / "control.jpg"
    found["control"].write_bytes(synth.encode_jpeg(control.image))
    # Seconds of work at native size (4 megapixels of skin-coloured stripes): a slow request.
    slow = np.full((2000, 2000, 3), (176, 112, 80), np.uint8)
    slow[::9] = (60, 90, 160)
    found["slow"] = folder / "slow.jpg"
    found["slow"].write_bytes(synth.encode_jpeg(slow, 80))
    assert found["slow"].stat().st_size < MAX_BYTES
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    process = ServerProcess("--workers", "2", "--max-bytes", "2MB", "--no-access-log",
                            "--timeout", "120", log=log)
    process.start()
    yield process
    pids = process.ready()["pids"]
    status = process.stop()
    # A clean stop on SIGTERM (uvicorn re-raises the signal once it has shut down).
    assert status in (0, -signal.SIGTERM), process.output()
    assert "Application shutdown complete" in process.output()
    for pid in pids:
        assert _gone(pid), f"worker {pid} outlived the server"


def _gone(pid: int, wait: float = 10.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    return True  # exited, not yet collected
        except (FileNotFoundError, ProcessLookupError):
            return True
        except OSError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
        time.sleep(0.05)
    return False


def post(server, path: str, body: bytes, content_type: str = "image/jpeg", **params):
    return httpx.post(server.url + path, content=body, params=params,
                      headers={"Content-Type": content_type}, timeout=120)


def wait_busy(server, count: int = 1, wait: float = 60.0) -> list[int]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        state = server.ready() or {}
        if len(state.get("busy_pids", [])) >= count:
            return state["busy_pids"]
        time.sleep(0.02)
    raise AssertionError(f"no worker became busy: {server.ready()}")


def wait_replaced(server, old: set[int], wait: float = 60.0) -> dict:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        state = server.ready()
        if state and state["warm"] == state["size"] and not old & set(state["pids"]):
            return state
        time.sleep(0.05)
    raise AssertionError(f"the worker was not replaced: {server.ready()}")


# -- the endpoints ---------------------------------------------------------------------------------

def test_health_readiness_and_configs(server):
    health = httpx.get(server.url + "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["status"] == "ready" and ready["warm"] == ready["workers"] == 2
    assert len(set(ready["pids"])) == 2 and server.pid not in ready["pids"]
    configs = httpx.get(server.url + "/v1/configs").json()
    assert configs["default"] == "fleck1996"
    assert [c["name"] for c in configs["configs"]] == list(CONFIGS)
    assert all(c["threshold"] == 0.5 for c in configs["configs"])


def test_detect_returns_the_record_fleck_detect_json_prints(server, images, capsys):
    assert main(["detect", "--json", str(images["figure"])]) == 0
    expected = json.loads(capsys.readouterr().out)
    answer = post(server, "/v1/detect", images["figure"].read_bytes())
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    record = answer.json()
    assert record["path"] is None and expected["path"] == str(images["figure"])
    for key in ("path", "times_ms"):
        record.pop(key), expected.pop(key)
    assert record == expected
    assert record["decision"] is True and record["label"] == "unsafe" and record["regions"]


def test_detect_options_and_media_types(server, images):
    data = images["figure"].read_bytes()
    lean = post(server, "/v1/detect", data, "application/octet-stream", regions="false").json()
    assert "regions" not in lean and lean["decision"] is True
    full = post(server, "/v1/detect", data, "image/png", regions="true", skin_rle="1").json()
    skin = [r for r in full["regions"] if r["kind"] == "skin"]
    assert skin and "rle" in json.dumps(skin[0])
    # No Content-Type at all: the bytes are sniffed.
    bare = httpx.post(server.url + "/v1/detect", content=data, timeout=60)
    assert bare.status_code == 200 and bare.json()["score"] == lean["score"]
    kapur = post(server, "/v1/detect", data, config="kapur").json()
    assert kapur["config"] == "kapur"


def test_detect_multipart_files_each_get_a_record(server, images):
    files = [("file", ("a.jpg", images["figure"].read_bytes(), "image/jpeg")),
             ("file", ("b.jpg", images["control"].read_bytes(), "image/jpeg")),
             ("file", ("notes.txt", b"not an image", "text/plain")),
             ("other", ("ignored.jpg", b"x", "image/jpeg"))]
    answer = httpx.post(server.url + "/v1/detect", files=files, timeout=60)
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["path"] for r in results] == ["a.jpg", "b.jpg", "notes.txt"]
    assert [r["status"] for r in results] == ["ok", "ok", "error"]
    assert results[0]["decision"] is True
    assert results[2]["kind"] == "not_an_image" and "not an image" in results[2]["error"]

    # Every file refused: the request is refused, with each file's record.
    bad = httpx.post(server.url + "/v1/detect", timeout=60,
                     files=[("file", ("bomb.png", png_header(90_000, 90_000), "image/png"))])
    assert bad.status_code == 422
    assert bad.json()["kind"] == "too_many_pixels"
    assert bad.json()["results"][0]["path"] == "bomb.png"

    none = httpx.post(server.url + "/v1/detect", files=[("photo", ("a.jpg", b"x"))])
    assert none.status_code == 400 and none.json()["kind"] == "no_file"
    many = httpx.post(server.url + "/v1/detect",
                      files=[("file", (f"{i}.jpg", b"x")) for i in range(33)])
    assert many.status_code == 400 and many.json()["kind"] == "too_many_files"


def test_paths_and_urls_sent_by_a_client_are_never_opened(server, images):
    # A body naming an image on the server's disk, or a URL the server could fetch, is just
    # bytes that are not an image.
    for body in (str(images["figure"]), images["figure"].as_uri(), server.url + "/healthz"):
        answer = post(server, "/v1/detect", body.encode())
        assert answer.status_code == 422 and answer.json()["kind"] == "not_an_image", body
    # A multipart file named after the figure on disk: its record is of the bytes sent (the
    # control image), under that name.
    control = post(server, "/v1/detect", images["control"].read_bytes()).json()
    answer = httpx.post(server.url + "/v1/detect", timeout=60, files=[
        ("file", (str(images["figure"]), images["control"].read_bytes(), "image/jpeg"))])
    record = answer.json()["results"][0]
    assert record["path"] == str(images["figure"])
    assert (record["score"], record["decision"]) == (control["score"], False)


def test_censor_returns_the_censored_image_in_its_format(server, images):
    for key, media in (("figure", "image/jpeg"), ("figure_png", "image/png")):
        data = images[key].read_bytes()
        answer = post(server, "/v1/censor", data, media, mode="pixelate", what="skin")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == media
        assert answer.headers["x-fleck-label"] == "unsafe"
        assert answer.headers["x-fleck-censored"] == "skin"
        assert 0 < float(answer.headers["x-fleck-censored-fraction"]) <= 1
        done, expected = censor_bytes(data, mode="pixelate", what="skin")
        assert answer.content == expected and answer.content != data
        with Image.open(io.BytesIO(answer.content)) as picture:
            assert picture.size == (320, 240)
    # Not flagged and only_flagged: the bytes come back untouched.
    control = images["control"].read_bytes()
    same = post(server, "/v1/censor", control, only_flagged="true", what="skin")
    assert same.status_code == 200 and same.content == control
    assert same.headers["x-fleck-decision"] == "false"
    # Multipart, one file.
    upload = httpx.post(server.url + "/v1/censor", params={"mode": "fill"}, timeout=60,
                        files=[("file", ("f.jpg", images["figure"].read_bytes()))])
    assert upload.status_code == 200 and upload.headers["content-type"] == "image/jpeg"
    two = httpx.post(server.url + "/v1/censor", files=[("file", ("a.jpg", b"1")),
                                                       ("file", ("b.jpg", b"2"))])
    assert two.status_code == 400 and two.json()["kind"] == "too_many_files"


def test_openapi_describes_exactly_the_routes(server):
    schema = httpx.get(server.url + "/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    from fleck.serve.app import create_app

    routes = {route.path: route.methods for route in create_app().routes}
    assert set(schema["paths"]) == set(routes)
    for path, methods in routes.items():
        assert {m.lower() for m in methods} - {"head"} == set(schema["paths"][path])
    names = [p["name"] for p in schema["paths"]["/v1/censor"]["post"]["parameters"]]
    assert names == ["config", "mode", "what", "margin", "only_flagged"]


def test_metrics_count_requests_errors_and_labels(server, images):
    post(server, "/v1/detect", b"definitely not an image")
    post(server, "/v1/detect", images["figure"].read_bytes())
    text = httpx.get(server.url + "/metrics")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
             for line in text.text.splitlines() if line and not line.startswith("#")}
    assert lines['fleck_http_requests_total{endpoint="/v1/detect",status="422"}'] >= 1
    assert lines['fleck_http_requests_total{endpoint="/v1/detect",status="200"}'] >= 1
    assert lines['fleck_errors_total{kind="not_an_image"}'] >= 1
    assert lines['fleck_images_total{label="unsafe"}'] >= 1
    count = lines['fleck_http_request_duration_seconds_count{endpoint="/v1/detect"}']
    assert lines['fleck_http_request_duration_seconds_bucket{endpoint="/v1/detect",le="+Inf"}'] \
        == count >= 2
    assert lines["fleck_workers"] == 2


# -- errors ----------------------------------------------------------------------------------------

def test_every_hostile_body_gets_its_4xx_and_reason(server, images):
    bodies = hostile_bodies(images["figure"].read_bytes(), MAX_BYTES)
    for name, (media, body, status, kind) in bodies.items():
        for path in ("/v1/detect", "/v1/censor"):
            answer = post(server, path, body, media)
            assert answer.status_code == status, (name, path, answer.text)
            error = answer.json()
            assert error["status"] == "error" and error["kind"] == kind, (name, error)
            assert error["error"] and "\n" not in error["error"]


def test_body_over_max_bytes_is_refused_before_it_is_read(server):
    # Declared too large: refused from Content-Length. A client that waits for 100 Continue
    # (as curl does) is answered without sending the body at all.
    answer = post(server, "/v1/detect", b"\0" * (MAX_BYTES + 1))
    assert answer.status_code == 413 and "2000000" in answer.json()["error"]

    # Chunked, no Content-Length: refused once the count passes the limit.
    def chunks():
        for _ in range(5):
            yield b"\0" * 1_000_000

    streamed = httpx.post(server.url + "/v1/detect", content=chunks(),
                          headers={"Content-Type": "image/jpeg"}, timeout=60)
    assert streamed.status_code == 413 and streamed.json()["kind"] == "body_too_large"

    # Refused bodies are read and thrown away, so that clients still sending them read the
    # answer rather than a reset connection: many at once, too large or refused for a bad
    # parameter before they were read.
    async def concurrent() -> list:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            return await asyncio.gather(*(
                client.post("/v1/detect", content=b"\0" * size, params=params,
                            headers={"Content-Type": "image/jpeg"})
                for size, params in [(3 * MAX_BYTES, {}), (MAX_BYTES, {"nope": "1"})] * 8))

    statuses = [answer.status_code for answer in asyncio.run(concurrent())]
    assert statuses == [413, 400] * 8


def test_bad_parameters_and_unknown_routes(server, images):
    data = images["control"].read_bytes()
    cases = [("/v1/detect", {"config": "nope"}, "unknown configuration 'nope'"),
             ("/v1/detect", {"regions": "maybe"}, "regions must be true or false"),
             ("/v1/detect", {"region": "true"}, "unknown query parameter 'region'"),
             ("/v1/censor", {"mode": "smudge"}, "mode must be one of"),
             ("/v1/censor", {"what": "faces"}, "what must be one of"),
             ("/v1/censor", {"margin": "-3"}, "margin must be a number of pixels"),
             ("/v1/censor", {"config": "kapur@1"}, "bad working size")]
    for path, params, reason in cases:
        answer = post(server, path, data, **params)
        assert answer.status_code == 400, (path, params)
        assert answer.json()["kind"] == "bad_parameter" and reason in answer.json()["error"]
    missing = httpx.get(server.url + "/v1/nothing")
    assert missing.status_code == 404 and missing.json()["kind"] == "not_found"
    wrong = httpx.get(server.url + "/v1/detect")
    assert wrong.status_code == 405 and wrong.json()["kind"] == "method_not_allowed"


# -- concurrency, crashes --------------------------------------------------------------------------

def test_concurrent_requests_all_answered_alike(server, images):
    bodies = [images["figure"].read_bytes(), images["control"].read_bytes()]

    async def run() -> list:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            return await asyncio.gather(*(
                client.post("/v1/detect", content=bodies[i % 2], params={"regions": "false"},
                            headers={"Content-Type": "image/jpeg"}) for i in range(16)))

    answers = asyncio.run(run())
    assert [a.status_code for a in answers] == [200] * 16
    scores = [a.json()["score"] for a in answers]
    assert len(set(scores[0::2])) == 1 and len(set(scores[1::2])) == 1
    assert scores[0] != scores[1]


def test_mixed_hostile_load_every_request_answered_no_worker_lost(server, images):
    before = server.ready()
    clean = [images["figure"].read_bytes(), images["control"].read_bytes()]
    hostile = list(hostile_bodies(clean[0], MAX_BYTES).values())
    # Every hostile body, twice, among clean requests; 8 clients at a time.
    plan = [("image/jpeg", clean[i % 2], 200, None) for i in range(2 * len(hostile))]
    for i, body in enumerate(hostile * 2):
        plan.insert(3 * i + 1, body)

    async def run() -> list:
        limits = httpx.Limits(max_connections=8)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
            return await asyncio.gather(*(
                client.post("/v1/detect", content=body, params={"regions": "false"},
                            headers={"Content-Type": media})
                for media, body, _, _ in plan))

    answers = asyncio.run(run())  # a reset connection would raise here
    assert [a.status_code for a in answers] == [status for _, _, status, _ in plan]
    for answer, (_, _, status, kind) in zip(answers, plan, strict=True):
        if status != 200:
            assert answer.json()["kind"] == kind, answer.text
    assert [a.json()["decision"] for a in answers if a.status_code == 200] == \
        [True, False] * len(hostile)
    after = server.ready()
    assert after["pids"] == before["pids"]
    assert (after["crashes"], after["restarts"], after["timeouts"]) == \
        (before["crashes"], before["restarts"], before["timeouts"])


def test_a_worker_killed_mid_request_costs_one_500_and_is_replaced(server, images):
    before = server.ready()

    async def run():
        async with httpx.AsyncClient(base_url=server.url, timeout=300) as client:
            slow = asyncio.ensure_future(client.post(
                "/v1/detect", content=images["slow"].read_bytes(), params=SLOW,
                headers={"Content-Type": "image/jpeg"}))
            busy = await asyncio.to_thread(wait_busy, server)
            # The event loop is free while a worker computes: health, and a small image on
            # the other worker, are answered while the slow one runs.
            health = await client.get("/healthz")
            small = await client.post("/v1/detect", content=images["control"].read_bytes(),
                                      headers={"Content-Type": "image/jpeg"})
            running = not slow.done()
            os.kill(busy[0], signal.SIGKILL)
            return health, small, running, await slow, busy

    health, small, running, crashed, busy = asyncio.run(run())
    assert health.status_code == 200 and small.status_code == 200 and running
    assert crashed.status_code == 500
    assert crashed.json()["kind"] == "worker_crashed"
    assert str(busy[0]) in crashed.json()["error"]
    after = wait_replaced(server, set(busy))
    assert after["crashes"] == before["crashes"] + 1
    assert after["restarts"] == before["restarts"] + 1
    assert len(after["pids"]) == 2
    again = post(server, "/v1/detect", images["figure"].read_bytes())
    assert again.status_code == 200 and again.json()["decision"] is True


def test_timeout_gives_504_a_full_queue_503_and_the_worker_is_replaced(tmp_path, images):
    with ServerProcess("--workers", "1", "--timeout", "3", "--max-queue", "1",
                       "--no-access-log", log=tmp_path / "server.log") as server:
        before = server.ready()

        async def run():
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                def send(name: str, **params):
                    return asyncio.ensure_future(client.post(
                        "/v1/detect", content=images[name].read_bytes(), params=params,
                        headers={"Content-Type": "image/jpeg"}))

                slow = send("slow", **SLOW)
                await asyncio.to_thread(wait_busy, server)
                waiting = send("control")
                while (server.ready() or {}).get("waiting", 0) < 1:
                    await asyncio.sleep(0.02)
                refused = await send("control")
                return await slow, await waiting, refused

        slow, waiting, refused = asyncio.run(run())
        assert slow.status_code == 504, slow.text
        assert slow.json()["kind"] == "timeout"
        assert refused.status_code == 503 and refused.json()["kind"] == "busy"
        assert refused.headers["retry-after"] == "1"
        assert waiting.status_code in (200, 504)  # its deadline may pass while it waits
        after = wait_replaced(server, set(before["pids"]))
        assert after["timeouts"] >= 1 and after["crashes"] == 0 and after["workers"] == 1
        assert all(_gone(pid) for pid in before["pids"]), "the timed-out worker lingers"
        assert post(server, "/v1/detect", images["control"].read_bytes()).status_code == 200
        assert "stopping worker" in server.output()


# -- the command -----------------------------------------------------------------------------------

def test_serve_without_the_extra_names_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'fleck[serve]'" in err and "uvicorn" in err


@pytest.mark.parametrize("argv, message", [
    (["serve", "--max-bytes", "lots"], "expected a size"),
    (["serve", "--timeout", "0"], "positive number of seconds"),
    (["serve", "--workers", "0"], "positive whole number"),
])
def test_serve_refuses_bad_options(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_before_its_lifespan_runs_the_app_is_not_ready_and_answers_503(images):
    from fleck.serve.app import create_app
    from fleck.serve.settings import ServeSettings

    app = create_app(ServeSettings(workers=1))

    async def run() -> list:
        # ASGITransport does not run the lifespan: no worker is started.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fleck") as client:
            return [await client.get("/healthz"), await client.get("/readyz"),
                    await client.post("/v1/detect", content=images["control"].read_bytes(),
                                      headers={"Content-Type": "image/jpeg"}),
                    await client.get("/metrics")]

    health, ready, detect, metrics = asyncio.run(run())
    assert health.status_code == 200
    assert ready.status_code == 503 and ready.json()["status"] == "starting"
    assert ready.headers["retry-after"] == "1"
    assert detect.status_code == 503 and detect.json()["kind"] == "unavailable"
    assert 'fleck_errors_total{kind="unavailable"} 1' in metrics.text


def test_the_body_budget_refuses_only_while_others_hold_bytes():
    from fleck.serve.bodies import ApiError, _Budget

    class FakeRequest:
        def __init__(self):
            self.scope = {}

    budget, first, second = _Budget(100), FakeRequest(), FakeRequest()
    budget.take(first, 80)
    with pytest.raises(ApiError) as refused:
        budget.take(second, 30)
    assert refused.value.status == 503 and refused.value.kind == "busy"
    assert budget.held == 80 and "fleck.held" not in second.scope
    budget.take(first, 40)  # alone, a request may pass the cap (its own --max-bytes bounds it)
    assert budget.held == 120


def test_worker_options_apply_thresholds_and_the_pixel_limit_to_every_configuration(images):
    from fleck.errors import ImageError
    from fleck.serve.settings import ServeSettings
    from fleck.serve.work import Tasks, WorkerOptions
    from fleck.verdict import Thresholds

    calibrated = Thresholds("fleck", unsafe=0.97, review=0.1, source="thresholds.json")
    tasks = Tasks(WorkerOptions(config="kapur", thresholds=calibrated, max_pixels=10**6))
    data = images["figure"].read_bytes()
    for config in (None, "fitted"):
        record = json.loads(tasks.detect(data, config=config)[0])
        assert record["config"] == (config or "kapur")
        assert (record["threshold"], record["review_threshold"]) == (0.97, 0.1)
    with pytest.raises(ImageError, match="too large"):
        Tasks(WorkerOptions(max_pixels=1000)).detect(data)
    with pytest.raises(ValueError, match="no such file"):
        ServeSettings(thresholds=str(images["figure"].parent / "missing.json"))
