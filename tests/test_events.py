"""The event benchmark (scenes/events/): reproducible scenes whose sound follows the action.

Every impact of the record is an onset of the sound, nothing else is; distractors and still
stretches are silent while their pictures do (or do not) move as the record says; harder
hits are louder; and the committed examples/events/ is what the generator makes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from scenes.events import benchmark as event_files
from scenes.events import physics, pictures, planner, score
from scenes.events import settings as scene_settings
from bitmap2pcm.judge import metrics, onsets

REPO = Path(__file__).resolve().parent.parent
SOUNDS = REPO / "examples" / "sounds"
COMMITTED = REPO / "examples" / "events"
SILENT_DB = -60.0
PEAK_WINDOW_SAMPLES = grid.RATE_HZ // 100  # an impact's peak: the first 10 ms of its sound


@pytest.fixture(scope="module")
def recordings() -> dict[str, np.ndarray]:
    return event_files.load_recordings(SOUNDS)


@pytest.fixture(scope="module")
def benchmark(recordings):
    """Every scene of the committed benchmark (seed 0), planned and rendered."""
    return [(name, scene, *event_files.render_scene(scene, recordings))
            for name, scene in event_files.benchmark_scenes(seed=0)]


def frame_motion(frames: np.ndarray) -> np.ndarray:
    """Mean |difference| of each slot's picture from the one before (slot 0: 0), gray levels."""
    moved = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2))
    return np.concatenate([[0.0], moved])


def best_shift_px(before: np.ndarray, after: np.ndarray, largest_px: int = 30) -> int:
    """The whole-pixel horizontal shift s that best maps `before` onto `after`
    (after[:, x] ~ before[:, x + s]): a camera moving right by s moves the scene left by s."""
    side = before.shape[1]
    errors = {s: np.abs(after[:, largest_px: side - largest_px].astype(np.int16)
                        - before[:, largest_px + s: side - largest_px + s]).mean()
              for s in range(-largest_px, largest_px + 1)}
    return min(errors, key=errors.get)


def test_same_seed_same_arrays_other_stream_other_scene(recordings):
    a = event_files.render_scene(planner.plan_scene(8.0, seed=3, stream=0), recordings)
    b = event_files.render_scene(planner.plan_scene(8.0, seed=3, stream=0), recordings)
    other = planner.plan_scene(8.0, seed=3, stream=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].dtype == np.uint8 and a[0].shape == (grid.slots_in(8.0), scene_settings.SIDE_PX, scene_settings.SIDE_PX)
    assert a[1].dtype == np.float32 and a[1].size == grid.slots_in(8.0) * grid.SAMPLES_PER_SLOT
    assert not np.array_equal(a[0], pictures.draw_frames(other))
    assert event_files.truth(planner.plan_scene(8.0, seed=3, stream=0)) != event_files.truth(other)


def test_train_and_test_scenes_differ_in_seed_and_layout(benchmark):
    layouts = [scene.layout for _, scene, _, _ in benchmark]
    streams = [(scene.seed, scene.stream) for _, scene, _, _ in benchmark]
    assert len(set(layouts)) == len(layouts) and len(set(streams)) == len(streams)
    assert [name for name, *_ in benchmark] == ["train.mkv", "test-1.mkv", "test-2.mkv"]


def test_a_dropped_object_lands_at_the_exact_sample():
    """Free fall from rest: the first impact is at sqrt(2 h / g), to the sample."""
    layout = planner.draw_layout(np.random.default_rng(0))
    ball = physics.Body("ball", 6.0, 60.0, 20.0, grounded=False)
    _, impacts, rest = physics.simulate([ball], layout, first_slot=10)
    fall_s = math.sqrt(2 * (layout.floor_px - 6.0 - 20.0) / scene_settings.GRAVITY_PX_S2)
    assert impacts[0].sample == round((grid.slot_seconds(10) + fall_s) * grid.RATE_HZ)
    assert impacts[0].surface == "floor" and impacts[0].kind == "ball"
    assert all(b.at_rest() for b in rest)
    speeds = [i.speed_px_s for i in impacts]
    assert speeds == sorted(speeds, reverse=True) and len(speeds) > 2  # it bounces lower and lower


