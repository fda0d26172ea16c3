"""The timeline contract on real containers: every slot shows the source frame nearest its
time, a 30 fps source maps one to one, and picture and sound share one time zero however
late each stream starts (README, File formats, bitmap2pcm/media/video.py)."""

from __future__ import annotations

import json
import shutil

import numbered
import numpy as np
import pytest
from conftest import run_script
from render_helpers import decode_audio, packet_hashes, render_sh, trained_brain

from bitmap2pcm.core import grid
from bitmap2pcm.core.files import load_pickle
from bitmap2pcm.judge import metrics
from bitmap2pcm.media import audio, video
from bitmap2pcm.render import stream as render

pytestmark = pytest.mark.slow  # every test here trains, renders or starts a process

RATES = ["24", "25", "30000/1001", "30", "50", "60"]  # all among MPEG-1's standard rates too
CONTAINERS = ["mkv", "webm", "mp4", "ts", "avi"]
SECONDS = 2


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    folder = tmp_path_factory.mktemp("numbered")
    made = {}
    for container in CONTAINERS:
        for rate in RATES:
            frames = round(SECONDS * float(eval(rate)))  # noqa: S307 - a fixed test rate
            path = folder / f"n{rate.replace('/', '_')}.{container}"
            made[container, rate] = numbered.make(path, rate, frames)
    return made


def slot_pictures(path):
    return numbered.read_indices(np.concatenate(list(video.FrameStream(path))))


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("rate", RATES)
def test_every_slot_shows_the_nearest_frame(matrix, container, rate):
    clip = matrix[container, rate]
    indices = slot_pictures(clip.path)
    assert indices.min() >= 0, "a slot without a picture"
    errors = numbered.nearest_errors_s(indices, numbered.frame_times_s(clip.path),
                                       grid.SLOTS_PER_SECOND)
    assert errors.max() < 1e-3, f"slots {np.flatnonzero(errors >= 1e-3)} miss their nearest frame"
    if clip.fps <= grid.SLOTS_PER_SECOND:
        skipped = sorted(set(range(clip.frames)) - set(indices.tolist()))
        assert not skipped, f"source frames {skipped} never shown"


@pytest.mark.parametrize("container", CONTAINERS)
def test_a_30_fps_source_maps_one_to_one(matrix, container):
    clip = matrix[container, "30"]
    indices = slot_pictures(clip.path)
    lead_in = int(np.floor(numbered.first_picture_s(clip.path) * grid.SLOTS_PER_SECOND + 0.5))
    steps = np.diff(indices[lead_in:])
    assert (steps == 1).all(), f"repeated or skipped at slots {np.flatnonzero(steps != 1) + lead_in}"
    assert indices[lead_in] == 0 and indices[-1] == clip.frames - 1


def test_webm_with_opus_maps_one_to_one(tmp_path):
    """Opus starts its sound 7 ms before zero, so the pictures start 7 ms after it."""
    clip = numbered.make(tmp_path / "opus.webm", "30", 90)
    assert 0.005 < numbered.first_picture_s(clip.path) < 0.02  # the offset this test is about
    assert (slot_pictures(clip.path) == np.arange(clip.frames)).all()


def burst_slot(samples: np.ndarray) -> int:
    """The first slot whose loudness is well above silence."""
    loudness = metrics.loudness_db(samples)
    return int(np.flatnonzero(loudness > loudness.max() - 20)[0])


@pytest.mark.parametrize("suffix,video_delay_s,audio_delay_s", [
    (".mpg", 0.7, 0.3),   # sound before the pictures
    (".mpg", 0.3, 0.7),   # sound after
    (".ts", 1.2, 1.2),    # together, both late
    (".ts", 0.5, 0.2),
])
def test_late_streams_keep_picture_and_sound_in_sync(tmp_path, suffix, video_delay_s, audio_delay_s):
    clip = numbered.make(tmp_path / f"late{suffix}", "30", 60, video_delay_s, audio_delay_s)
    info = video.probe(clip.path)
    indices = slot_pictures(clip.path)
    picture_slot = int(np.flatnonzero(indices >= numbered.BURST_FRAME)[0])
    sound = audio.read_sound(clip.path)
    assert abs(burst_slot(sound) - picture_slot) <= 1
    # The delay between the streams survives: time zero is the earlier stream's start.
    expected_first_slot = max(0.0, video_delay_s - audio_delay_s) * grid.SLOTS_PER_SECOND
    assert abs(numbered.first_picture_s(clip.path) * grid.SLOTS_PER_SECOND
               - expected_first_slot) < 1.5
    assert info.origin_s > 0.1  # the file itself starts late


