"""pickler.py: real videos in, aligned frames.pkl + audio.pkl out, clear errors otherwise."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile
from conftest import assert_one_line_error, ffmpeg, make_video, run_script
from scipy.signal import resample_poly

from bitmap2pcm.core import grid
from bitmap2pcm.core.files import load_pickle
from bitmap2pcm.media import video as video_module

pytestmark = pytest.mark.slow  # every test here trains, renders or starts a process

# Black on even seconds, white on odd ones; a tone plays only while white.
FLASHING = "if(mod(floor(T),2),235,16)"
TONE_WHILE_WHITE = "aevalsrc='if(mod(floor(t),2),0.5*sin(2*PI*440*t),0)'"


def pickle_video(video: Path, out: Path, *args: str):
    out.mkdir(exist_ok=True)
    result = run_script("pickler.py", str(video), *args, "-o", str(out), "-q")
    assert result.returncode == 0, result.stderr
    return load_pickle(out / "frames.pkl"), load_pickle(out / "audio.pkl")


def first_slots_where(values: np.ndarray) -> np.ndarray:
    """Slots where a boolean series turns on."""
    return np.flatnonzero(values[1:] & ~values[:-1]) + 1


@pytest.mark.parametrize("fps", ["25", "30000/1001", "60"])
def test_picture_and_sound_flip_in_the_same_slot(tmp_path, fps):
    video = make_video(tmp_path / "flash.mp4", seconds=5, fps=fps, size="96x64",
                       picture=f"lum:{FLASHING}", sound=TONE_WHILE_WHITE)
    frames, audio = pickle_video(video, tmp_path / "out")
    assert frames.dtype == audio.dtype == np.float32
    assert abs(len(frames) - 150) <= 1  # 29.97 fps: 150 frames last 5.005 s, 151 slots
    assert frames.shape[1] == 4096 and audio.shape == (len(frames), 735)
    assert frames.flags.c_contiguous

    white = frames.mean(axis=1) > 0.5
    loud = np.sqrt(((grid.unit_to_pcm(audio)) ** 2).mean(axis=1)) > 0.1
    picture_onsets, sound_onsets = first_slots_where(white), first_slots_where(loud)
    assert len(picture_onsets) == len(sound_onsets) == 2, (picture_onsets, sound_onsets)
    assert np.abs(picture_onsets - sound_onsets).max() <= 1
    assert np.abs(picture_onsets - np.array([30, 90])).max() <= 1


def test_sound_round_trips_through_the_rows(tmp_path):
    rate_hz = 48000
    seconds = 3.0
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    chirp = 0.4 * np.sin(2 * np.pi * (200 + 300 * t) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t))
    soundfile.write(tmp_path / "chirp.wav", chirp, rate_hz, subtype="PCM_16")
    video = tmp_path / "chirp.mkv"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=64x48:r=24:d={seconds}", "-i", str(tmp_path / "chirp.wav"),
           "-c:v", "ffv1", "-c:a", "flac", "-shortest", str(video))
    _, audio = pickle_video(video, tmp_path / "out")
    joined = grid.unit_to_pcm(audio).reshape(-1)
    expected = resample_poly(chirp, 147, 320)  # 48000 * 147 / 320 = 22050
    n = min(len(joined), len(expected))
    assert n >= 0.95 * seconds * grid.RATE_HZ
    assert np.corrcoef(joined[:n], expected[:n])[0, 1] > 0.99


FORMATS = {
    "mp4-h264-aac-stereo": ("clip.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:a", "aac", "-ac", "2"], "30", "160x90"),
    "mkv-ffv1-flac-5.1": ("clip.mkv", ["-c:v", "ffv1"], ["-c:a", "flac", "-ac", "6"], "24", "101x77"),
    "webm-vp9-opus": ("clip.webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-b:v", "200k"], ["-c:a", "libopus"], "12", "90x160"),
    "ogv-theora-vorbis": ("clip.ogv", ["-c:v", "libtheora"], ["-c:a", "libvorbis"], "25", "320x180"),
    "avi-mjpeg-pcm": ("clip.avi", ["-c:v", "mjpeg"], ["-c:a", "pcm_s16le", "-ar", "8000"], "60", "16x16"),
    "mpg-mpeg2-mp2": ("clip.mpg", ["-c:v", "mpeg2video"], ["-c:a", "mp2", "-ar", "44100"], "25", "352x288"),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_reads_common_containers_codecs_rates_and_sizes(tmp_path, name):
    filename, video_codec, audio_codec, fps, size = FORMATS[name]
    video = make_video(tmp_path / filename, seconds=2, fps=fps, size=size,
                       video_codec=tuple(video_codec), audio_codec=tuple(audio_codec),
                       audio_rate_hz=48000)
    frames, audio = pickle_video(video, tmp_path / "out")
    assert abs(len(frames) - 60) <= 2, len(frames)
    assert frames.shape[1] == 4096 and audio.shape == (len(frames), 735)
    assert 0.0 <= frames.min() and frames.max() <= 1.0 and frames.std() > 0.05
    tone = grid.unit_to_pcm(audio[5:-5]).reshape(-1)
    assert np.sqrt((tone ** 2).mean()) > 0.05  # the 440 Hz sine came through


def test_variable_frame_rate_stays_on_the_grid(tmp_path):
    """Frames at irregular times land in the slot their timestamps say, not by counting."""
    source = make_video(tmp_path / "flash.mkv", seconds=4, fps="60", size="64x64",
                        picture=f"lum:{FLASHING}", sound=TONE_WHILE_WHITE,
                        video_codec=("-c:v", "ffv1"), audio_codec=("-c:a", "flac"))
    vfr = tmp_path / "vfr.mkv"
    # Keep a pseudo-random subset of frames with their original timestamps.
    ffmpeg("-i", str(source), "-vf", "select='lt(mod(n*7,11),6)'", "-fps_mode", "vfr",
           "-c:v", "ffv1", "-c:a", "copy", str(vfr))
    frames, audio = pickle_video(vfr, tmp_path / "out")
    assert abs(len(frames) - 120) <= 1
    white = frames.mean(axis=1) > 0.5
    loud = np.sqrt(((grid.unit_to_pcm(audio)) ** 2).mean(axis=1)) > 0.1
    assert np.abs(first_slots_where(white) - first_slots_where(loud)).max() <= 1


def test_area_downscaling_does_not_alias(tmp_path):
    """A one-pixel checkerboard at 1280x720 must average to mid gray, not sample to stripes."""
    video = tmp_path / "checker.mkv"
    ffmpeg("-f", "lavfi", "-i", "nullsrc=s=1280x720:r=30:d=1,geq=lum='if(mod(X+Y,2),235,16)':cb=128:cr=128",
           "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "ffv1", "-c:a", "flac", str(video))
    frames, _ = pickle_video(video, tmp_path / "out")
    assert abs(frames.mean() - 0.5) < 0.03
    assert frames.std() < 0.02


def test_sidecar_and_silence_anchors(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=2, fps="25")
    frames, audio = pickle_video(video, tmp_path / "out", "--silence", "1")
    assert len(frames) == len(audio) == 60 + 2 * 30
    np.testing.assert_array_equal(frames[60:90], 0.0)
    np.testing.assert_array_equal(frames[90:], 1.0)
    np.testing.assert_array_equal(audio[60:], 0.5)
    sidecar = json.loads((tmp_path / "out" / "dataset.json").read_text())
    [clip] = sidecar["clips"]
    assert clip["source"] == str(video.resolve()) and clip["fps"] == 25.0
    assert clip["first_row"] == 0 and clip["slots"] == 60
    assert sidecar["slots"] == 120 and sidecar["video_slots"] == 60
    assert sidecar["picture"]["interpolation"] == "area"
    assert sidecar["silence_slots"] == {"black": [60, 90], "white": [90, 120]}


def test_several_videos_become_consecutive_clips(tmp_path):
    first = make_video(tmp_path / "a.mp4", seconds=1, picture="lum:16")
    second = make_video(tmp_path / "b.mkv", seconds=2, fps="25", picture="lum:235",
                        video_codec=("-c:v", "ffv1"), audio_codec=("-c:a", "flac"))
    frames, audio = pickle_video(first, tmp_path / "out", str(second))
    sidecar = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert [(c["first_row"], c["slots"]) for c in sidecar["clips"]] == [(0, 30), (30, 60)]
    assert len(frames) == len(audio) == 90
    assert frames[:30].max() < 0.05 and frames[30:].min() > 0.95


def test_pickles_are_plain_numpy_that_the_restricted_unpickler_admits(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=1)
    pickle_video(video, tmp_path / "out")
    with open(tmp_path / "out" / "frames.pkl", "rb") as stream:
        plain = pickle.load(stream)
    np.testing.assert_array_equal(plain, load_pickle(tmp_path / "out" / "frames.pkl"))


# ---------------------------------------------------------------- bad input

def assert_nothing_written(folder: Path) -> None:
    assert sorted(os.listdir(folder)) == [], os.listdir(folder)


@pytest.fixture
def out_dir(tmp_path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def run_pickler(video: Path, out: Path):
    return run_script("pickler.py", str(video), "-o", str(out))


def test_missing_file(tmp_path, out_dir):
    result = run_pickler(tmp_path / "nope.mp4", out_dir)
    assert_one_line_error(result, 1, "nope.mp4", "no such file")
    assert_nothing_written(out_dir)


def test_empty_file(tmp_path, out_dir):
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert_one_line_error(run_pickler(tmp_path / "empty.mp4", out_dir), 1, "empty.mp4", "empty")
    assert_nothing_written(out_dir)


def test_text_file_named_mp4(tmp_path, out_dir):
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 20)
    result = run_pickler(tmp_path / "notes.mp4", out_dir)
    assert_one_line_error(result, 1, "notes.mp4", "not a media file")
    assert_nothing_written(out_dir)


def test_audio_file_has_no_video(tmp_path, out_dir):
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", str(tmp_path / "song.flac"))
    result = run_pickler(tmp_path / "song.flac", out_dir)
    assert_one_line_error(result, 1, "song.flac", "no video stream")
    assert_nothing_written(out_dir)


def test_video_without_sound_has_nothing_to_learn_from(tmp_path, out_dir):
    video = make_video(tmp_path / "mute.mp4", seconds=1, sound=None)
    assert_one_line_error(run_pickler(video, out_dir), 1, "mute.mp4", "nothing to learn from")
    assert_nothing_written(out_dir)


def test_truncated_file_keeps_what_decodes_and_warns(tmp_path, out_dir):
    whole = make_video(tmp_path / "whole.mkv", seconds=6, size="160x120",
                       video_codec=("-c:v", "ffv1"), audio_codec=("-c:a", "flac"))
    truncated = tmp_path / "cut.mkv"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = run_pickler(truncated, out_dir)
    assert result.returncode == 0, result.stderr
    assert "cut.mkv" in result.stderr and "kept the" in result.stderr
    frames = load_pickle(out_dir / "frames.pkl")
    assert 30 <= len(frames) < 180
    assert len(load_pickle(out_dir / "audio.pkl")) == len(frames)


def test_unwritable_output_folder(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=1)
    result = run_pickler(video, tmp_path / "missing-folder")
    assert_one_line_error(result, 1, "missing-folder", "does not exist")
    # /sys refuses new files even to root, where permission bits would not.
    assert_one_line_error(run_pickler(video, Path("/sys")), 1, "/sys", "not writable")


def test_output_path_that_is_a_file(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=1)
    (tmp_path / "file").write_text("x")
    assert_one_line_error(run_pickler(video, tmp_path / "file"), 1, "not a folder")


def test_usage_errors_exit_2(tmp_path):
    result = run_script("pickler.py")
    assert result.returncode == 2 and "usage:" in result.stderr
    result = run_script("pickler.py", "v.mp4", "--silence", "lots")
    assert result.returncode == 2


def test_help_has_examples():
    result = run_script("pickler.py", "--help")
    assert result.returncode == 0 and "examples:" in result.stdout


def test_failed_run_keeps_old_outputs(tmp_path, out_dir):
    video = make_video(tmp_path / "v.mp4", seconds=1)
    pickle_video(video, out_dir)
    before = (out_dir / "frames.pkl").read_bytes()
    (tmp_path / "bad.mp4").write_text("garbage")
    assert run_pickler(tmp_path / "bad.mp4", out_dir).returncode == 1
    assert (out_dir / "frames.pkl").read_bytes() == before
    assert not [name for name in os.listdir(out_dir) if name.endswith(".part") or name.startswith(".sound")]



def test_4k_picture_shrinks_to_64x64(tmp_path):
    video = make_video(tmp_path / "uhd.mp4", seconds=0.5, size="3840x2160",
                       video_codec=("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"))
    frames, audio = pickle_video(video, tmp_path / "out")
    assert frames.shape == (15, 4096) and audio.shape == (15, 735)


def test_opencv_bilinear_is_the_original_resize(tmp_path):
    """--interpolation opencv-bilinear gives exactly cv2.resize of the full-size gray picture."""
    import cv2

    video = make_video(tmp_path / "v.mkv", seconds=1, size="320x180",
                       video_codec=("-c:v", "ffv1"), audio_codec=("-c:a", "flac"))
    frames, _ = pickle_video(video, tmp_path / "out", "--interpolation", "opencv-bilinear")
    full = tmp_path / "full.gray"
    on_grid = video_module.frame_filter(interpolation="opencv-bilinear",
                                        origin_s=video_module.probe(video).origin_s)
    ffmpeg("-copyts", "-i", str(video), "-vf", on_grid, "-f", "rawvideo", str(full))
    pictures = np.fromfile(full, np.uint8).reshape(-1, 180, 320)
    expected = np.stack([cv2.resize(p, (64, 64), interpolation=cv2.INTER_LINEAR) for p in pictures])
    np.testing.assert_array_equal(np.round(frames * 255).astype(np.uint8), expected.reshape(len(expected), -1))
    sidecar = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert sidecar["picture"]["interpolation"] == "opencv-bilinear"


def test_opencv_bilinear_follows_rotated_pictures(tmp_path):
    """A phone video stored sideways with a rotation flag: the picture size changes on the way."""
    plain = make_video(tmp_path / "plain.mp4", seconds=1, size="96x64")
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    frames, _ = pickle_video(rotated, tmp_path / "out", "--interpolation", "opencv-bilinear")
    assert frames.shape == (30, 4096)