def test_every_impact_is_an_onset_and_nothing_else_is(benchmark):
    for name, scene, _, sound in benchmark:
        true_slots = np.array([impact.slot for impact in scene.impacts])
        found = onsets.onset_slots(sound)
        precision, recall, f1 = onsets.onset_match(true_slots, found, tolerance_slots=onsets.TOLERANCE_SLOTS)
        assert (precision, recall, f1) == (1.0, 1.0, 1.0), (name, true_slots, found)


def test_the_record_of_impacts_is_consistent(benchmark):
    for name, scene, _, _ in benchmark:
        samples = [impact.sample for impact in scene.impacts]
        assert samples == sorted(samples)
        assert np.diff(samples).min() >= scene_settings.MIN_IMPACT_GAP_S * grid.RATE_HZ
        for impact in scene.impacts:
            assert impact.slot == impact.sample // grid.SAMPLES_PER_SLOT
            assert scene_settings.MIN_STRENGTH <= impact.strength <= 1.0
            assert set(impact.sounds) <= set(scene_settings.KINDS) and impact.kind == impact.sounds[0]
        assert {impact.kind for impact in scene.impacts} == set(scene_settings.KINDS), name
        assert {d.kind for d in scene.distractors} == set(scene_settings.DISTRACTORS), name
        assert {a.kind for a in scene.acts} == set(scene_settings.ACTS), name
        assert any(impact.surface in scene_settings.KINDS for impact in scene.impacts), name  # objects collide
        layout = scene.layout
        for view in scene.views:  # both walls always in the picture: no impact against nothing
            assert layout.wall_left_px - layout.wall_width_px - view.camera_px >= 0
            assert layout.wall_right_px + layout.wall_width_px - view.camera_px <= scene_settings.SIDE_PX


def test_distractors_and_still_stretches_are_silent(benchmark):
    for name, scene, _, sound in benchmark:
        loudness = metrics.loudness_db(sound)
        quiet = [*scene.distractors, *scene.still]
        assert sum(i.end_slot - i.first_slot for i in quiet) > 0.2 * scene.slots
        for interval in quiet:
            assert loudness[interval.first_slot: interval.end_slot].max() <= SILENT_DB, (name, interval)
            begin, end = (s * grid.SAMPLES_PER_SLOT for s in (interval.first_slot, interval.end_slot))
            assert not sound[begin:end].any(), (name, interval)  # real silence: exact zeros
        for impact in scene.impacts:  # ... and the impacts are heard
            assert loudness[impact.slot: impact.slot + 2].max() > SILENT_DB + 20


def test_pictures_move_where_the_record_says(benchmark):
    for name, scene, frames, _ in benchmark:
        motion = frame_motion(frames)
        for interval in scene.distractors:  # moving pictures, no sound
            assert motion[interval.first_slot: interval.end_slot + 1].sum() > 0, (name, interval)
        for interval in scene.acts:
            assert motion[interval.first_slot: interval.end_slot + 1].sum() > 0, (name, interval)
        for interval in scene.still:  # nothing changes within a still stretch
            assert not motion[interval.first_slot + 1: interval.end_slot].any(), (name, interval)
        for interval in scene.distractors:
            before, after = frames[interval.first_slot], frames[interval.end_slot]
            changed = before != after
            if interval.kind == "drift":  # the background changes everywhere above the floor
                assert changed[:8].all(), (name, interval)
            elif interval.kind == "pan":  # the whole scene shifts by the camera's move
                moved_px = dict(interval.detail)["to_px"] - dict(interval.detail)["from_px"]
                assert abs(best_shift_px(before, after) - moved_px) <= 1.0, (name, interval)
            elif interval.kind == "glide":  # in from one side, out at the other: nothing left
                assert not changed.any(), (name, interval)
                middle = (interval.first_slot + interval.end_slot) // 2
                assert (frames[middle] != before).any(), (name, interval)
            else:  # lift: an object is gone, only where it was
                assert 0 < changed.mean() < 0.05, (name, interval)