# ---- through the commands: pickler, render, render.sh and evaluate agree -----------------

@pytest.fixture(scope="module")
def tiny_brain(tmp_path_factory):
    return trained_brain(tmp_path_factory)


@pytest.mark.skipif(shutil.which("csound") is None, reason="csound not installed")
@pytest.mark.parametrize("name,rate,video_delay_s,audio_delay_s", [
    *[(f"n.{container}", rate, 0.0, 0.0) for container in [*CONTAINERS, "mpg"] for rate in RATES],
    ("late.mpg", "30", 0.7, 0.3),
    ("late.mpg", "30", 0.3, 0.7),
    ("late.ts", "25", 0.5, 0.2),
])
def test_render_sh_writes_both_mkvs_with_pictures_and_sound_together(
        tiny_brain, tmp_path, name, rate, video_delay_s, audio_delay_s):
    clip = numbered.make(tmp_path / name, rate, 40, video_delay_s, audio_delay_s)
    result = render_sh("--brain", str(tiny_brain), "-q", str(clip.path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    slots = len(slot_pictures(clip.path))
    lead_s = numbered.first_picture_s(clip.path)
    for kind in ("deeplearn", "granular-deeplearn"):
        mkv = tmp_path / f"tiny-{clip.path.name}-{kind}.mkv"
        assert packet_hashes(mkv) == packet_hashes(clip.path)  # pictures copied bit for bit
        starts = numbered.stream_starts_s(mkv)
        # The new sound's slot 0 is the grid's zero: pictures start as late after it as in
        # the source (Matroska keeps milliseconds).
        assert abs((starts["video"] - starts["audio"]) - lead_s) <= 0.002, starts
        assert min(starts.values()) == pytest.approx(0.0, abs=0.002)
    sound = decode_audio(tmp_path / f"tiny-{clip.path.name}-deeplearn.mkv", grid.RATE_HZ)
    assert abs(sound.size - slots * grid.SAMPLES_PER_SLOT) <= grid.SAMPLES_PER_SLOT


@pytest.mark.parametrize("suffix,video_delay_s,audio_delay_s", [
    (".mpg", 0.7, 0.3),
    (".ts", 0.3, 0.9),
])
def test_pickler_render_and_evaluate_count_the_same_slots(tmp_path, suffix, video_delay_s,
                                                          audio_delay_s):
    clip = numbered.make(tmp_path / f"late{suffix}", "30", 90, video_delay_s, audio_delay_s)
    assert run_script("pickler.py", "-q", str(clip.path), cwd=tmp_path).returncode == 0
    pickled = json.loads((tmp_path / "dataset.json").read_text())["slots"]
    indices = numbered.read_indices(np.round(load_pickle(tmp_path / "frames.pkl") * 255).astype(np.uint8))
    picture_slot = int(np.flatnonzero(indices >= numbered.BURST_FRAME)[0])
    sound = audio.from_slots(load_pickle(tmp_path / "audio.pkl"))
    assert abs(burst_slot(sound) - picture_slot) <= 1  # in sync within one slot
    trained = run_script("theanet.py", "-q", "--layers", f"{grid.PIXELS_PER_FRAME},8,{grid.SAMPLES_PER_SLOT}",
                         "--epochs", "1", "--pretrain-epochs", "0", "--save-every", "0",
                         "--holdout-tail", "0.2", "-o", "b.pkl", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    rendered = render.render(clip.path, tmp_path / "out.wav", tmp_path / "b.pkl")
    assert rendered.slots == pickled
    scored = run_script("evaluate.py", "-q", "--brain", "b.pkl", "--mode", "raw",
                        "--json", "scores.json", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr  # its own held-out slots fit the video
