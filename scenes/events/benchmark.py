"""The sound of a scene (recorded impacts at their exact samples), its record, and the
benchmark's files (examples/make_events.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import soundfile

from bitmap2pcm.core import grid
from bitmap2pcm.media import encode
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.core.files import atomic_path
from .pictures import draw_frames
from .planner import plan_scene
from .score import Impact, Scene
from .settings import (
    FORMAT,
    FORMAT_VERSION,
    FULL_SPEED_PX_S,
    LONGEST_SOUND_S,
    SIDE_PX,
    SOUND_FILES,
    SOUND_LEVEL,
)


def load_recordings(folder: str | Path) -> dict[str, np.ndarray]:
    """Each kind's recorded impact sound from `folder` (SOUND_FILES): mono float32 at
    grid.RATE_HZ, at most LONGEST_SOUND_S long. A file breaking that is refused."""
    recordings = {}
    for kind, name in SOUND_FILES.items():
        path = Path(folder) / name
        try:
            samples, rate_hz = soundfile.read(path, dtype="float32", always_2d=True)
        except (OSError, RuntimeError) as error:  # libsndfile's errors are RuntimeErrors
            raise UserError(f"{path}: cannot read the {kind}'s recorded sound ({error})") from None
        if rate_hz != grid.RATE_HZ or samples.shape[1] != 1:
            raise UserError(f"{path}: {samples.shape[1]} channel(s) at {rate_hz} Hz, "
                            f"not mono at {grid.RATE_HZ} Hz")
        if samples.shape[0] > LONGEST_SOUND_S * grid.RATE_HZ:
            raise UserError(f"{path}: longer than {LONGEST_SOUND_S} s")
        recordings[kind] = np.ascontiguousarray(samples[:, 0])
    return recordings


def mix_sound(impacts: Sequence[Impact], samples: int, recordings: Mapping[str, np.ndarray]) -> np.ndarray:
    """The sound track: each impact's recordings from its sample on, at gain
    SOUND_LEVEL * strength, summed; exactly zero where no recording plays. float32, clipped
    to [-1, 1], `samples` long."""
    track = np.zeros(samples, dtype=np.float64)
    for impact in impacts:
        for kind in impact.sounds:
            sound = recordings[kind][: max(0, samples - impact.sample)]
            track[impact.sample: impact.sample + sound.size] += sound * (SOUND_LEVEL * impact.strength)
    return np.clip(track, -1.0, 1.0).astype(np.float32)


def render_scene(scene: Scene, recordings: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(pictures, sound) of a planned scene: `draw_frames` and `mix_sound`."""
    return draw_frames(scene), mix_sound(scene.impacts, scene.samples, recordings)


# ---- the record and the files ----------------------------------------------------------------------

def truth(scene: Scene) -> dict[str, Any]:
    """What the scene holds, JSON-ready: its seed, length, room, impacts (slot, sample, time,
    kind, what it hit, strength), acts, distractors and still intervals."""
    return {
        "seed": scene.seed,
        "stream": scene.stream,
        "duration_s": scene.duration_s,
        "slots": scene.slots,
        "samples": scene.samples,
        "side_px": SIDE_PX,
        "layout": scene.layout.as_dict(),
        "impacts": [impact.as_dict() for impact in scene.impacts],
        "acts": [interval.as_dict() for interval in scene.acts],
        "distractors": [interval.as_dict() for interval in scene.distractors],
        "still": [interval.as_dict() for interval in scene.still],
    }


# the benchmark's files: name -> (seconds, stream); every file's seed entropy is (seed, stream)
BENCHMARK = {"train.mkv": (60.0, 0), "test-1.mkv": (20.0, 1), "test-2.mkv": (20.0, 2)}
TRUTH_NAME = "events.json"


def benchmark_scenes(seed: int = 0) -> Iterator[tuple[str, Scene]]:
    """(file name, planned scene) of every file of the benchmark for `seed`."""
    for name, (seconds, stream) in BENCHMARK.items():
        yield name, plan_scene(seconds, seed, stream)


def benchmark_truth(scenes: Sequence[tuple[str, Scene]]) -> dict[str, Any]:
    """The events.json record of a benchmark's scenes."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "generator": "scenes.events",
        "slots_per_second": grid.SLOTS_PER_SECOND,
        "rate_hz": grid.RATE_HZ,
        "samples_per_slot": grid.SAMPLES_PER_SLOT,
        "sounds": dict(SOUND_FILES),
        "sound_level": SOUND_LEVEL,
        "full_speed_px_s": FULL_SPEED_PX_S,
        "files": {name: truth(scene) for name, scene in scenes},
    }


def write_benchmark(folder: str | Path, recordings_folder: str | Path, seed: int = 0) -> dict[str, Any]:
    """Write the benchmark into `folder`: every file of BENCHMARK (pictures and sound of its
    scene) and TRUTH_NAME, the record of them all. Returns the record."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    recordings = load_recordings(recordings_folder)
    scenes = list(benchmark_scenes(seed))
    for name, scene in scenes:
        encode.write_mkv(folder / name, *render_scene(scene, recordings))
    record = benchmark_truth(scenes)
    with atomic_path(folder / TRUTH_NAME, suffix=".json") as temporary:
        temporary.write_text(json.dumps(record, indent=1) + "\n")
    return record