def test_harder_hits_are_louder(benchmark, recordings):
    for kind, sound in recordings.items():  # one impact alone: the peak is proportional
        peaks = []
        for strength in (0.2, 0.5, 1.0):
            impact = score.Impact(1000, kind, "floor", (kind,), strength, 0.0)
            track = event_files.mix_sound([impact], 20000, recordings)
            assert not track[:1000].any() and track[1000] == np.float32(sound[0] * scene_settings.SOUND_LEVEL * strength)
            peaks.append(float(np.abs(track).max()))
        assert peaks == sorted(peaks) and peaks[0] < peaks[1] < peaks[2]
        np.testing.assert_allclose(np.array(peaks) / peaks[-1], [0.2, 0.5, 1.0], rtol=1e-5)
    for name, scene, _, sound in benchmark:  # in the scenes, per kind: ranked alike
        for kind in scene_settings.KINDS:
            own = [i for i in scene.impacts if i.sounds == (kind,)]
            strengths = np.array([i.strength for i in own])
            peaks_db = np.array([20 * np.log10(np.abs(sound[i.sample: i.sample + PEAK_WINDOW_SAMPLES]).max())
                                 for i in own])
            if len(own) >= 3 and np.ptp(strengths) > 0:
                ranks = [np.argsort(np.argsort(x)) for x in (strengths, peaks_db)]
                assert np.corrcoef(*ranks)[0, 1] > 0.9, (name, kind)


def test_committed_record_is_the_generators_output():
    committed = json.loads((COMMITTED / event_files.TRUTH_NAME).read_text())
    for name, record in committed["files"].items():
        scene = planner.plan_scene(record["duration_s"], record["seed"], record["stream"])
        assert event_files.truth(scene) == record, name
    assert committed == event_files.benchmark_truth(list(event_files.benchmark_scenes(seed=0)))
    sizes = {path.name: path.stat().st_size for path in COMMITTED.iterdir()}
    assert set(sizes) == set(event_files.BENCHMARK) | {event_files.TRUTH_NAME}
    assert sum(sizes.values()) < 3_000_000


@pytest.mark.slow
def test_committed_video_holds_the_generated_pictures_and_sound(benchmark):
    _, scene, frames, sound = next(item for item in benchmark if item[0] == "test-1.mkv")
    path = COMMITTED / "test-1.mkv"

    def decode(*output: str) -> bytes:
        return subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), *output, "-"],
                              check=True, capture_output=True).stdout

    decoded = np.frombuffer(decode("-map", "0:a", "-f", "f32le"), dtype=np.float32)
    assert decoded.size == sound.size
    assert np.abs(decoded - sound).max() <= 1.01 / 32768  # the FLAC track is the sound in 16 bits
    pictures = np.frombuffer(decode("-map", "0:v", "-f", "rawvideo", "-pix_fmt", "gray"), dtype=np.uint8)
    pictures = pictures.reshape(-1, scene_settings.SIDE_PX, scene_settings.SIDE_PX)
    assert pictures.shape == frames.shape
    assert np.abs(pictures.astype(np.int16) - frames).mean() < 1.0  # H.264 at CRF 18


def test_recordings_are_short_mono_and_refused_otherwise(recordings, tmp_path):
    for sound in recordings.values():
        assert sound.ndim == 1 and 0 < sound.size <= scene_settings.LONGEST_SOUND_S * grid.RATE_HZ
        assert sound[-1] == 0.0 and np.abs(sound).max() > 0.5
    for kind in scene_settings.KINDS:
        soundfile.write(tmp_path / scene_settings.SOUND_FILES[kind], np.zeros((100, 2)), grid.RATE_HZ)
    with pytest.raises(UserError, match="channel"):
        event_files.load_recordings(tmp_path)
    with pytest.raises(UserError, match="cannot read"):
        event_files.load_recordings(tmp_path / "missing")


@pytest.mark.slow
def test_make_events_writes_the_benchmark(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "examples" / "make_events.py"), "-q",
                             "-o", str(tmp_path), "--seed", "0"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / event_files.TRUTH_NAME).read_text())
    assert written == json.loads((COMMITTED / event_files.TRUTH_NAME).read_text())
    assert all((tmp_path / name).stat().st_size > 10_000 for name in event_files.BENCHMARK)
    helped = subprocess.run([sys.executable, str(REPO / "examples" / "make_events.py"), "--help"],
                            capture_output=True, text=True)
    assert helped.returncode == 0 and "examples:" in helped.stdout
