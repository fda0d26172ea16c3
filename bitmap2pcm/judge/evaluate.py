"""Evaluate: how close a brain's sound is to a video's true sound track, beside baselines.

For a set of videos and one brain: each video is rendered by `render.render` (the very code
render.py runs, so whatever a brain's options make render do, evaluate measures), its true
sound track is decoded onto the same slot grid (`audio.read_sound`), and the slots to score
are chosen (`holdout.scored_ranges`: the part the brain held out of that video by default).
Every row of the result - the brain in each join mode, the baselines (`baselines`), and the
truth itself as a reference - is scored by one function, `score`, on the same slots.

The scored slots of all videos form one *set*: within-clip correlation averages over its
segments, pooled correlation joins them, and so on (see `metrics`).
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core import grid
from ..core.errors import UserError
from ..data import flow, history
from ..data.holdout import (
    NoTrainingData,
    SlotRange,
    TrainingData,
    held_out_videos,
    load_training_data,
    scored_ranges,
)
from ..learn import brain as brains
from ..media import audio, video
from ..render import stream as render
from ..sound import join
from ..learn.brain import Brain
from . import baselines, loudness, metrics, onsets

log = logging.getLogger("bitmap2pcm")

SILENCE_SECONDS = 1.0  # length of the all-black and all-white videos rendered for "silence"
BASELINE_SEED = 0
NO_BASELINES = "no baselines to compare with"  # a note's start, for the table and the page


@dataclass
class Part:
    """One video of a set: its true sound on the whole slot grid, and the slots scored."""

    path: Path
    slots: int
    ranges: list[SlotRange]
    why: str
    truth: np.ndarray | None  # PCM, slots * 735 samples; None without a sound track
    pictures: list[np.ndarray] = field(repr=False)  # uint8 frames of each scored segment

    def cut(self, samples: np.ndarray) -> list[np.ndarray]:
        """The scored segments of a signal that covers this video's slots."""
        w = grid.SAMPLES_PER_SLOT
        return [samples[start * w: stop * w] for start, stop in self.ranges]


@dataclass
class Row:
    """One line of the table: a name, its metrics, and the scored sound (for the plot)."""

    model: str
    kind: str  # "brain", "baseline" or "truth"
    metrics: dict[str, float]
    segments: list[np.ndarray] = field(repr=False)
    mode: str | None = None


@dataclass
class SetResult:
    """Everything evaluated for one brain on one set of videos."""

    name: str
    brain: Path
    parts: list[Part]
    rows: list[Row]
    notes: list[str]
    training_data: str | None

    def truth_segments(self) -> list[np.ndarray]:
        if any(part.truth is None for part in self.parts):
            raise UserError(f"{self.name}: no sound track, so no true sound to show")
        return [segment for part in self.parts for segment in part.cut(part.truth)]

    def table(self) -> dict[str, Any]:
        """The result as plain JSON-ready data (nan becomes None)."""
        slots = sum(stop - start for part in self.parts for start, stop in part.ranges)
        return {
            "set": self.name,
            "brain": str(self.brain),
            "scored": {
                "slots": slots,
                "seconds": round(slots / grid.SLOTS_PER_SECOND, 3),
                "videos": [{"path": str(p.path), "slots": p.slots,
                            "ranges": [list(r) for r in p.ranges], "why": p.why}
                           for p in self.parts],
            },
            "training_data": self.training_data,
            "notes": list(self.notes),
            "rows": [{"model": row.model, "kind": row.kind, "mode": row.mode,
                      **{key: _plain(value) for key, value in row.metrics.items()}}
                     for row in self.rows],
        }


