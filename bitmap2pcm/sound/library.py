"""Example-based synthesis: the sound of a cue brain is copied from real training sound.

Owens et al. (Visually Indicated Sounds, CVPR 2016) predict sound features from the pictures
and then copy the sound of the training example whose features match best, so that what is
heard is real sound with the predicted timing. Here the examples are slots of the training
sound track, kept in the brain as an *example library* (`build`), capped in size
(`DEFAULT_CAP_S` seconds of 16-bit sound); every library entry is one slot with its cues
(`cues`: mel bands, loudness in dBFS, onset or not), stored in runs of consecutive slots so
that an entry knows which entry continues it in the recording.

Synthesis (`Synthesizer`, streaming) takes the predicted cues of each slot (`cues.decode`):

1. an event starts where the onset probability rises to or above the brain's threshold,
   at least MIN_GAP_SLOTS after the last one, once it has fallen below the threshold since
   the last event (`EventPicker`; the threshold calibrated in training on validation rows:
   the events that best match the true onsets);
2. an event slot copies, of the onset entries whose *looks* are nearest the slot's
   (data/looks.py: the spectrum of the patch where the picture changes most, kept for every
   onset entry; the share nearest by cosine that the brain calibrated on its own onsets,
   `shortlist_calibration`), the one whose band *shape*
   (the bands less their mean: the gain sets the level) is nearest the prediction, with a
   penalty for a level far from the predicted one, at the loudness the network predicts if
   the slot sounds, its impact (`event_peaks`) at most LEVEL_COST_DB louder than that; then
   the recording plays out as it was recorded, the following entries
   at the same gain (an impact keeps its real decay), until its run ends, it falls silent,
   the next event comes or, once EVENT_PEAK_SLOTS slots after the event's own have played,
   the network predicts silence (until then, a slot's predicted loudness is often silence
   while the impact sounds; after them, a recording that rises after its onset, a tone or a
   voice, would play on at the onset's gain through the pictures' silence: the synthetic
   example's shapes sounded on through the black between them, loudness r 0.01,
   docs/evaluation.md). A brain that kept no looks (trained before them) chooses by the
   bands among all its onset entries. The sound identity (the share of events that copy
   the recording of the thing that hit) of an eight-minute brain on ten unseen event
   scenes, and of a brain of `scenes.bounce`'s rain on five unseen rain scenes: by the
   bands 0.63 and 0.70, by the looks alone 0.90 and 0.46 (chance 0.48: the looks find the
   wrong place where many things move), by the bands among the quarter nearest by looks
   0.75 and 0.72, among the share each brain calibrated (0.02 and 0.5) 0.89 and 0.81
   (docs/evaluation.md, "Timbre chosen by what is seen");
3. any other slot copies the nearest entry without an onset, at the predicted loudness
   (predicted silence is silence; gain limited to GAIN_RANGE_DB); when the entry that
   continues the previous slot's costs at most CONTINUITY_COST more than the best, it is
   taken, so a steady sound plays on as recorded rather than jumping between copies;
4. every entry contributes its slot and `overlap.LEAD` samples either side under the
   periodic Hann window of `overlap.FRAME` samples, whose copies 735 apart sum to one. So
   the sound of a slot is a crossfade of two gained library segments, and consecutive
   entries of one run at one gain give back the recording itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..core import grid
from ..core.errors import UserError
from ..data import looks as looks_of
from . import bands, cues, framing, onsets, overlap

DEFAULT_CAP_S = 120.0          # 5.3 MB of 16-bit sound: two minutes of examples per brain
RUN_SLOTS = grid.SLOTS_PER_SECOND  # the library is cut into runs of 1 s of consecutive slots
MARGIN = overlap.LEAD          # 367 samples kept before each run (368 after): the crossfades
SILENCE_DB = -70.0             # a slot predicted quieter than this is silent
GAIN_RANGE_DB = (-60.0, 24.0)  # an entry is never boosted by more than 24 dB
EVENT_PEAK_SLOTS = 3           # an event's impact: its copy's first slots
LEVEL_COST_DB = 20.0           # a level 20 dB from the prediction costs as much as ...
LEVEL_WEIGHT = 0.01            # ... a band shape 0.1 units (8 dB) off in every band
CONTINUITY_COST = 0.005        # how much worse the recording's own next slot may match
LOOKS_SHORTLIST = 0.25         # events choose by the bands among this share of onsets, nearest by looks
LOOKS_SHARES = (0.0, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)  # the shares calibration tries (0: the nearest alone)
LOOKS_APART_SLOTS = RUN_SLOTS  # in calibration an onset copies onsets at least a second from it
MIN_GAP_SLOTS = 3              # events at least 100 ms apart (as the judge's onsets)
_SCALE = 32767.0


def build(audio_rows: np.ndarray, cue_rows: np.ndarray, usable: np.ndarray,
          segments: list[tuple[int, int]], cap_s: float = DEFAULT_CAP_S,
          looks: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
    """The example library of a training set.

    `audio_rows` (n, 735) on the [0, 1] scale and their `cue_rows` (n, CUES) (`cues.unit_targets`);
    `usable` the rows it may copy (never the held-out ones); `segments` the clips' row
    ranges (all rows are one clip when there are none). Runs of RUN_SLOTS consecutive usable
    rows of one clip are the candidates; when they hold more than `cap_s` seconds, the runs
    with onsets come first (events are rare and the ones worth copying), then runs evenly
    spaced over the rest. `looks(rows)`, the looks of the rows' slots (data/looks.py), are
    kept for every onset entry, with how they were made: what events are chosen by.
    """
    if cap_s <= 0:
        raise UserError(f"the example library needs a cap above 0 seconds, not {cap_s:g}")
    allowed = np.zeros(len(audio_rows), bool)
    allowed[np.asarray(usable, np.int64)] = True
    runs = []
    # the clips only: rows outside them (silence anchors) hold no sound worth a place
    for first, stop in segments or [(0, len(audio_rows))]:
        row = first
        while row < stop:
            if not allowed[row]:
                row += 1
                continue
            end = row
            while end < stop and end - row < RUN_SLOTS and allowed[end]:
                end += 1
            runs.append((row, end, first, stop))
            row = end
    chosen = _within_cap(runs, cue_rows, int(cap_s * grid.SLOTS_PER_SECOND))
    pieces, starts, follows, rows = [], [], [], []
    offset = 0
    for row, end, first, stop in chosen:
        before = _margin(audio_rows, allowed, row - 1, first, -1)
        after = _margin(audio_rows, allowed, end, stop, +1)
        body = grid.unit_to_pcm(audio_rows[row:end].astype(np.float64)).reshape(-1)
        pieces.append(np.concatenate([before, body, after]))
        starts.extend(offset + MARGIN + grid.SAMPLES_PER_SLOT * np.arange(end - row))
        follows.extend([True] * (end - row - 1) + [False])
        rows.extend(range(row, end))
        offset += pieces[-1].size
    pcm = np.concatenate(pieces) if pieces else np.zeros(0)
    rows_array = np.asarray(rows, np.int64)
    library = {
        "pcm": np.round(np.clip(pcm, -1.0, 1.0) * _SCALE).astype(np.int16),
        "slot_start": np.asarray(starts, np.int64),
        "follows": np.asarray(follows, bool),
        "rows": rows_array,
        "cap_s": float(cap_s),
        "rate_hz": grid.RATE_HZ,
    }
    library.update(_features(library, cue_rows[rows_array] if rows else np.zeros((0, cues.CUES))))
    if looks is not None:
        library["looks"] = np.asarray(looks(rows_array[library["onset"]]), np.float32)
        library["looks_made"] = looks_of.convention()
    return library


def has_looks(library: Any) -> bool:
    """Whether a (checked) library chooses its events by looks."""
    return isinstance(library, dict) and "looks" in library


def _within_cap(runs: list[tuple[int, int, int, int]], cue_rows: np.ndarray,
                cap_slots: int) -> list[tuple[int, int, int, int]]:
    """The runs to keep, in their original order: all if they fit under `cap_slots`, else
    those with onsets first, then evenly spaced others, never more than `cap_slots` slots."""
    if sum(end - row for row, end, *_ in runs) <= cap_slots:
        return runs
    with_onsets = [i for i, (row, end, *_) in enumerate(runs) if cue_rows[row:end, cues.ONSET].any()]
    onset_runs = set(with_onsets)
    others = [i for i in range(len(runs)) if i not in onset_runs]
    keep, slots = [], 0
    half = cap_slots // 2  # onset runs may take half the library: the rest is steady sound
    for i in with_onsets[:: max(1, -(-len(with_onsets) * RUN_SLOTS // max(half, 1)))]:
        if slots + runs[i][1] - runs[i][0] <= half:
            keep.append(i)
            slots += runs[i][1] - runs[i][0]
    room = max(0, (cap_slots - slots) // RUN_SLOTS)
    if others and room:
        picks = np.unique(np.linspace(0, len(others) - 1, min(room, len(others))).round().astype(int))
        for i in (others[p] for p in picks):
            if slots + runs[i][1] - runs[i][0] <= cap_slots:
                keep.append(i)
                slots += runs[i][1] - runs[i][0]
    return [runs[i] for i in sorted(keep)]


def _margin(audio_rows: np.ndarray, allowed: np.ndarray, row: int, limit: int, step: int) -> np.ndarray:
    """The MARGIN samples beside a run, from the neighbouring row when it is usable and in
    the same clip (a held-out slot lends no sound), else silence."""
    size = MARGIN if step < 0 else overlap.FRAME - grid.SAMPLES_PER_SLOT - MARGIN
    inside = row >= limit if step < 0 else row < limit
    if not inside or not allowed[row]:
        return np.zeros(size)
    samples = grid.unit_to_pcm(audio_rows[row].astype(np.float64))
    return samples[-size:] if step < 0 else samples[:size]


def _features(library: dict[str, Any], cue_rows: np.ndarray) -> dict[str, np.ndarray]:
    """What matching needs of every entry: its band shape, its level (dBFS, of the stored
    16-bit samples), whether it holds an onset."""
    band = np.asarray(cue_rows[:, :cues.BANDS], np.float64)
    segments = _segments(library, np.arange(len(library["slot_start"])))
    slots = segments[:, MARGIN:MARGIN + grid.SAMPLES_PER_SLOT]
    return {"shape": (band - band.mean(axis=1, keepdims=True)).astype(np.float32),
            "level_db": bands.to_db(np.mean(slots ** 2, axis=1)).astype(np.float32),
            "onset": np.asarray(cue_rows[:, cues.ONSET] > 0.5, bool)}


def _segments(library: dict[str, Any], entries: np.ndarray) -> np.ndarray:
    """The (len(entries), FRAME) samples of entries: each slot with MARGIN samples before."""
    index = library["slot_start"][entries, None] - MARGIN + np.arange(overlap.FRAME)[None, :]
    return library["pcm"][index].astype(np.float64) / _SCALE


def check(library: Any, source: str) -> dict[str, Any]:
    """A loaded brain's library must be whole: refuse one that would index out of its sound."""
    keys = ("pcm", "slot_start", "follows", "shape", "level_db", "onset")
    if not isinstance(library, dict) or any(not isinstance(library.get(k), np.ndarray) for k in keys):
        raise UserError(f"{source}: the brain's example library is missing or incomplete; "
                        "retrain it with theanet.py")
    entries = len(library["slot_start"])
    if entries == 0:
        raise UserError(f"{source}: the brain's example library is empty (its training sound "
                        "had no usable slot); retrain it on data with sound")
    starts = library["slot_start"]
    if (starts.min() < MARGIN or starts.max() + overlap.FRAME - MARGIN > len(library["pcm"])
            or any(len(library[k]) != entries for k in keys[2:])
            or library["shape"].shape[1:] != (cues.BANDS,)
            or ("looks" in library and not _looks_fit(library["looks"], int(library["onset"].sum())))):
        raise UserError(f"{source}: the brain's example library is inconsistent; retrain it")
    if "looks" in library and library.get("looks_made") != looks_of.convention():
        raise UserError(f"{source}: the brain's example library keeps looks made otherwise than "
                        "this version makes them; retrain it with theanet.py")
    return library


