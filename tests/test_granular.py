"""granular: the original's grain cloud, the score text, and Csound playing granular.csd."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from bitmap2pcm.core import grid
from bitmap2pcm.sound import granular

W = grid.SAMPLES_PER_SLOT
N = 40 * W  # 1.33 s of sound
CSD = granular.ORCHESTRA  # package data; the checkout's granular.csd links to it


def families(grains: list[granular.Grain]) -> list[tuple[granular.Grain, list[granular.Grain]]]:
    """Split the cloud back into (parent, children): parents are the full-block, amplitude-1
    grains (a child is at most 0.99 of a block long)."""
    result: list[tuple[granular.Grain, list[granular.Grain]]] = []
    for g in grains:
        if g.length == W and g.amplitude == 1.0:
            result.append((g, []))
        else:
            result[-1][1].append(g)
    return result


def test_grain_cloud_follows_the_original_algorithm():
    grains = granular.grain_cloud(N, seed=1)
    parents_per_block: dict[int, list[granular.Grain]] = {}
    for parent, children in families(grains):
        siblings = parents_per_block.setdefault(parent.block, [])
        j = len(siblings)
        siblings.append(parent)
        assert -W <= parent.start - parent.block < (j + 1) * W
        assert 1 <= len(children) <= 19
        previous = parent.length
        for i, child in enumerate(children):
            assert previous > granular.SHORTEST_GRAIN  # only a grain over 100 samples has a child
            assert int(previous * 0.25) <= child.length <= int(previous * 0.99)
            assert child.amplitude == pytest.approx(1 / (i + 1))
            assert 0 <= child.start - parent.start < W * (grid.RATE_HZ // 1000)
            assert child.block == parent.block
            previous = child.length
    assert sorted(parents_per_block) == list(range(0, N, W))  # every block has a cloud
    assert all(1 <= len(p) <= 19 for p in parents_per_block.values())
    assert max(len(p) for p in parents_per_block.values()) > 10  # the counts really vary


def test_grain_cloud_is_seeded():
    assert granular.grain_cloud(N, 3) == granular.grain_cloud(N, 3)
    assert granular.grain_cloud(N, 3) != granular.grain_cloud(N, 4)


def test_place_fits_grains_to_the_sound():
    grains = [granular.Grain(-50, 735, 1.0, 0), granular.Grain(N - 100, 200, 1.0, N - W),
              granular.Grain(N - 200, 200, 0.5, N - W)]
    assert granular.place(grains, N) == [granular.Grain(0, 735, 1.0, 0), grains[2]]


def test_window_sum_adds_bartlett_windows_at_44100_hz():
    grains = [granular.Grain(10, 100, 1.0, 0), granular.Grain(60, 40, 0.5, 0)]
    total = granular.window_sum(grains, 300)
    expected = np.zeros(600)
    for g in grains:
        rise = np.arange(2 * g.length + 1) / g.length  # 0 .. 2 over the grain, 44100 Hz
        expected[2 * g.start: 2 * g.start + rise.size] += g.amplitude**2 * (1 - np.abs(rise - 1))
    # The running sums place each value one sample early, which shifts nothing that matters.
    assert np.allclose(total[:-1], expected[1:], atol=1e-9)
    assert total.max() == pytest.approx(expected.max())


def test_ontime_scale_puts_the_loudest_point_at_full_scale():
    grains = granular.place(granular.grain_cloud(N, 2), N)
    scale = granular.ontime_scale(grains, N)
    assert (scale * granular.window_sum(grains, N)).max() == pytest.approx(granular.ORCHESTRA_DBFS)
    assert granular.ontime_scale([], N) == 1.0


def parse(score: str) -> np.ndarray:
    rows = [line.split()[2:] for line in score.splitlines() if line.startswith('i "grain"')]
    return np.array(rows, dtype=float)


def test_score_readings():
    grains = granular.place(granular.grain_cloud(N, 5), N)
    faithful, ontime = parse(granular.score(N, 5, "faithful")), parse(granular.score(N, 5, "ontime"))
    assert len(faithful) == len(ontime) == len(grains)
    starts = np.array([g.start for g in grains])
    for rows in (faithful, ontime):
        assert np.allclose(rows[:, 0], starts / grid.RATE_HZ, atol=1e-6)  # p2, seconds
        assert np.allclose(rows[:, 1], [g.length / grid.RATE_HZ for g in grains], atol=1e-6)
        assert np.all(rows[:, 0] >= 0) and np.all(rows[:, 0] + rows[:, 1] <= N / grid.RATE_HZ + 1e-6)
    # faithful: the block's place, 0.5 table passes per second, the original's gain amp^2
    assert np.array_equal(faithful[:, 3], [g.block for g in grains])
    assert np.all(faithful[:, 4] == 0.5 * N)
    assert np.allclose(faithful[:, 2], [g.amplitude**2 for g in grains], rtol=1e-6)
    # ontime: the grain's own moment, natural speed, one scale on every gain
    assert np.array_equal(ontime[:, 3], starts)
    assert np.all(ontime[:, 4] == grid.RATE_HZ)
    assert np.allclose(ontime[:, 2] / faithful[:, 2], granular.ontime_scale(grains, N), rtol=1e-5)


def test_score_text():
    text = granular.score(N, 9)
    assert text == granular.score(N, 9) != granular.score(N, 10)
    assert f"f 0 {N / grid.RATE_HZ:.6f}\ne\n" in text
    assert not re.search(r"\de[+-]\d", text)  # plain numbers only
    assert granular.DEFAULT_READING == "ontime" and "reading ontime" in text
    with pytest.raises(ValueError):
        granular.score(N, 9, "backwards")
    assert "0 grains" in granular.score(0, 9)


# ---- Csound -----------------------------------------------------------------------------

needs_csound = pytest.mark.skipif(shutil.which("csound") is None, reason="csound not installed")


def csound(folder: Path, sound: np.ndarray, seed: int, reading: str) -> np.ndarray:
    """Render granular.csd over `sound` in `folder`, as render.sh does; the output samples."""
    folder.mkdir(parents=True, exist_ok=True)
    soundfile.write(folder / "out.wav", sound.astype(np.float32), grid.RATE_HZ, subtype="FLOAT")
    (folder / "grain.sco").write_text(granular.score(sound.size, seed, reading))
    result = subprocess.run(["csound", "-f", "-o", "granular.wav", str(CSD)], cwd=folder,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    samples, rate_hz = soundfile.read(folder / "granular.wav", dtype="float64")
    assert rate_hz == granular.ORCHESTRA_RATE_HZ
    return samples


def swelling_tone() -> np.ndarray:
    """A low tone whose loudness swells and fades: something timing can be checked on."""
    t = np.arange(N) / grid.RATE_HZ
    return 0.6 * np.sin(2 * np.pi * 1.5 * t) ** 2 * np.sin(2 * np.pi * 150 * t)


@needs_csound
@pytest.mark.slow
def test_csound_same_seed_same_sound(tmp_path):
    sound = swelling_tone()
    first = csound(tmp_path / "a", sound, 4, "ontime")
    # Sample for sample (the WAV header's PEAK chunk carries the time it was written).
    assert np.array_equal(first, csound(tmp_path / "b", sound, 4, "ontime"))
    assert not np.array_equal(first, csound(tmp_path / "c", sound, 5, "ontime")[: first.size])
    assert abs(first.size - 2 * N) < 2 * W  # the sound's length, within one slot


@needs_csound
@pytest.mark.slow
def test_csound_ontime_reading_plays_the_sound_on_time_without_clipping(tmp_path):
    sound = swelling_tone()
    played = csound(tmp_path, sound, 6, "ontime")
    grains = granular.place(granular.grain_cloud(N, 6), N)
    # On time, the output is the (peak-normalised) sound times the cloud's window sum.
    at_44100 = np.interp(np.arange(2 * N) / 2, np.arange(N), sound / np.abs(sound).max())
    expected = at_44100 * granular.window_sum(grains, N) * granular.ontime_scale(grains, N) / granular.ORCHESTRA_DBFS
    length = min(played.size, expected.size)
    assert np.corrcoef(played[:length], expected[:length])[0, 1] > 0.95
    assert np.abs(played).max() <= 1.0
    faithful = csound(tmp_path / "faithful", sound, 6, "faithful")
    assert abs(np.corrcoef(faithful[:length], expected[:length])[0, 1]) < 0.5  # the fast reading is not on time