def _plain(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def score(render_segments: Sequence[np.ndarray], truth_segments: Sequence[np.ndarray]) -> dict[str, float]:
    """Every comparison metric of a render against the truth on the same segments.

    Keys (units): r_within, r_within_chance, r_pooled, r_pooled_chance (Pearson r of per-slot
    loudness in dB, and the 95th percentile of |r| under circular shifts; None for a flat
    render, whose r would correlate rounding noise); flat (the render's loudness spreads
    less than `loudness.FLAT_SPREAD_DB`); spread_ratio (the render's loudness spread over
    the truth's); best_lag_s and best_lag_r (the shift within +-2 s that maximises the
    loudness r, + = render late); onset_precision, onset_recall, onset_f1, onset_ap and each
    one's _chance, onset_true_onsets and onset_rendered_onsets (counts) (onsets matched
    within +-2 slots, `onsets.event_scores`); level_db (dB,
    render minus truth); lsd_db (dB, log-spectral distance in mel bands); onset_lag_ms (ms,
    positive = render late) and onset_peak (normalised cross-correlation of onset strength);
    buzz_db (dB); click_ratio and edge_dip (ratios, on the segments joined);
    loudest_slot_dbfs (dBFS: at most 0 when samples stay in [-1, 1]).
    """
    renders = [metrics.loudness_db(x) for x in render_segments]
    truths = [metrics.loudness_db(y) for y in truth_segments]
    lag_ms, peak = metrics.onset_sync(render_segments, truth_segments)
    joined = np.concatenate(render_segments)
    flat = loudness.is_flat(list(render_segments))
    lag_s, lag_r = loudness.best_lag_s(truths, renders)
    events = onsets.event_scores(list(truth_segments), list(render_segments)).as_dict()
    nothing = float("nan")
    return {
        "r_within": nothing if flat else metrics.within_correlation(renders, truths),
        "r_within_chance": nothing if flat else metrics.chance_level(metrics.within_correlation,
                                                                     renders, truths),
        "r_pooled": nothing if flat else metrics.pooled_correlation(renders, truths),
        "r_pooled_chance": nothing if flat else metrics.chance_level(metrics.pooled_correlation,
                                                                     renders, truths),
        "flat": flat,
        "spread_ratio": loudness.loudness_spread_ratio(list(truth_segments), list(render_segments)),
        "best_lag_s": lag_s,
        "best_lag_r": lag_r,
        **{f"onset_{key}": value for key, value in events.items()},
        "level_db": metrics.level_difference_db(render_segments, truth_segments),
        "lsd_db": metrics.log_spectral_distance(render_segments, truth_segments),
        "onset_lag_ms": lag_ms,
        "onset_peak": peak,
        "buzz_db": metrics.buzz_db(render_segments),
        "click_ratio": metrics.click_ratio(joined),
        "edge_dip": metrics.edge_dip(joined),
        "loudest_slot_dbfs": float(max((r.max(initial=metrics.FLOOR_DB) for r in renders),
                                         default=metrics.FLOOR_DB)),
    }


def response(render_segments: Sequence[np.ndarray], pictures: Sequence[np.ndarray]) -> dict[str, Any]:
    """What a render does with the picture, without the truth: r of its per-slot loudness
    with the pictures' motion energy and with their brightness, each beside its chance
    level (None for a flat render), and the share of moving slots it leaves silent; keys
    response_motion_r, response_motion_chance, response_brightness_r,
    response_brightness_chance, response_silent_moving."""
    answer = loudness.picture_response([metrics.loudness_db(x) for x in render_segments],
                                       list(pictures)).as_dict()
    return {f"response_{key}": answer[key] for key in
            ("motion_r", "motion_chance", "brightness_r", "brightness_chance", "silent_moving")}


def render_samples(video_path: Path, brain_path: Path, mode: str,
                   folder: Path) -> tuple[np.ndarray, render.RenderSummary]:
    """Render through render.py's own code into a scratch WAV and read it back."""
    wav = folder / "render.wav"
    level = log.level
    log.setLevel(max(level, logging.WARNING))  # one render per mode and picture: not news
    try:
        summary = render.render(video_path, wav, brain_path, mode)
    finally:
        log.setLevel(level)
    samples, _ = audio.read_wav(wav)
    return samples, summary


def silence_dbfs(brain_path: Path, mode: str, colour: str, folder: Path) -> float:
    """Level (dBFS, `metrics.level_dbfs`) of the render of one second of an all-`colour`
    picture ("black" or "white"): does dark mean quiet? Rendered as a video through the
    whole render path, so history inputs or other brain options see a steady picture."""
    still = folder / f"{colour}.mkv"
    size = f"{grid.FRAME_SIDE}x{grid.FRAME_SIDE}"  # render scales any size to the brain's side
    source = f"color=c={colour}:s={size}:r={grid.SLOTS_PER_SECOND}:d={SILENCE_SECONDS}"
    command = [video.require_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
               "-f", "lavfi", "-i", source,
               "-pix_fmt", "gray", "-c:v", "ffv1", "-y", str(still)]  # lossless: exactly 0 or 255
    video.run_ffmpeg_writing(command, still)
    samples, _ = render_samples(still, brain_path, mode, folder)
    return metrics.level_dbfs(samples)


def load_part(video_path: Path, summary: render.RenderSummary, network: Brain,
              start_s: float | None, stop_s: float | None, with_truth: bool = True) -> Part:
    """The ranges of the video's slots (as many as its render decoded) to score, their
    pictures, and the true sound (None for a video without a sound track), all from the time
    zero the render found (no second probe)."""
    slots = summary.slots
    ranges, why = scored_ranges(network.training, video_path, slots, start_s, stop_s)
    truth = (audio.from_slots(audio.to_slots(audio.read_sound(video_path, summary.origin_s), slots))
             if with_truth else None)
    frames = decode_frames(network, video_path, summary.origin_s)
    return Part(video_path, slots, ranges, why, truth, [frames[a:b] for a, b in ranges])


def has_truth(videos: Sequence[Path]) -> bool:
    """Whether the videos have sound tracks to compare with (then every metric is scored)
    or none has (then only the response to the picture is). Refuses, before any work, a
    video without pictures and a set that mixes the two. Whether a video has the slots to
    score is checked once it is decoded (`load_part`): slot counts come from decoding only,
    never from the container's duration, which can disagree."""
    sounding = []
    for path in videos:
        info = video.probe(path)
        video.require_video(info)
        sounding.append(info.has_audio)
    if any(sounding) and not all(sounding):
        mute = videos[sounding.index(False)]
        raise UserError(f"{mute}: has no sound track while the other videos have one; "
                        "evaluate videos with sound and videos without separately")
    return all(sounding)


def decode_frames(network: Brain, video_path: Path, origin_s: float | None = None) -> np.ndarray:
    """All of a video's frames as the brain sees them, uint8 (slots, pixels), from time zero
    `origin_s` (probed when not given)."""
    batches = list(render.frame_stream(network, video_path, origin_s=origin_s))
    return np.concatenate(batches) if batches else np.zeros((0, network.pixels), np.uint8)


def scored_pictures(parts: Sequence[Part]) -> list[np.ndarray]:
    """The frames of every scored segment of a set, in the order of its segments."""
    return [pictures for part in parts for pictures in part.pictures]


def set_name(videos: Sequence[Path]) -> str:
    """A short name for a set: the video's stem, or the folder several videos share."""
    if len(videos) == 1:
        return videos[0].stem
    parents = {v.resolve().parent for v in videos}
    return parents.pop().name if len(parents) == 1 else f"{len(videos)} videos"


def render_set(videos: Sequence[Path], brain_path: Path, network: Brain,
               modes: Sequence[str], start_s: float | None, stop_s: float | None,
               folder: Path, with_truth: bool = True
               ) -> tuple[list[Part], dict[str, list[np.ndarray]], dict[str, float]]:
    """Render every video in every mode; returns the videos' parts, each mode's scored
    segments (all videos, in order), and each mode's speed: seconds of video rendered per
    second of render.py's wall time, start-up included (short clips make it look slower)."""
    parts: list[Part] = []
    renders: dict[str, list[np.ndarray]] = {mode: [] for mode in modes}
    rendered = {mode: 0.0 for mode in modes}
    taken = {mode: 0.0 for mode in modes}
    for path in videos:
        part = None
        for mode in modes:
            samples, summary = render_samples(path, brain_path, mode, folder)
            if part is None:  # the decoded length decides the slots, as it does for render
                part = load_part(path, summary, network, start_s, stop_s, with_truth)
                parts.append(part)
                log.info("evaluating %s on %s (%s)", brain_path, path, ", ".join(modes))
            renders[mode] += part.cut(samples)
            rendered[mode] += summary.seconds
            taken[mode] += summary.wall_seconds
    return parts, renders, {mode: rendered[mode] / max(taken[mode], 1e-9) for mode in modes}


def evaluate(videos: Sequence[str | Path], brain_path: str | Path,
             modes: Sequence[str] = (render.DEFAULT_MODE,),
             start_s: float | None = None, stop_s: float | None = None,
             train_frames: str | Path | None = None, train_audio: str | Path | None = None,
             with_baselines: bool = True, name: str | None = None) -> SetResult:
    """Score a brain's render of `videos` (default: the videos it held part of out) against
    their true sound, in each join mode, beside the baselines, on the same slots. Videos
    without a sound track get the one score that needs no truth: the render's response to
    the picture (`response`), and no baselines.

    Baselines need the brain's training rows (recorded paths or `train_frames` and
    `train_audio`); when they cannot be had the result says why in its notes and has no
    baseline rows. Block baselines (constant, retrieval) are joined like the first mode.
    """
    brain_path = Path(brain_path)
    network = render.load_brain(brain_path)
    if not videos:
        videos = held_out_videos(network.training)
        if not videos:
            raise UserError(f"{brain_path}: records no held-out videos; name the videos to evaluate")
    videos = [Path(v) for v in videos]
    with_truth = has_truth(videos)
    # Join modes only apply to PCM blocks; a spectral brain renders one way, whatever the mode.
    joins_apply = network.representation.joins
    brain_modes = list(modes) if joins_apply else list(modes[:1])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="evaluate.") as scratch:
        folder = Path(scratch)
        parts, renders, speeds = render_set(videos, brain_path, network, brain_modes, start_s, stop_s,
                                            folder, with_truth)
        truth = [segment for part in parts for segment in part.cut(part.truth)] if with_truth else []
        pictures = scored_pictures(parts)
        for mode in brain_modes:
            measured = score(renders[mode], truth) if with_truth else {}
            measured["silence_black_dbfs"] = silence_dbfs(brain_path, mode, "black", folder)
            measured["silence_white_dbfs"] = silence_dbfs(brain_path, mode, "white", folder)
            measured["speed_x_realtime"] = speeds[mode]
            measured.update(response(renders[mode], pictures))
            label = mode if joins_apply else network.representation.kind
            rows.append(Row(f"{brains.name_of(brain_path)} ({label})", "brain", measured,
                            renders[mode], mode if joins_apply else None))

    notes: list[str] = []
    origin = None
    if not with_truth:  # nothing to compare with: what the brain does with the picture
        notes.append("no sound track: only the response to the picture is scored")
        return SetResult(name or set_name(videos), brain_path, parts, rows, notes, origin)
    if with_baselines:
        try:
            data = load_training_data(network.training, network.pixels, train_frames, train_audio)
        except NoTrainingData as reason:  # a shipped brain's usual case, said in the notes only
            notes.append(f"{NO_BASELINES}: {reason}")
        except UserError as reason:  # data that is there but wrong: worth a warning
            notes.append(f"{NO_BASELINES}: the brain's training data could not be read")
            log.warning("%s: %s", NO_BASELINES, reason)
        else:
            origin = data.origin
            rows += baseline_rows(network, data, parts, modes[0], notes)
    rows.append(Row("truth", "truth", {**score(truth, truth), **response(truth, pictures)}, truth))
    return SetResult(name or set_name(videos), brain_path, parts, rows, notes, origin)


