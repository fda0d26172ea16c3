"""A patch brain end to end (the recommended mode: one detector shared across the places of
the picture): trained on balls bouncing only in the left half of the picture, it puts sounds
on impacts in the right half, pictures on twos make no onsets of their own, and a brightness
ramp alone gives no sound."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bitmap2pcm.core import grid
from bitmap2pcm.data import patches
from bitmap2pcm.media import audio, encode
from bitmap2pcm.render import stream
from bitmap2pcm.sound import bands, onsets
from scenes.bounce import Impact
from scenes.events.benchmark import load_recordings, mix_sound

from conftest import REPO, run_script
from motion_scenes import backdrop, drops, on_twos

pytestmark = pytest.mark.slow  # every test here trains or renders

LEFT, RIGHT = (6.0, 26.0), (38.0, 58.0)  # where the balls fall, in pixels of 64


def scene_video(path: Path, seconds: float, x_range: tuple[float, float], seed: int,
                twos: bool = False) -> tuple[Path, np.ndarray]:
    """A drops scene with the ball's recorded sound at each impact, louder for harder hits."""
    pictures, impacts, strengths = drops(seconds, x_range, seed)
    hits = [Impact(slot * grid.SAMPLES_PER_SLOT, "ball", strength, 0.0) for slot, strength in zip(impacts, strengths)]
    sound = mix_sound(hits, len(pictures) * grid.SAMPLES_PER_SLOT, load_recordings(REPO / "examples" / "sounds"))
    shown = on_twos(pictures) if twos else pictures
    return encode.write_mkv(path, shown, sound), np.asarray(impacts)


@pytest.fixture(scope="module")
def brain(tmp_path_factory) -> Path:
    """A patch brain trained on 60 s of balls bouncing in the left half."""
    folder = tmp_path_factory.mktemp("left-scene")
    video, _ = scene_video(folder / "left.mkv", 60.0, LEFT, seed=0)
    assert run_script("pickler.py", str(video), "-o", str(folder), "-q").returncode == 0
    trained = run_script("theanet.py", "-q", "--input", patches.NAME, "--frames", str(folder / "frames.pkl"),
                         "--audio", str(folder / "audio.pkl"), "--save-every", "0", "--epochs", "100",
                         "-o", str(folder / "patches.pkl"))
    assert trained.returncode == 0, trained.stderr
    return folder / "patches.pkl"


def rendered_onsets(video: Path, brain: Path, folder: Path) -> np.ndarray:
    out = folder / (video.stem + ".wav")
    stream.render(video, out, brain)
    samples, _ = audio.read_wav(out)
    return onsets.onset_slots(samples)


def near(a: np.ndarray, b: np.ndarray, slots: int) -> np.ndarray:
    """For each of `a`, whether one of `b` is within `slots`."""
    return (np.abs(a[:, None] - b[None, :]) <= slots).any(axis=1) if len(b) else np.zeros(len(a), bool)


def test_impacts_where_it_never_saw_one_get_onsets_on_time(brain, tmp_path):
    video, impacts = scene_video(tmp_path / "right.mkv", 20.0, RIGHT, seed=1)
    found = rendered_onsets(video, brain, tmp_path)
    assert near(impacts, found, 2).mean() >= 0.6, f"impacts {impacts}, onsets {found}"
    assert near(found, impacts, 2).mean() >= 0.6, f"impacts {impacts}, onsets {found}"


def test_pictures_on_twos_make_no_onsets_of_their_own(brain, tmp_path):
    # held pictures must not flicker into events (they are spread before differencing):
    # nearly every onset on twos is one at 30 fps
    every, _ = scene_video(tmp_path / "every.mkv", 20.0, RIGHT, seed=2)
    twos, _ = scene_video(tmp_path / "twos.mkv", 20.0, RIGHT, seed=2, twos=True)
    at_30, on_twos_ = rendered_onsets(every, brain, tmp_path), rendered_onsets(twos, brain, tmp_path)
    assert len(at_30) > 10 and len(on_twos_) > 0.5 * len(at_30)
    assert near(on_twos_, at_30, 1).mean() >= 0.75, f"30 fps {at_30}, twos {on_twos_}"


def test_a_brightness_ramp_alone_gives_no_onset_and_no_loudness(brain, tmp_path):
    ramp = np.linspace(0.6, 1.6, 150)[:, None, None] * backdrop()[None]
    pictures = np.clip(np.rint(ramp * 255), 0, 255).astype(np.uint8)
    video = encode.write_mkv(tmp_path / "ramp.mkv", pictures, np.zeros(150 * grid.SAMPLES_PER_SLOT, np.float32))
    out = tmp_path / "ramp.wav"
    stream.render(video, out, brain)
    samples, _ = audio.read_wav(out)
    assert len(onsets.onset_slots(samples)) == 0
    loudness = bands.loudness_db(samples)
    assert loudness.max() - loudness.min() < 3.0, loudness