def _looks_fit(looks: Any, onset_entries: int) -> bool:
    return (isinstance(looks, np.ndarray) and looks.shape == (onset_entries, looks_of.WIDTH)
            and bool(np.isfinite(looks).all()))


def size_bytes(library: dict[str, Any]) -> int:
    return sum(v.nbytes for v in library.values() if isinstance(v, np.ndarray))


def event_peaks(library: dict[str, Any]) -> np.ndarray:
    """Each entry's loudest level (dBFS) of its slot and the next EVENT_PEAK_SLOTS - 1 of its
    run: the impact an event that copies it plays. An onset is often found a slot before
    its impact's loudest slot (a quarter of the event family's onset slots are 22 dB or
    more below the next two); brought to the predicted loudness by that quiet slot, the
    impact played up to GAIN_RANGE_DB too loud where a short list left no choice of level
    (docs/evaluation.md, "How loud an event plays")."""
    level = library["level_db"].astype(np.float64)
    follows = library["follows"].astype(bool)
    count = len(level)
    peak, reaches = level.copy(), np.ones(count, bool)
    for ahead in range(1, EVENT_PEAK_SLOTS):
        reaches[:count - ahead] &= follows[ahead - 1:count - 1]
        reaches[count - ahead:] = False
        later = np.full(count, -np.inf)
        later[:count - ahead] = level[ahead:]
        peak = np.maximum(peak, np.where(reaches, later, -np.inf))
    return peak


