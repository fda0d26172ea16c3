"""Helpers shared by the render tests: a small brain trained by theanet.py, and media checks."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
from conftest import REPO, make_video, run_script

from bitmap2pcm.core import grid
from bitmap2pcm.media import video

RENDER_SH = REPO / "render.sh"
FRAME_S = 1 / 30  # seconds per slot: the duration tolerance of a rendered video
TONE_HZ = 400.0  # 13.3 cycles per slot: a block's tone ends out of phase with the next block's


def training_pairs(n_rows: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """frames.pkl / audio.pkl contents for a brain that hears brightness.

    Every frame is one flat gray level v; its sound is a 400 Hz tone whose loudness
    (0.1 + 0.3 v) and phase (2 pi v) follow v. A brain that learns this makes loudness that
    follows the picture, and, like real brains, blocks that do not join: each block's tone
    restarts at its own phase, a click at every slot edge.
    """
    levels = np.random.default_rng(seed).random(n_rows).astype(np.float32)
    frames = np.repeat(levels[:, None], grid.PIXELS_PER_FRAME, axis=1)
    t = np.arange(grid.SAMPLES_PER_SLOT) / grid.RATE_HZ
    pcm = (0.1 + 0.3 * levels[:, None]) * np.sin(2 * np.pi * (TONE_HZ * t[None, :] + levels[:, None]))
    return np.ascontiguousarray(frames), grid.pcm_to_unit(pcm).astype(np.float32)


def trained_brain(tmp_path_factory) -> Path:
    """A 4096-16-735 brain trained by theanet.py, once per test session (later calls, from
    any test module, reuse the file)."""
    return train_tiny_brain(tmp_path_factory.getbasetemp() / "tiny-brain")


def train_tiny_brain(folder: Path) -> Path:
    """`trained_brain` in `folder` (made if missing): the brain tiny.pkl beside its
    frames.pkl and audio.pkl."""
    brain = folder / "tiny.pkl"
    if brain.exists():
        return brain
    folder.mkdir(exist_ok=True)
    frames, audio = training_pairs()
    with open(folder / "frames.pkl", "wb") as stream:
        pickle.dump(frames, stream)
    with open(folder / "audio.pkl", "wb") as stream:
        pickle.dump(audio, stream)
    result = run_script("theanet.py", "--layers", f"{grid.PIXELS_PER_FRAME},16,{grid.SAMPLES_PER_SLOT}",
                        "--epochs", "20", "--pretrain-epochs", "1", "--patience", "5",
                        "--lr", "0.5", "--batch", "16", "--save-every", "0", "-q",
                        "-o", str(brain), cwd=folder)
    assert result.returncode == 0, result.stderr
    return brain


def brightness_video(path: Path, seconds: float = 3.0, fps: str = "25", sound: str | None = None) -> Path:
    """A small video whose brightness swings up and down (so the brain's loudness does)."""
    return make_video(path, seconds=seconds, fps=fps, size="64x48",
                      picture="lum:128+110*sin(5*T)", sound=sound)


def ffprobe_streams(path: Path) -> list[dict]:
    """ffprobe's view of every stream, with packets counted."""
    result = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-print_format", "json",
                             "-show_streams", "-show_format", str(path)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)["streams"]


def packet_hashes(path: Path, stream: str = "v:0") -> list[str]:
    """MD5 of every packet of one stream, read without decoding (ffmpeg's framemd5 muxer)."""
    result = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", f"0:{stream}",
                             "-c", "copy", "-f", "framemd5", "-"],
                            capture_output=True, text=True, check=True)
    # Each line: stream, dts, pts, duration, size, hash[, side data count, side data...]
    return [line.split(",")[5].strip() for line in result.stdout.splitlines()
            if line and not line.startswith("#")]


def decode_audio(path: Path, rate_hz: int) -> np.ndarray:
    """The first sound track of `path` as float32 mono samples at `rate_hz`."""
    result = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0",
                             "-ac", "1", "-ar", str(rate_hz), "-f", "f32le", "-"],
                            capture_output=True, check=True)
    return np.frombuffer(result.stdout, dtype="<f4")