def baseline_rows(network: Brain, data: TrainingData, parts: Sequence[Part], mode: str,
                  notes: list[str]) -> list[Row]:
    """The baselines on the scored slots of `parts`, from the training rows of `data`:
    constant, clip-mean spectrum, retrieval, motion (the clip-mean spectrum with a loudness
    predicted from the pictures' motion energy by an affine fit on the training rows) and
    flow onsets (its onsets where the optical flow changes, threshold fitted on the training
    rows): the zero-learning references a model that follows the action must beat."""
    trained = np.flatnonzero(data.trained)
    if trained.size == 0:
        notes.append(f"{NO_BASELINES}: every training row is held out")
        return []
    rng = np.random.default_rng(BASELINE_SEED)
    flow_rng = np.random.default_rng(BASELINE_SEED + 1)  # its own: the others' noise stays as it was
    pixels = baselines.as_pixels(data.frames[trained])
    slope, intercept = motion_line(data, trained)
    flow_fit = flow_onset_fit(data)
    truth: list[np.ndarray] = []
    constant: list[np.ndarray] = []
    spectrum: list[np.ndarray] = []
    retrieval: list[np.ndarray] = []
    motion: list[np.ndarray] = []
    flow_onsets: list[np.ndarray] = []
    for part in parts:
        clip_rows = data.clip_rows(part.path)
        if clip_rows is None or clip_rows.size == 0:
            reason = "not a clip of the training set" if clip_rows is None else "all of its clip is held out"
            clip_rows = trained
            notes.append(f"{part.path.name}: {reason}; the clip-mean spectrum baseline uses the "
                         "mean spectrum of all training rows")
        elif part.why == "whole video":
            notes.append(f"{part.path.name}: the brain trained on all of this video: its scores "
                         "are on training data")
        power = baselines.mean_spectrum(audio.from_slots(data.audio[clip_rows]))
        for (start, stop), segment, pictures in zip(part.ranges, part.cut(part.truth), part.pictures):
            truth.append(segment)
            slots = stop - start
            constant.append(join.join_all(baselines.constant_blocks(data.audio[trained], slots), mode))
            spectrum.append(baselines.spectrum_noise(power, slots * grid.SAMPLES_PER_SLOT, rng))
            blocks = baselines.retrieval_blocks(pixels, data.audio[trained], pictures)
            retrieval.append(join.join_all(blocks, mode))
            predicted_db = loudness.predict_motion_loudness(loudness.motion_energy(pictures),
                                                            slope, intercept)
            noise = baselines.spectrum_noise(power, slots * grid.SAMPLES_PER_SLOT, rng)
            motion.append(baselines.shaped_to_loudness(noise, predicted_db))
            flow_db = baselines.flow_onset_loudness(flow.flow_change_strength(pictures), *flow_fit)
            noise = baselines.spectrum_noise(power, slots * grid.SAMPLES_PER_SLOT, flow_rng)
            flow_onsets.append(baselines.shaped_to_loudness(noise, flow_db))
    pictures = scored_pictures(parts)
    return [Row(model, "baseline", {**score(segments, truth), **response(segments, pictures)},
                segments, joined_by)
            for model, segments, joined_by in (("constant", constant, mode),
                                               ("clip-mean spectrum", spectrum, None),
                                               ("retrieval", retrieval, mode),
                                               ("motion", motion, None),
                                               ("flow onsets", flow_onsets, None))]


