"""Videos: throughput, keyframe speed, memory, and the PyAV-vs-OpenCV decoder comparison.

    python bench/bench_video.py [--repeat 3] [--long-minutes 10] [--report [PAGE]]

Every fixture is generated here from ``fleck.synth`` scenes (a slow pan over a landscape, then
over a figure, alternating every 5 s), H.264 by libx264 through PyAV; nothing is downloaded.
Needs ``fleck[video]``. One process, one decoding thread; speeds are reported as ratios against
references measured in the same run, interleaved, and as CPU seconds (less sensitive to a busy
machine than wall time). Measures:

1. ``--fps 1`` throughput on a 640x480 30 fps H.264 file (x264 defaults: keyint 250, B-frames)
   against ``fleck detect`` (``Detector.detect(path)``) on the same sampled frames saved as
   JPEG files (quality 90). Target: >= 50 %.
2. ``--keyframes`` reading speed on a 1280x720 30 fps H.264 file with a keyframe every 2 s,
   in multiples of real time. Target: >= 20x.
3. Peak RSS of ``fleck detect`` on a 1920x1080 30 fps H.264 file of ``--long-minutes``
   minutes, in a fresh process (default sampling, and the whole file). Target: <= 300 MiB.
4. The decoder choice: PyAV against OpenCV's FFmpeg backend (``cv2.VideoCapture``, shipped in
   ``opencv-python-headless``): decode cost at 1 fps, seek accuracy (frame numbers stamped in
   the pixels), and behaviour on a truncated MP4, a damaged MP4 and a truncated WebM.

``--report`` writes the results as this script's block of ``docs/reports/video.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
import _report  # noqa: E402 - bench/_report.py: the documentation's report pages

from fleck import synth  # noqa: E402
from fleck.detector import Detector  # noqa: E402
from fleck.video import VideoSettings, detect_media, read_frames  # noqa: E402

STAMP_BITS = 12


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stamp(rgb: np.ndarray, number: int) -> None:
    """Write ``number`` as 12 black/white 8x8 blocks in the top-left corner."""
    for bit in range(STAMP_BITS):
        rgb[:8, bit * 8:(bit + 1) * 8] = 255 if (number >> bit) & 1 else 0


def read_stamp(rgb: np.ndarray) -> int:
    return sum(int(rgb[2:6, b * 8 + 2:b * 8 + 6].mean() > 127) << b for b in range(STAMP_BITS))


def write_clip(path: Path, size: tuple[int, int], seconds: float, *, fps: int = 30,
               gop: int | None = None, preset: str = "veryfast", stamped: bool = True,
               loop_frames: int | None = None) -> Path:
    """A pan over a landscape, then over a figure, alternating every 5 s.

    ``loop_frames``: pre-convert that many frames and cycle through them (fast to make; used
    for the long memory fixture, whose decoding speed is not measured).
    """
    import av

    height, width = size
    wide = [np.concatenate([synth.scene("landscape", 1, size=size).image] * 2, axis=1),
            np.concatenate([synth.figure(1, size=size, pose="arms_raised").image,
                            synth.figure(2, size=size, pose="standing").image], axis=1)]
    n = int(round(seconds * fps))
    cache: dict[int, object] = {}
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        options = {"preset": preset}
        if gop:
            options.update({"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"})
        stream.codec_context.options = options
        for i in range(n):
            key = i % loop_frames if loop_frames else i
            frame = cache.get(key)
            if frame is None:
                scene = wide[(key // (5 * fps)) % 2]
                offset = (key * 3) % width
                rgb = np.ascontiguousarray(scene[:, offset:offset + width])
                if stamped:
                    rgb = rgb.copy()
                    stamp(rgb, i)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                    format="yuv420p")
                if loop_frames:
                    cache[key] = frame
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def jpeg_frames(video: Path, folder: Path) -> list[Path]:
    """The frames ``--fps 1`` samples, at full size, as JPEG files (quality 90)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with read_frames(video, VideoSettings(fps=1), working_size=None) as reader:
        for frame in reader:
            path = folder / f"frame_{frame.frame:06d}.jpg"
            cv2.imwrite(str(path), frame.rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
            paths.append(path)
    return paths


def timed(function) -> tuple[float, float, object]:
    cpu, wall = cpu_seconds(), time.perf_counter()
    value = function()
    return time.perf_counter() - wall, cpu_seconds() - cpu, value


def throughput(video: Path, jpegs: list[Path], repeat: int) -> dict:
    detector = Detector()
    settings = VideoSettings(fps=1, max_frames=100_000)
    video_runs, jpeg_runs = [], []
    for _ in range(repeat):  # interleaved
        wall, cpu, result = timed(lambda: detect_media(video, detector=detector,
                                                       settings=settings))
        video_runs.append((wall, cpu, len(result.frames)))
        wall, cpu, n = timed(lambda: sum(1 for p in jpegs if detector.detect(str(p)) or True))
        jpeg_runs.append((wall, cpu, n))
    frames = video_runs[0][2]
    v_wall = statistics.median(r[0] for r in video_runs)
    v_cpu = statistics.median(r[1] for r in video_runs)
    j_wall = statistics.median(r[0] for r in jpeg_runs)
    j_cpu = statistics.median(r[1] for r in jpeg_runs)
    return {"sampled_frames": frames, "jpeg_files": len(jpegs),
            "video_frames_per_s_wall": frames / v_wall, "jpeg_per_s_wall": len(jpegs) / j_wall,
            "ratio_wall": (frames / v_wall) / (len(jpegs) / j_wall),
            "video_cpu_ms_per_frame": 1e3 * v_cpu / frames,
            "jpeg_cpu_ms_per_file": 1e3 * j_cpu / len(jpegs),
            "ratio_cpu": (j_cpu / len(jpegs)) / (v_cpu / frames)}


def decode_costs(video: Path, repeat: int) -> dict:
    """CPU seconds to read the 1 fps samples: PyAV (ours), PyAV without skipping, OpenCV."""
    import av

    def ours():
        with read_frames(video, VideoSettings(fps=1, max_frames=100_000)) as reader:
            return sum(1 for _ in reader)

    def pyav_all():
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            return sum(1 for _ in container.decode(stream))

    def opencv():
        capture = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_N_THREADS, 1])
        taken, next_time = 0, 0.0
        while capture.grab():
            if capture.get(cv2.CAP_PROP_POS_MSEC) / 1e3 + 1e-9 >= next_time:
                ok, bgr = capture.retrieve()
                cv2.resize(bgr, (183, 137), interpolation=cv2.INTER_AREA)
                taken += 1
                next_time += 1.0
        return taken

    out: dict[str, float] = {}
    for _ in range(repeat):
        for name, function in (("pyav_fleck_fps1", ours), ("pyav_decode_all", pyav_all),
                               ("opencv_grab_fps1", opencv)):
            out.setdefault(name, []).append(timed(function)[1])
    return {name: statistics.median(v) for name, v in out.items()}