def train_target_brain(folder: Path, target: str, outputs: int) -> Path:
    """A tiny 4096-16-`outputs` brain trained by `theanet.py --target TARGET` on the
    brightness pairs (a 400 Hz tone whose loudness follows the picture's brightness)."""
    import pickle

    from conftest import run_script

    from bitmap2pcm.core import grid

    frames, audio = training_pairs()
    for name, array in (("frames.pkl", frames), ("audio.pkl", audio)):
        with open(folder / name, "wb") as stream:
            pickle.dump(array, stream)
    result = run_script("theanet.py", "--target", target,
                        "--layers", f"{grid.PIXELS_PER_FRAME},16,{outputs}",
                        "--epochs", "20", "--pretrain-epochs", "1", "--patience", "5", "--lr", "0.5",
                        "--batch", "16", "--save-every", "0", "-q", "-o", f"{target}.pkl", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / f"{target}.pkl"


def render_brightness_both_modes(network_path: Path, folder: Path, seconds: float = 3.0) -> np.ndarray:
    """Render a brightness-swing video with a brain whose output is not PCM blocks, in raw
    and in smooth mode: both must give the same sound (join modes do not apply), exactly
    735 samples per slot, clamped, and louder when brighter. Returns the sound."""
    import soundfile
    from conftest import run_script

    from bitmap2pcm.core import grid

    clip = brightness_video(folder / "swing.mp4", seconds=seconds)
    for mode in ("raw", "smooth"):
        result = run_script("render.py", str(clip), "--brain", str(network_path), "--mode", mode,
                            "-o", str(folder / f"{mode}.wav"), "-q")
        assert result.returncode == 0, result.stderr
    sound, rate_hz = soundfile.read(folder / "raw.wav", dtype="float32")
    slots = grid.slots_in(seconds)
    assert rate_hz == grid.RATE_HZ and sound.size == slots * grid.SAMPLES_PER_SLOT
    assert np.array_equal(sound, soundfile.read(folder / "smooth.wav", dtype="float32")[0])
    assert np.abs(sound).max() <= 1.0
    # brightness 128 + 110 sin(5 t): louder when brighter
    brightness = np.sin(5 * (np.arange(slots) / grid.SLOTS_PER_SECOND))
    loudness = np.sqrt((sound.astype(np.float64).reshape(slots, -1) ** 2).mean(axis=1))
    assert np.corrcoef(brightness, loudness)[0, 1] > 0.8
    return sound


def assert_render_refuses(network_path: Path, folder: Path, section: str, changes: dict,
                          message: str) -> None:
    """A copy of the brain with `changes` in its `section` ("input" or "output") convention
    is refused by render.load_brain with a UserError matching `message`."""
    import pytest

    from bitmap2pcm.core.errors import UserError
    from bitmap2pcm.learn import brain
    from bitmap2pcm.render import stream as render

    network = brain.load(network_path)
    setattr(network, section, {**getattr(network, section), **changes})
    path = folder / "other.pkl"
    brain.save(network, path)
    with pytest.raises(UserError, match=message):
        render.load_brain(path)


def scored_brain_rows(network_path: Path, folder: Path) -> list:
    """evaluate.evaluate's brain rows for a brightness video with sound, in raw and smooth."""
    from bitmap2pcm.judge import evaluate

    clip = brightness_video(folder / "swing.mp4", sound="sine=f=400")
    result = evaluate.evaluate([clip], network_path, modes=("raw", "smooth"), with_baselines=False)
    return [row for row in result.rows if row.kind == "brain"]


def render_sh(*args: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ) if path is None else {**os.environ, "PATH": path}
    return subprocess.run([str(RENDER_SH), *args], cwd=cwd, capture_output=True, text=True, env=env)


def check_mkv(mkv: Path, source: Path, rate_hz: int) -> np.ndarray:
    """One picture stream identical to the source's, one FLAC sound of the same length;
    returns the sound."""
    streams = ffprobe_streams(mkv)
    pictures = [s for s in streams if s["codec_type"] == "video"]
    sounds = [s for s in streams if s["codec_type"] == "audio"]
    assert len(pictures) == 1 and len(sounds) == 1 and len(streams) == 2
    original = [s for s in ffprobe_streams(source) if s["codec_type"] == "video"][0]
    assert pictures[0]["codec_name"] == original["codec_name"]
    assert pictures[0]["nb_read_packets"] == original["nb_read_packets"]
    assert packet_hashes(mkv) == packet_hashes(source)  # copied bit for bit
    assert sounds[0]["codec_name"] == "flac" and int(sounds[0]["sample_rate"]) == rate_hz
    samples = decode_audio(mkv, rate_hz)
    assert abs(samples.size / rate_hz - video.probe(source).duration_s) <= FRAME_S
    return samples


def pcm_blocks(network, frames: np.ndarray) -> np.ndarray:
    """What a PCM brain predicts for a whole video's uint8 frames: its blocks, 2y - 1 clamped."""
    from bitmap2pcm.learn import brain
    from bitmap2pcm.render import stream
    from bitmap2pcm.sound import pcm

    return pcm.blocks_of(brain.forward(network, stream.whole_rows(network, frames)))
