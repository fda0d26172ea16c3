"""render.py and its package: joins, inference, the WAV it writes, and its refusals."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile
from conftest import REPO, assert_one_line_error, make_video, run_script
from render_helpers import TONE_HZ, brightness_video, trained_brain

from bitmap2pcm.core import grid
from bitmap2pcm.judge import metrics
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.media import video
from bitmap2pcm.render import stream as render
from bitmap2pcm.sound import join, pcm

W = grid.SAMPLES_PER_SLOT
RNG = np.random.default_rng(0)


# ---- joins ------------------------------------------------------------------------------

def tone_blocks(n: int, phases: np.ndarray | None = None, hz: float = TONE_HZ) -> np.ndarray:
    """n blocks of one tone, each restarting at its own phase (a brain's typical defect)."""
    t = np.arange(W) / grid.RATE_HZ
    phases = np.zeros(n) if phases is None else phases
    return (0.5 * np.sin(2 * np.pi * hz * t[None, :] + phases[:, None])).astype(np.float32)


def test_raw_join_is_blocks_end_to_end():
    blocks = RNG.normal(0, 0.3, (4, W)).astype(np.float32)
    assert np.array_equal(join.raw_join(blocks), blocks.reshape(-1))
    assert np.array_equal(join.join_all(blocks, "raw"), blocks.reshape(-1))


def test_smooth_join_touches_only_the_crossfades():
    blocks = RNG.normal(0, 0.3, (5, W)).astype(np.float32)
    joined = join.smooth_join(blocks, crossfade=128).reshape(5, W)
    assert joined.shape == blocks.shape and joined.dtype == np.float32
    assert np.array_equal(joined[:, 64:W - 64], blocks[:, 64:W - 64])  # events stay on time
    assert np.array_equal(joined[0, :64], blocks[0, :64])  # the track's start and end
    assert np.array_equal(joined[-1, W - 64:], blocks[-1, W - 64:])
    assert not np.array_equal(joined[1, :64], blocks[1, :64])
    assert np.array_equal(join.smooth_join(blocks, crossfade=0), blocks.reshape(-1))
    assert np.array_equal(join.smooth_join(blocks[:1]), blocks[0])
    for bad in (3, -2, W):
        with pytest.raises(ValueError):
            join.smooth_join(blocks, crossfade=bad)


@pytest.mark.parametrize("mode", sorted(join.JOINS))
def test_streaming_join_equals_whole_join(mode):
    blocks = RNG.normal(0, 0.3, (40, W)).astype(np.float32)
    joiner = join.JOINS[mode]()
    pieces, start = [], 0
    for size in (1, 1, 3, 0, 17, 2, 16):
        pieces.append(joiner.push(blocks[start: start + size]))
        start += size
    pieces.append(joiner.finish())
    assert start == len(blocks)
    assert np.array_equal(np.concatenate(pieces), join.join_all(blocks, mode))


def test_crossfade_gains_keep_power_for_any_correlation():
    correlations = np.array([0.0, 0.3, 0.9, 1.0])
    g_out, g_in = join.crossfade_gains(correlations, 128)
    r = correlations[:, None]
    assert np.allclose(g_in**2 + g_out**2 + 2 * r * g_in * g_out, 1.0)
    assert np.allclose(g_out[:, 0], 1.0, atol=2e-3) and np.allclose(g_in[:, 0], 0.0, atol=2e-3)
    assert np.allclose(g_in[:, ::-1], g_out)  # symmetric: fading in mirrors fading out
    assert np.allclose(g_in[-1] + g_out[-1], 1.0)  # identical signals: equal gain
    assert g_in.max() <= 1.0 + 1e-9  # never amplified when r >= 0
    opposed = np.array([-0.5, -0.99])
    opposed_out, opposed_in = join.crossfade_gains(opposed, 128)
    assert np.allclose(opposed_in**2 + opposed_out**2 - 2 * 0.5 * opposed_in * opposed_out, 1.0)
    assert np.allclose(opposed_in[0], opposed_in[1])  # clipped at r = -0.5 ...
    assert opposed_in.max() < 1.16  # ... so the lift stays small


def test_continuation_carries_a_tone_on_in_phase_and_noise_at_its_level():
    t = np.arange(W + 64) / grid.RATE_HZ
    tone = np.sin(2 * np.pi * 523.0 * t + 0.3)[None, :]
    continued = join.continue_rows(tone[:, :W], 64)
    assert np.max(np.abs(continued - tone[:, W:])) < 0.1  # mirroring would be off by up to 2
    noise = RNG.normal(0, 0.2, (50, W))
    ratio = np.sqrt(np.mean(join.continue_rows(noise, 64) ** 2) / np.mean(noise**2))
    assert 0.8 < ratio < 1.25
    with pytest.raises(ValueError):
        join.continue_rows(noise, W)


@pytest.mark.parametrize("name, blocks", [
    ("one tone repeated", tone_blocks(60)),
    ("tone, random phase", tone_blocks(60, RNG.uniform(0, 2 * np.pi, 60))),
    ("slow wander", np.cumsum(RNG.normal(0, 0.01, (60, W)), axis=1).astype(np.float32)),
])
def test_smooth_join_removes_clicks_without_a_dip(name, blocks):
    raw, smooth = join.raw_join(blocks), join.smooth_join(blocks)
    assert metrics.click_ratio(raw) > 5  # the defect is there to remove
    assert metrics.click_ratio(smooth) <= 1.5
    assert 0.7 <= metrics.edge_dip(smooth) <= 1.4


def test_smooth_join_follows_loudness():
    gains = RNG.uniform(0.05, 1.0, 60)[:, None]
    blocks = (gains * tone_blocks(60, RNG.uniform(0, 2 * np.pi, 60))).astype(np.float32)
    raw, smooth = join.raw_join(blocks), join.smooth_join(blocks)
    assert metrics.envelope_correlation(raw, smooth) >= 0.95


# ---- prefetching frames -----------------------------------------------------------------

def test_prefetch_passes_items_and_errors_through():
    with render.Prefetch(iter(range(10))) as items:
        assert list(items) == list(range(10))

    def failing():
        yield 1
        raise render.UserError("broken.mp4: ffmpeg could not decode the video")

    with render.Prefetch(failing()) as items:
        with pytest.raises(render.UserError, match="broken.mp4"):
            list(items)


def test_prefetch_stops_and_closes_its_source_when_left_early():
    closed = []

    def endless():
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.append(True)

    with render.Prefetch(endless(), depth=2) as items:
        assert next(iter(items)) == 1
    assert closed == [True]


# ---- brains render can and cannot use ---------------------------------------------------

def small_brain(inputs: int = grid.PIXELS_PER_FRAME, outputs: int = W, **conventions) -> brains.Brain:
    rng = np.random.default_rng(1)
    return brains.make_brain(
        [rng.normal(0, 0.02, (inputs, 8)).astype(np.float32), rng.normal(0, 0.5, (8, outputs)).astype(np.float32)],
        [np.zeros(8, np.float32), np.zeros(outputs, np.float32)],
        ["sigmoid", "sigmoid"], {"note": "test"}, **conventions)


def test_pcm_blocks_are_2y_minus_1_clamped():
    network = small_brain()
    network.biases[1][:5] = 50.0  # a linear-looking overshoot: y = 1 exactly
    network.activations[1] = "linear"
    frames = RNG.integers(0, 256, (3, grid.PIXELS_PER_FRAME), dtype=np.uint8)
    expected = np.clip(2 * brains.forward(network, frames / np.float32(255)) - 1, -1, 1)
    got = pcm.blocks_of(brains.forward(network, render.whole_rows(network, frames)))
    assert got.shape == (3, W) and got.dtype == np.float32
    assert np.allclose(got, expected, atol=1e-6)
    assert got.max() == 1.0


def test_load_brain_refusals(tmp_path):
    cases = {
        "wrong input size": small_brain(inputs=1024),
        "wrong output size": small_brain(outputs=512),
        "stft brain": small_brain(output_record={**pcm.REPRESENTATION.convention(), "kind": "stft"}),
    }
    for label, network in cases.items():
        path = tmp_path / f"{label}.pkl"
        with open(path, "wb") as stream:
            pickle.dump(network.to_record(), stream)
        with pytest.raises(render.UserError) as error:
            render.load_brain(path)
        assert str(path) in str(error.value), label
    assert "1024 inputs" in _refusal(tmp_path / "wrong input size.pkl")


def _refusal(path: Path) -> str:
    with pytest.raises(render.UserError) as error:
        render.load_brain(path)
    return str(error.value)


def test_default_brain_missing_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr(render, "DEFAULT_BRAIN", tmp_path / "brains" / "default.pkl")
    with pytest.raises(render.UserError, match="--brain.*theanet.py"):
        render.resolve_brain(None)
    (tmp_path / "brains").mkdir()
    brains.save(small_brain(), tmp_path / "brains" / "default.pkl")
    assert render.resolve_brain(None) == tmp_path / "brains" / "default.pkl"


# ---- render.py end to end ---------------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_brain(tmp_path_factory) -> Path:
    return trained_brain(tmp_path_factory)


@pytest.fixture(scope="session")
def clip(media_dir) -> Path:
    return brightness_video(media_dir / "bright swings é.mp4")


def read(path: Path) -> np.ndarray:
    samples, rate_hz = soundfile.read(path, dtype="float32")
    assert rate_hz == grid.RATE_HZ and samples.ndim == 1
    return samples


def frames_of(clip: Path, network: brains.Brain) -> np.ndarray:
    return np.concatenate(list(render.frame_stream(network, clip)))


@pytest.mark.slow
def test_raw_render_is_2y_minus_1_of_the_brain(tiny_brain, clip, tmp_path):
    result = run_script("render.py", str(clip), "--brain", str(tiny_brain), "--mode", "raw",
                        "-o", str(tmp_path / "raw.wav"), "-q")
    assert result.returncode == 0, result.stderr
    network = brains.load(tiny_brain)
    frames = frames_of(clip, network)
    assert len(frames) == video.probe(clip).expected_slots == 90  # 3 s at 30 slots/s
    expected = np.clip(2 * brains.forward(network, frames / np.float32(255)) - 1, -1, 1)
    assert np.allclose(read(tmp_path / "raw.wav"), expected.reshape(-1), atol=1e-6)


@pytest.mark.slow
def test_smooth_render_passes_click_dip_and_envelope_checks(tiny_brain, clip, tmp_path):
    for mode in ("raw", "smooth"):
        render.render(clip, tmp_path / f"{mode}.wav", tiny_brain, mode)
    raw, smooth = read(tmp_path / "raw.wav"), read(tmp_path / "smooth.wav")
    assert raw.size == smooth.size == 90 * W
    assert metrics.click_ratio(raw) > 2  # the trained brain has the defect
    assert metrics.click_ratio(smooth) <= 1.5
    assert 0.7 <= metrics.edge_dip(smooth) <= 1.4
    assert np.ptp(metrics.slot_loudness(raw)) > 0.02  # loudness follows the picture
    assert metrics.envelope_correlation(raw, smooth) >= 0.95
    assert np.abs(smooth).max() <= 1.0


@pytest.mark.slow
def test_render_streams_in_batches_with_the_same_result(tiny_brain, clip, tmp_path):
    render.render(clip, tmp_path / "whole.wav", tiny_brain, "smooth")
    summary = render.render(clip, tmp_path / "batched.wav", tiny_brain, "smooth", batch_slots=7)
    assert summary.slots == 90 and summary.samples == 90 * W
    # BLAS may round a product differently for another batch size, nothing more.
    assert np.allclose(read(tmp_path / "whole.wav"), read(tmp_path / "batched.wav"), atol=1e-6)


@pytest.mark.slow
def test_score_option_is_reproducible(tiny_brain, clip, tmp_path):
    def score(name: str, seed: str) -> str:
        result = run_script("render.py", str(clip), "--brain", str(tiny_brain), "-q", "-o",
                            str(tmp_path / "out.wav"), "--score", str(tmp_path / name), "--seed", seed)
        assert result.returncode == 0, result.stderr
        return (tmp_path / name).read_text()

    first, again, other = score("a.sco", "5"), score("b.sco", "5"), score("c.sco", "6")
    assert first == again != other
    assert f"{90 * W} samples" in first


@pytest.mark.slow
def test_render_without_sound_track_and_at_odd_frame_rates(tiny_brain, tmp_path):
    silent = make_video(tmp_path / "silent.mkv", seconds=1.0, fps="24000/1001", sound=None,
                        video_codec=("-c:v", "ffv1"))
    summary = render.render(silent, tmp_path / "out.wav", tiny_brain, "raw")
    assert abs(summary.seconds - video.probe(silent).duration_s) <= 1 / 30  # within one slot
    assert read(tmp_path / "out.wav").size == summary.slots * W


# ---- render.py refusals: one line, exit 1, nothing written -----------------------------

def refused(tmp_path: Path, *args: str, fragments: tuple[str, ...], out: str = "out.wav") -> None:
    result = run_script("render.py", *args, "-o", str(tmp_path / out), cwd=tmp_path)
    assert_one_line_error(result, 1, *fragments)
    assert not any(p.suffix in (".wav", ".part") or ".part" in p.name for p in tmp_path.rglob("*")), \
        list(tmp_path.rglob("*"))


@pytest.mark.slow
def test_refuses_missing_and_corrupt_videos(tiny_brain, tmp_path):
    refused(tmp_path, str(tmp_path / "nope.mp4"), "--brain", str(tiny_brain), fragments=("nope.mp4", "no such file"))
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4096))
    refused(tmp_path, str(corrupt), "--brain", str(tiny_brain), fragments=("corrupt.mp4",))


