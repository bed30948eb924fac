"""Load test of ``fleck serve`` on 127.0.0.1, against ``fleck scan`` on the same files.

    python bench/bench_serve.py [--images 200] [--requests 240] [--workers N] [--rounds 3]
                                [--report [PAGE]]

Generates ``--images`` synthetic 640 x 480 JPEGs (quality 90; half figures, half controls:
fleck.synth), starts ``fleck serve --workers N`` (default: the cores available) in a
subprocess on a free port of 127.0.0.1 (fleck.serve.testing.ServerProcess), and measures, in
this one run:

* **throughput against fleck scan**, interleaved ``--rounds`` times: ``fleck.scan.scan`` on the
  folder with ``jobs=N`` (after a warm-up scan; its own images/s), then each of the same files
  POSTed once to ``/v1/detect`` at concurrency 8. Target: the server's requests/s >= 80 % of
  scan's images/s (median of the rounds' ratios). On a machine other jobs share, wall-clock
  ratios move with their load, so the CPU time each image costs is measured too (scan: its
  process and its workers, read back from the fork server that reaps them; serve: the server
  process, its workers and the client): with every core busy, throughput is cores / CPU per
  image, so the ratio of the CPU costs predicts the idle machine's throughput ratio.
* **latency** at concurrency 1, 8 and 32: requests/s and p50 / p95 / p99 of the time from
  sending a request to reading its whole answer. Target: p99 <= 10x p50.
* **hostile load**: the same with one request in ten hostile (fleck.serve.testing.hostile_bodies:
  random bytes, a truncated JPEG, a decompression-bomb PNG header, a too-small image, a body
  over --max-bytes, a wrong Content-Type, an empty body, a broken multipart body). Targets:
  every request answered (no connection reset or timeout), every hostile body a 4xx of the
  expected kind, every clean one a 200, the server's RSS (server process + workers) back within
  20 % of its warm level afterwards, no worker lost (same worker PIDs, no crash, no restart).

The client (httpx, asyncio) runs in this process, on the same cores as the server: on a machine
with few cores it takes CPU from the workers. Each load run is bounded by a request count and
``--deadline`` seconds. The load average is printed beside every figure; timings on a shared
machine must be re-measured on an idle one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _report  # bench/_report.py: the documentation's report pages

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from fleck import synth  # noqa: E402
from fleck.scan import scan  # noqa: E402
from fleck.serve.settings import DEFAULT_MAX_BYTES, default_workers  # noqa: E402
from fleck.serve.testing import ServerProcess, hostile_bodies  # noqa: E402

CONCURRENCY = (1, 8, 32)
HOSTILE_EVERY = 10  # one request in ten


def make_images(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, scene in enumerate(synth.generate(n, seed=2024, size=(480, 640))):
        path = folder / f"{scene.category}_{i:04d}.jpg"
        path.write_bytes(synth.encode_jpeg(scene.image, 90))
        paths.append(path)
    return paths


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def server_rss(server: ServerProcess) -> tuple[int, int]:
    """(server process, server + workers) resident memory in KiB."""
    pids = (server.ready() or {}).get("pids", [])
    main = rss_kib(server.pid)
    return main, main + sum(rss_kib(pid) for pid in pids)


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU of a process (``children``: of its reaped children instead)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    first = 13 if children else 11  # cutime, cstime / utime, stime (0-based after the name)
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def scan_cpu() -> float:
    """CPU so far of this process and of the scan workers its fork server has reaped."""
    from multiprocessing import forkserver

    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    workers = (cpu_seconds(server, children=True) + cpu_seconds(server)) if server else 0.0
    return own_cpu() + workers


def serve_cpu(server: ServerProcess, pids: list[int]) -> tuple[float, float, float]:
    """CPU so far of (the server process, its workers, this process: the client)."""
    return cpu_seconds(server.pid), sum(cpu_seconds(pid) for pid in pids), own_cpu()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


async def load_run(url: str, requests: list[tuple[str, bytes, int, str | None]],
                   concurrency: int, deadline: float) -> dict:
    """Send ``requests`` (content type, body, expected status, expected kind) with
    ``concurrency`` clients; bounded by their count and ``deadline`` seconds."""
    queue = list(enumerate(requests))
    queue.reverse()
    outcomes: list[dict] = []
    stop_at = time.monotonic() + deadline
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        async def client_loop() -> None:
            while queue and time.monotonic() < stop_at:
                index, (media, body, status, kind) = queue.pop()
                start = time.perf_counter()
                try:
                    answer = await client.post("/v1/detect", content=body,
                                               headers={"Content-Type": media})
                    got, got_kind = answer.status_code, None
                    if got != 200:
                        got_kind = answer.json().get("kind")
                    error = None
                except httpx.HTTPError as err:
                    got, got_kind, error = None, None, f"{type(err).__name__}: {err}"
                outcomes.append({"seconds": time.perf_counter() - start, "status": got,
                                 "kind": got_kind, "expected": status,
                                 "expected_kind": kind, "error": error,
                                 "hostile": status != 200})

        started = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    clean = [o["seconds"] for o in outcomes if not o["hostile"]]
    return {"sent": len(outcomes), "planned": len(requests), "seconds": elapsed,
            "rps": len(outcomes) / elapsed,
            "p50": percentile(clean, 50), "p95": percentile(clean, 95),
            "p99": percentile(clean, 99),
            "unanswered": sum(o["status"] is None for o in outcomes),
            "wrong": sum(o["status"] is not None and (o["status"] != o["expected"]
                                                     or o["kind"] != o["expected_kind"])
                         for o in outcomes),
            "hostile": sum(o["hostile"] for o in outcomes),
            "hostile_4xx": sum(o["hostile"] and o["status"] is not None
                               and 400 <= o["status"] < 500 for o in outcomes),
            "errors": sorted({o["error"] for o in outcomes if o["error"]})[:3]}


def plan(images: list[bytes], count: int, hostile: dict | None) -> list:
    requests = []
    kinds = list(hostile.values()) if hostile else []
    for i in range(count):
        if hostile and i % HOSTILE_EVERY == HOSTILE_EVERY - 1:
            media, body, status, kind = kinds[(i // HOSTILE_EVERY) % len(kinds)]
            requests.append((media, body, status, kind))
        else:
            requests.append(("image/jpeg", images[i % len(images)], 200, None))
    return requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _report.add_report_option(parser, "docs/reports/serve.md")
    parser.add_argument("--images", type=int, default=200, help="JPEGs to generate (200)")
    parser.add_argument("--requests", type=int, default=240,
                        help="requests per load run (240)")
    parser.add_argument("--workers", type=int, default=None,
                        help="server workers and scan jobs (default: the cores available)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved scan / serve rounds for the throughput ratio (3)")
    parser.add_argument("--deadline", type=float, default=300.0,
                        help="longest a load run may last, seconds (300)")
    args = parser.parse_args()
    workers = args.workers or default_workers()

    with tempfile.TemporaryDirectory(prefix="fleck-bench-serve-") as tmp:
        folder = Path(tmp) / "images"
        paths = make_images(folder, args.images)
        images = [p.read_bytes() for p in paths]
        out = Path(tmp) / "scan.jsonl"
        scan([folder], out, jobs=workers, quiet=True, overwrite=True)  # warm-up
        hostile = hostile_bodies(images[1], DEFAULT_MAX_BYTES)

        server = ServerProcess("--workers", str(workers), "--no-access-log",
                               log=Path(tmp) / "server.log")
        server.start()
        try:
            url = server.url
            asyncio.run(load_run(url, plan(images, 4 * workers, None), workers, 60))  # warm
            before = server.ready()
            warm_rss = server_rss(server)

            print(f"{len(paths)} synthetic 640x480 JPEGs; server and scan with {workers} "
                  f"workers; {args.requests} requests per latency run\n")
            print("| round | load (1/5/15 min) | fleck scan images/s | serve c=8 requests/s "
                  "| serve / scan | scan CPU ms/image | serve CPU ms/request: server + "
                  "workers + client |")
            print("|---|---|---|---|---|---|---|")
            ratios, scan_costs, serve_costs = [], [], []
            for round_ in range(1, args.rounds + 1):
                before_load = load()
                cpu_before = scan_cpu()
                summary = scan([folder], out, jobs=workers, quiet=True, overwrite=True)
                scan_cost = (scan_cpu() - cpu_before) / summary.images
                assert summary.failed == 0, summary
                cpu_before = serve_cpu(server, before["pids"])
                run = asyncio.run(load_run(url, plan(images, len(images), None), 8,
                                           args.deadline))
                serve_cost = [(b - a) / run["sent"] for a, b in
                              zip(cpu_before, serve_cpu(server, before["pids"]), strict=True)]
                ratio = run["rps"] / summary.images_per_second
                ratios.append(ratio)
                scan_costs.append(scan_cost)
                serve_costs.append(serve_cost)
                print(f"| {round_} | {before_load} | {summary.images_per_second:.1f} | "
                      f"{run['rps']:.1f} | {100 * ratio:.0f} % | {1e3 * scan_cost:.1f} | "
                      f"{1e3 * sum(serve_cost):.1f} = "
                      f"{' + '.join(f'{1e3 * c:.1f}' for c in serve_cost)} |")
            median = statistics.median(ratios)
            scan_cost = statistics.median(scan_costs)
            parts = [statistics.median(c[i] for c in serve_costs) for i in range(3)]
            predicted = scan_cost / sum(parts)
            print(f"\nserve at concurrency 8 / fleck scan, median of {len(ratios)} rounds: "
                  f"**{100 * median:.0f} %** (target >= 80 %: "
                  f"{'met' if median >= 0.8 else 'NOT met'}).\n")
            print(f"CPU per image: fleck scan {1e3 * scan_cost:.1f} ms; fleck serve "
                  f"{1e3 * sum(parts):.1f} ms (server process {1e3 * parts[0]:.1f}, workers "
                  f"{1e3 * parts[1]:.1f}, httpx client {1e3 * parts[2]:.1f}). With every core "
                  f"busy (an idle machine), that predicts serve / scan = "
                  f"**{100 * predicted:.0f} %** with the client on the same cores, "
                  f"{100 * scan_cost / (parts[0] + parts[1]):.0f} % with the client "
                  f"elsewhere.\n")

            rows = []
            for label, mixed in (("clean", None), ("10 % hostile", hostile)):
                for concurrency in CONCURRENCY:
                    before_load = load()
                    run = asyncio.run(load_run(url, plan(images, args.requests, mixed),
                                               concurrency, args.deadline))
                    rows.append((label, concurrency, before_load, run))
            time.sleep(2.0)  # let the workers settle
            after = server.ready()
            after_rss = server_rss(server)
        finally:
            status = server.stop()

    print("| requests | concurrency | load (1/5/15 min) | answered | requests/s | p50 ms "
          "| p95 ms | p99 ms | p99 / p50 | hostile 4xx | wrong status | no answer |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ok = median >= 0.8
    for label, concurrency, before_load, run in rows:
        spread = run["p99"] / run["p50"]
        ok &= spread <= 10 and run["unanswered"] == 0 and run["wrong"] == 0
        ok &= run["sent"] == run["planned"]
        print(f"| {label} | {concurrency} | {before_load} | {run['sent']}/{run['planned']} | "
              f"{run['rps']:.1f} | {1e3 * run['p50']:.0f} | {1e3 * run['p95']:.0f} | "
              f"{1e3 * run['p99']:.0f} | {spread:.1f} | {run['hostile_4xx']}/{run['hostile']} "
              f"| {run['wrong']} | {run['unanswered']} |")
        for error in run["errors"]:
            print(f"\n- transport error at concurrency {concurrency}: {error}")
    rss_change = after_rss[1] / warm_rss[1] - 1
    lost = set(before["pids"]) - set(after["pids"])
    ok &= abs(rss_change) <= 0.2 and not lost and after["crashes"] == before["crashes"]
    print(f"\nRSS, server process + workers: warm {warm_rss[1] / 1024:.0f} MiB, after the "
          f"hostile runs {after_rss[1] / 1024:.0f} MiB ({100 * rss_change:+.0f} %; target "
          f"within 20 %); server process alone {warm_rss[0] / 1024:.0f} -> "
          f"{after_rss[0] / 1024:.0f} MiB")
    print(f"\nworkers: {len(after['pids'])} of {after['size']} alive, lost {len(lost)}, "
          f"crashes {after['crashes'] - before['crashes']}, restarts "
          f"{after['restarts'] - before['restarts']}, timeouts "
          f"{after['timeouts'] - before['timeouts']}; server stopped with status {status}")
    print(f"\nall targets met: {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/bench_serve.py", "docs/reports/serve.md",
                         "Serving: fleck serve under load"))