@dataclass
class Choice:
    """What the synthesizer made of one slot: the library entry copied, the gain applied to
    it (0 for silence) and whether the slot started an event."""

    entry: int
    gain: float
    event: bool


class EventPicker:
    """Which slots start an event, from a stream of onset probabilities: the probability
    rises (above the slot before) to `threshold` or more, at least MIN_GAP_SLOTS after the
    last event, once it has fallen below the threshold since (a rise the gap holds back
    fires at the next rise). The synthesizer and the calibration (`onset_calibration`) both
    use it.

    In dense scenes (bench/cross_scenes' rain, impacts a few slots apart) the probability
    can stay above the threshold between impacts, and a run of them gets one event.
    Re-arming on any fall of the probability gave each its event and lost on sparse scenes
    and Planet Blupi's cutscenes; a least fall calibrated with the threshold was chosen by
    neither brain trained on event scenes and, where Planet Blupi's and FreeCol's brains
    chose one, left their onsets at chance (docs/evaluation.md): both retired."""

    def __init__(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self._previous: float | None = None
        self._armed = False
        self._since_event = MIN_GAP_SLOTS

    def push(self, probability: np.ndarray) -> np.ndarray:
        events = np.zeros(len(probability), bool)
        for t, p in enumerate(probability):
            if self._previous is None:  # a sound already playing at the start is no event
                self._previous = p
            self._since_event += 1  # slots from the last event to this one
            self._armed = self._armed or p < self.threshold
            events[t] = (self._armed and p >= self.threshold and p > self._previous
                         and self._since_event >= MIN_GAP_SLOTS)
            if events[t]:
                self._armed, self._since_event = False, 0
            self._previous = p
        return events


def onset_calibration(runs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The onset threshold (`EventPicker`) whose events best match the true onsets, over
    `runs` of consecutive slots (each: onset probabilities, true onset flags) that training
    did not fit: the best onset F1 within onsets.TOLERANCE_SLOTS, pooled over the runs, on a
    grid of thresholds 0.05 apart; of equals, the one making the number of events nearest the
    true onsets', then the lower. Matching the count alone would take the lowest threshold
    whenever each onset is a ramp of probability, and an event starts where its ramp begins,
    before the sound. With no true onset at all, 1.0: a probability never rises above it."""
    wanted = sum(int(np.sum(truth)) for _, truth in runs)
    if wanted == 0:
        return 1.0
    truths = [np.flatnonzero(truth) for _, truth in runs]
    best: tuple[float, int, float] | None = None
    for threshold in np.round(np.arange(0.05, 1.0, 0.05), 2):
        events = [np.flatnonzero(EventPicker(threshold).push(probability)) for probability, _ in runs]
        made = sum(len(e) for e in events)
        key = (-onsets.pooled_f1(truths, events), abs(made - wanted), float(threshold))
        best = key if best is None or key < best else best
    return best[2]


def band_costs(shape: np.ndarray, level_db: np.ndarray, band: np.ndarray,
               loudness_db: np.ndarray, shape_norm: np.ndarray | None = None) -> np.ndarray:
    """Cost of every entry (band `shape`s (entries, BANDS), `level_db` (entries,)) for every
    slot's predicted `band` (n, BANDS) and `loudness_db` (n,): (n, entries), the mean
    squared difference of band shapes plus LEVEL_WEIGHT per LEVEL_COST_DB of level
    difference, squared. `shape_norm`, the shapes' squared norms, when the caller keeps
    them: live pushes one slot at a time, and they would cost as much as the product."""
    shape = np.asarray(shape, np.float64)
    if shape_norm is None:
        shape_norm = (shape ** 2).sum(axis=1)
    band = np.asarray(band, np.float64)
    predicted = band - band.mean(axis=1, keepdims=True)
    distance = ((predicted ** 2).sum(axis=1)[:, None] + shape_norm[None, :]
                - 2.0 * predicted @ shape.T) / cues.BANDS
    level = ((np.asarray(loudness_db, np.float64)[:, None] - np.asarray(level_db, np.float64)[None, :])
             / LEVEL_COST_DB) ** 2
    return np.maximum(distance, 0.0) + LEVEL_WEIGHT * level


def shortlisted(similarity: np.ndarray, costs: np.ndarray, share: float) -> np.ndarray:
    """For each row (an event), the column of `costs` chosen among the `share` of columns
    (at least one) of highest `similarity`: its cheapest (the choice of `Synthesizer`)."""
    size = max(1, int(round(share * similarity.shape[1])))
    shortlist = np.argpartition(-similarity, size - 1, axis=1)[:, :size]
    cheapest = np.argmin(np.take_along_axis(costs, shortlist, axis=1), axis=1)
    return np.take_along_axis(shortlist, cheapest[:, None], axis=1)[:, 0]


def shortlist_calibration(library: dict[str, Any], band: np.ndarray, sounding_db: np.ndarray) -> float:
    """The share of onset entries, nearest by looks, that events choose among by the bands
    (`Synthesizer.event_entries`), calibrated on the library's own onsets: each stands in
    for an event to come, with its looks and the network's prediction at its row (`band`,
    `sounding_db`: one row per onset entry, in order), and copies, as render would, one of
    the onsets at least LOOKS_APART_SLOTS from it; the share whose copies' band shapes are
    nearest the onsets' own (the median over the onsets of the mean squared difference) is
    taken, of equals the larger. Where each thing's looks tell its sound (the event family,
    one recording per object) the nearest looks win; where many things move at once the
    looks find the wrong one and the bands must choose (docs/evaluation.md). The
    predictions are on rows the network was fitted on, better than on a new video's, so
    the bands weigh more here than they will in render."""
    onset_entries = np.flatnonzero(library["onset"])
    rows = library["rows"][onset_entries]
    shape = library["shape"][onset_entries].astype(np.float64)
    similarity = np.asarray(library["looks"], np.float64) @ np.asarray(library["looks"], np.float64).T
    costs = band_costs(shape, library["level_db"][onset_entries], band, sounding_db)
    apart = np.abs(rows[:, None] - rows[None, :]) >= LOOKS_APART_SLOTS
    # each onset's own candidates (their number differs), sliced once for every share
    queries = [(query, candidates, similarity[query, candidates][None, :], costs[query, candidates][None, :])
               for query in range(len(onset_entries)) if len(candidates := np.flatnonzero(apart[query]))]
    if not queries:
        return LOOKS_SHORTLIST
    best: tuple[float, float] | None = None
    for share in LOOKS_SHARES:
        misfit = [np.mean((shape[candidates[shortlisted(alike, cost, share)[0]]] - shape[query]) ** 2)
                  for query, candidates, alike, cost in queries]
        key = (float(np.median(misfit)), -share)
        best = key if best is None or key < best else best
    return -best[1]


class Synthesizer:
    """Streaming example-based synthesis: `push` the cues of a batch of slots (`cues.decode`:
    band units (n, BANDS), loudness and loudness-if-it-sounds in dBFS (n,), onset probability
    (n,)), get samples back; `finish` ends
    the sound. Exactly 735 samples per slot in all, float32 in [-1, 1]. `choices` records
    every slot's `Choice` when `record` is set (tests and the listening page read it)."""

    def __init__(self, library: dict[str, Any], onset_threshold: float, record: bool = False,
                 looks_shortlist: float = LOOKS_SHORTLIST) -> None:
        self.library = library
        self._shape = library["shape"].astype(np.float64)
        self._shape_norm = (self._shape ** 2).sum(axis=1)
        self._level = library["level_db"].astype(np.float64)
        self._peak = event_peaks(library)
        self._onset = library["onset"].astype(bool)
        self._follows = library["follows"].astype(bool)
        # an event with no onset entry to copy falls back to any entry, and so on
        self._for_event = self._onset if self._onset.any() else np.ones_like(self._onset)
        self._for_steady = ~self._onset if (~self._onset).any() else np.ones_like(self._onset)
        self._looks = library.get("looks")  # unit rows, one per onset entry (build)
        self._looks_shortlist = float(looks_shortlist)
        self._onset_entries = np.flatnonzero(self._onset)
        self._overlap_add = framing.OverlapAdd(overlap.HANN, overlap.HANN, overlap.HOP, overlap.LEAD)
        self._events = EventPicker(onset_threshold)
        self._previous_entry = -1
        self._playing = False  # an event's recording is playing out
        self._since_event = EVENT_PEAK_SLOTS  # slots played since the last event's own
        self._gain_now = 0.0
        self.choices: list[Choice] | None = [] if record else None

    def costs(self, band: np.ndarray, loudness_db: np.ndarray) -> np.ndarray:
        """Cost of every entry for every slot (n, entries): `band_costs`."""
        return band_costs(self._shape, self._level, band, loudness_db, self._shape_norm)

    def event_entries(self, band: np.ndarray, sounding_db: np.ndarray,
                      looks: np.ndarray | None) -> np.ndarray:
        """The entry each event slot copies: of the onset entries whose looks are nearest the
        slot's (the brain's calibrated share of them, `shortlist_calibration`, by cosine: the
        rows are unit vectors), the one of the best band shape and level; without `looks`,
        or for a brain that kept none, the best of all onset entries."""
        costs = self.costs(band, np.asarray(sounding_db, np.float64))
        if looks is None or self._looks is None or not len(self._looks):
            return np.argmin(np.where(self._for_event[None, :], costs, np.inf), axis=1)
        similarity = np.asarray(looks, np.float32) @ self._looks.T  # (events, onset entries)
        return self._onset_entries[shortlisted(similarity, costs[:, self._onset_entries],
                                               self._looks_shortlist)]

    def push(self, band: np.ndarray, loudness_db: np.ndarray, sounding_db: np.ndarray,
             onset_probability: np.ndarray, looks: np.ndarray | None = None) -> np.ndarray:
        """`looks`: each slot's looks (data/looks.py), for a library that keeps them."""
        band = np.asarray(band, np.float64)
        n = len(band)
        if n == 0:
            return np.zeros(0, np.float32)
        events = self._events.push(np.asarray(onset_probability, np.float64))
        steady_cost = self.costs(band, np.asarray(loudness_db, np.float64))
        # events are rare: chosen only for their slots, in slot order
        event_entries = iter(self.event_entries(band[events], np.asarray(sounding_db)[events],
                                                None if looks is None else np.asarray(looks)[events]))
        entries = np.empty(n, np.int64)
        gains = np.zeros(n)
        for t, event in enumerate(events):
            previous = self._previous_entry
            continues = previous >= 0 and self._follows[previous]
            if event:
                entry = int(next(event_entries))
                # the impact at most LEVEL_COST_DB above the prediction: the level error
                # the choice itself weighs against a band shape 8 dB off
                gain = min(self._gain(sounding_db[t], entry),
                           self._gain(sounding_db[t] + LEVEL_COST_DB, entry, self._peak))
            elif (self._playing and continues and self._level[previous + 1] > SILENCE_DB
                  and (self._since_event < EVENT_PEAK_SLOTS or loudness_db[t] > SILENCE_DB)):
                entry, gain = previous + 1, self._gain_now  # the event's recording plays out
            else:
                row = np.where(self._for_steady, steady_cost[t], np.inf)
                entry = int(np.argmin(row))
                if continues and row[previous + 1] <= row[entry] + CONTINUITY_COST:
                    entry = previous + 1
                gain = self._gain(loudness_db[t], entry)
            self._playing = bool(event or (self._playing and entry == previous + 1))
            self._since_event = 0 if event else self._since_event + 1
            entries[t], gains[t] = entry, gain
            self._previous_entry, self._gain_now = entry, gain
            if self.choices is not None:
                self.choices.append(Choice(entry, float(gain), bool(event)))
        frames = _segments(self.library, entries) * gains[:, None]
        return framing.clamp(self._overlap_add.push(frames))

    def _gain(self, loudness_db: float, entry: int, levels: np.ndarray | None = None) -> float:
        """The gain that brings `entry`, at its level in `levels` (its own slot's by
        default), to `loudness_db` (within GAIN_RANGE_DB); 0 for silence."""
        if loudness_db <= SILENCE_DB:
            return 0.0
        level = (self._level if levels is None else levels)[entry]
        return float(10.0 ** (np.clip(loudness_db - level, *GAIN_RANGE_DB) / 20.0))

    def finish(self) -> np.ndarray:
        return framing.clamp(self._overlap_add.finish())