def seek_accuracy(video: Path, fps: int = 30, n: int = 25) -> dict:
    """Seek to n random times; the frame returned should be the first at or after that time."""
    import av

    rng = np.random.default_rng(0)
    with av.open(str(video)) as container:
        duration = float(container.duration / av.time_base)
    times = np.sort(rng.uniform(0, duration - 1, n))
    expected = [int(np.ceil(t * fps - 1e-9)) for t in times]
    got_av, got_cv = [], []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        for t in times:
            container.seek(int(t / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if float(frame.pts * stream.time_base) + 1e-9 >= t:
                    got_av.append(read_stamp(frame.to_ndarray(format="rgb24")))
                    break
    capture = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    for t in times:
        capture.set(cv2.CAP_PROP_POS_MSEC, t * 1e3)
        ok, bgr = capture.read()
        got_cv.append(read_stamp(bgr[..., ::-1]) if ok else -1)
    return {"seeks": n,
            "pyav_exact": sum(a == b for a, b in zip(got_av, expected, strict=True)),
            "opencv_exact": sum(a == b for a, b in zip(got_cv, expected, strict=True)),
            "opencv_max_error_frames": max(abs(a - b) for a, b in
                                           zip(got_cv, expected, strict=True))}


def robustness(video: Path, folder: Path) -> dict:
    """What each decoder makes of broken files."""
    import av

    data = video.read_bytes()
    cases = {}
    cut = folder / "cut.mp4"
    cut.write_bytes(data[:len(data) // 2])
    cases["truncated mp4 (index lost)"] = cut
    damaged = bytearray(data)
    third = len(damaged) // 3
    damaged[third:third + 50_000] = bytes(50_000)
    (folder / "damaged.mp4").write_bytes(bytes(damaged))
    cases["mp4 with 50 kB zeroed at 1/3"] = folder / "damaged.mp4"
    webm = folder / "clip.webm"
    with av.open(str(webm), "w") as out:
        stream = out.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 5, np.uint8),
                                               format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    cut_webm = folder / "cut.webm"
    cut_webm.write_bytes(webm.read_bytes()[: webm.stat().st_size // 2])
    cases["webm cut in half"] = cut_webm
    rows = {}
    for name, path in cases.items():
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not capture.isOpened():
            opencv = "not opened (no reason given)"
        else:
            count = 0
            while capture.grab():
                count += 1
            declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            opencv = f"{count} of {declared} frames, then stops silently"
        try:
            result = detect_media(path, settings=VideoSettings(every_frame=True,
                                                               max_frames=100_000))
            ours = f"{len(result.frames)} frames; {'; '.join(result.info.warnings) or 'ok'}"
        except Exception as err:  # noqa: BLE001 - reported as is
            ours = f"error: {err}"
        rows[name] = {"opencv": opencv, "fleck_pyav": ours}
    return rows


def keyframe_speed(video: Path, seconds: float, repeat: int) -> dict:
    settings = VideoSettings(keyframes=True, max_frames=100_000)

    def read():
        with read_frames(video, settings) as reader:
            return sum(1 for _ in reader)

    runs = [timed(read) for _ in range(repeat)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    detector = Detector()
    with_detect = timed(lambda: detect_media(video, detector=detector, settings=settings))
    return {"keyframes": runs[0][2], "video_s": seconds, "realtime_x_wall": seconds / wall,
            "realtime_x_cpu": seconds / cpu,
            "realtime_x_wall_with_detection": seconds / with_detect[0]}


def peak_rss(video: Path, extra: list[str]) -> float:
    """Peak RSS (MiB) of `fleck detect VIDEO` in a fresh process."""
    code = ("import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    command = [sys.executable, "-c", code, sys.executable, "-m", "fleck.cli", "detect",
               str(video), *extra]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1]) / 1024


def baseline_rss() -> float:
    code = ("import resource, subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'import fleck.detector, fleck.video.media, av, cv2'], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True)
    return int(done.stdout.split()[-1]) / 1024


def report(results: dict, path: Path, argv: list[str] | None = None) -> None:
    """Write the results as this script's block of the report page ``path``."""
    t, k, m, d = (results["throughput"], results["keyframes"], results["memory"],
                  results["decoders"])
    lines = [
        f"Load average {results['load_before']:.1f} when the run started and "
        f"{results['load_after']:.1f} when it ended, on {results['cores']} cores.",
        "",
        "## Targets",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| `--fps 1` on 640x480 H.264 vs `fleck detect` on the same frames as JPEG (CPU) "
        f"| {100 * t['ratio_cpu']:.0f} % | >= 50 % |",
        f"| same, wall clock | {100 * t['ratio_wall']:.0f} % | >= 50 % |",
        f"| `--keyframes` reading 720p (CPU) | {k['realtime_x_cpu']:.0f}x real time | >= 20x |",
        f"| same, wall clock | {k['realtime_x_wall']:.0f}x real time | >= 20x |",
        f"| peak RSS, 1080p {m['minutes']:g} min, default sampling | {m['default_mib']:.0f} MiB "
        "| <= 300 MiB |",
        f"| peak RSS, same file, every second sampled (`--max-frames 100000`) "
        f"| {m['whole_mib']:.0f} MiB | <= 300 MiB |",
        "",
        f"Throughput detail: {t['sampled_frames']} sampled frames; video path "
        f"{t['video_cpu_ms_per_frame']:.1f} ms CPU per sampled frame (decoding the 30 frames "
        f"of each second and detecting on one), JPEG path {t['jpeg_cpu_ms_per_file']:.1f} ms "
        "CPU per file. Keyframes: "
        f"{k['keyframes']} keyframes in {k['video_s']:g} s of video; with detection on each, "
        f"{k['realtime_x_wall_with_detection']:.0f}x real time (wall). Memory: importing "
        f"fleck, PyAV and OpenCV alone peaks at {m['baseline_mib']:.0f} MiB.",
        "",
        "## Decoder: PyAV against OpenCV's FFmpeg backend",
        "",
        f"CPU seconds to read the 1 fps samples of the 640x480 file "
        f"({t['sampled_frames']} s of video):",
        "",
        "| reader | CPU s |",
        "| --- | --- |",
        f"| fleck (PyAV, non-reference frames skipped, swscale to working size) "
        f"| {d['costs']['pyav_fleck_fps1']:.2f} |",
        f"| PyAV decoding every frame | {d['costs']['pyav_decode_all']:.2f} |",
        f"| OpenCV `grab()` every frame, `retrieve()` + resize the samples "
        f"| {d['costs']['opencv_grab_fps1']:.2f} |",
        "",
        f"Seek accuracy ({d['seek']['seeks']} seeks to random times, frame numbers stamped in "
        f"the pixels): PyAV {d['seek']['pyav_exact']}/{d['seek']['seeks']} exact, OpenCV "
        f"{d['seek']['opencv_exact']}/{d['seek']['seeks']} exact (largest error "
        f"{d['seek']['opencv_max_error_frames']} frames).",
        "",
        "Broken files:",
        "",
        "| file | OpenCV | fleck (PyAV) |",
        "| --- | --- | --- |",
    ]
    for name, row in d["robustness"].items():
        lines.append(f"| {name} | {row['opencv']} | {row['fleck_pyav']} |")
    lines += ["", "Raw results:", "", "```json", json.dumps(results, indent=1), "```", ""]
    _report.write_block(path, "bench/bench_video.py", "\n".join(lines),
                        title="Video benchmark", argv=argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs (median kept)")
    parser.add_argument("--seconds", type=float, default=60, help="length of the 480p and "
                        "720p fixtures (default 60)")
    parser.add_argument("--long-minutes", type=float, default=10,
                        help="length of the 1080p memory fixture (default 10)")
    _report.add_report_option(parser, "docs/reports/video.md")
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    args = parser.parse_args(argv)
    results: dict = {"load_before": os.getloadavg()[0],
                     "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="fleck-bench-video-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        fixtures = {
            "480p": (folder / "480p.mp4", lambda p: write_clip(p, (480, 640), args.seconds)),
            "720p": (folder / "720p_gop2s.mp4",
                     lambda p: write_clip(p, (720, 1280), args.seconds, gop=60,
                                          preset="ultrafast", stamped=False, loop_frames=150)),
            "1080p": (folder / "1080p_long.mp4",
                      lambda p: write_clip(p, (1080, 1920), 60 * args.long_minutes,
                                           gop=250, preset="ultrafast", stamped=False,
                                           loop_frames=300)),
        }
        for name, (path, make) in fixtures.items():
            if not path.exists():
                start = time.perf_counter()
                make(path)
                print(f"{name}: {path.stat().st_size / 1e6:.1f} MB generated in "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
        video = fixtures["480p"][0]
        jpegs = jpeg_frames(video, folder / "jpeg")
        results["throughput"] = throughput(video, jpegs, args.repeat)
        print("throughput", results["throughput"], flush=True)
        results["keyframes"] = keyframe_speed(fixtures["720p"][0], args.seconds, args.repeat)
        print("keyframes", results["keyframes"], flush=True)
        results["decoders"] = {"costs": decode_costs(video, args.repeat),
                               "seek": seek_accuracy(video),
                               "robustness": robustness(video, folder)}
        print("decoders", results["decoders"], flush=True)
        long = fixtures["1080p"][0]
        results["memory"] = {"minutes": args.long_minutes, "baseline_mib": baseline_rss(),
                             "default_mib": peak_rss(long, []),
                             "whole_mib": peak_rss(long, ["--max-frames", "100000"])}
        print("memory", results["memory"], flush=True)
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=1))
    if args.report:
        report(results, args.report)
        print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