def flow_onset_fit(data: TrainingData) -> tuple[float, float, float]:
    """The flow-onset baseline's fit on the training rows only: its threshold (each
    contiguous run of training rows within a clip read on its own, pictures and sound) and
    the quiet and loud levels (10th and 95th percentiles of the training slots' loudness)."""
    starts = set(history.clip_starts_of(len(data.frames), [(c.first_row, c.slots) for c in data.clips]))
    runs, run_start = [], None
    for row in range(len(data.frames) + 1):
        inside = row < len(data.frames) and bool(data.trained[row])
        if run_start is not None and (not inside or row in starts):
            runs.append((run_start, row))
            run_start = None
        if inside and run_start is None:
            run_start = row
    strengths = [flow.flow_change_strength(data.frames[a:b]) for a, b in runs]
    true_onsets = [onsets.onset_slots(audio.from_slots(data.audio[a:b])) for a, b in runs]
    level = metrics.loudness_db(audio.from_slots(data.audio[np.flatnonzero(data.trained)]))
    return (baselines.fit_flow_threshold(strengths, true_onsets),
            float(np.percentile(level, 10)), float(np.percentile(level, 95)))


def motion_line(data: TrainingData, trained: np.ndarray) -> tuple[float, float]:
    """The motion baseline's fit: slot loudness (dB) against log motion energy, on the
    training rows (motion energy never reaches across a clip's start or a silence anchor)."""
    starts = history.clip_starts_of(len(data.frames), [(c.first_row, c.slots) for c in data.clips])
    energy = loudness.motion_energy(data.frames, starts)
    level = metrics.loudness_db(audio.from_slots(data.audio))
    return loudness.fit_motion_loudness(energy[trained], level[trained])