@pytest.mark.slow
def test_refuses_bad_brains(clip, tmp_path):
    refused(tmp_path, str(clip), "--brain", str(tmp_path / "none.pkl"), fragments=("none.pkl", "no such file"))

    future = small_brain()
    future.version = 99
    with open(tmp_path / "future.pkl", "wb") as stream:
        pickle.dump(future.to_record(), stream)
    refused(tmp_path, str(clip), "--brain", str(tmp_path / "future.pkl"), fragments=("future.pkl", "version 99"))

    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch '{marker}'",))

    with open(tmp_path / "evil.pkl", "wb") as stream:
        pickle.dump({"format": brains.FORMAT_NAME, "payload": Exploit()}, stream)
    refused(tmp_path, str(clip), "--brain", str(tmp_path / "evil.pkl"), fragments=("evil.pkl", "refusing"))
    assert not marker.exists()

    brains.save(small_brain(inputs=1024), tmp_path / "small-input.pkl")
    refused(tmp_path, str(clip), "--brain", str(tmp_path / "small-input.pkl"), fragments=("1024 inputs",))


@pytest.mark.slow
def test_refuses_an_output_folder_it_cannot_write(tiny_brain, clip, tmp_path):
    refused(tmp_path, str(clip), "--brain", str(tiny_brain), out="missing/out.wav",
            fragments=("missing", "does not exist"))
    (tmp_path / "file").write_text("")
    refused(tmp_path, str(clip), "--brain", str(tiny_brain), out="file/out.wav", fragments=("not a folder",))
    result = run_script("render.py", str(clip), "--brain", str(tiny_brain), "-o", str(tmp_path / "ok.wav"),
                        "--score", str(tmp_path / "missing" / "g.sco"))
    assert_one_line_error(result, 1, "missing")
    assert not (tmp_path / "ok.wav").exists()


@pytest.mark.slow
def test_refuses_when_ffmpeg_is_missing(tiny_brain, clip, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    result = run_script_with_path("render.py", str(clip), "--brain", str(tiny_brain), "-o",
                                  str(tmp_path / "out.wav"), path=str(bin_dir))
    assert_one_line_error(result, 1, "apt-get install -y ffmpeg")
    assert not (tmp_path / "out.wav").exists()


def run_script_with_path(script: str, *args: str, path: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(REPO / script), *args], capture_output=True,
                          text=True, env={**os.environ, "PATH": path})


@pytest.mark.slow
def test_help_and_usage_errors():
    result = run_script("render.py", "--help")
    assert result.returncode == 0 and "examples:" in result.stdout and "--reading" in result.stdout
    result = run_script("render.py", "clip.mp4", "--mode", "loud")
    assert result.returncode == 2
