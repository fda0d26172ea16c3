"""Sound cues, the example library and example-based synthesis, against known signals."""

from __future__ import annotations

import numpy as np
import pytest

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import looks
from bitmap2pcm.sound import bands, cues, library, onsets, overlap

W = grid.SAMPLES_PER_SLOT


def clicks(slots: int, at: list[int], level: float = 0.5, seed: int = 0) -> np.ndarray:
    """Silence with a decaying noise burst starting at each slot of `at`."""
    rng = np.random.default_rng(seed)
    y = np.zeros(slots * W)
    decay = np.exp(-np.arange(4 * W) / (0.6 * W))
    for slot in at:
        burst = level * rng.standard_normal(4 * W) * decay
        y[slot * W:slot * W + burst.size] += burst[: y.size - slot * W]
    return np.clip(y, -1, 1)


def test_targets_read_a_block_at_a_time_are_the_whole_sound_s(monkeypatch):
    sound = clicks(200, [0, 3, 40, 41, 97, 150, 198], seed=2)
    sound += 0.01 * np.sin(np.arange(sound.size) * 0.05)  # a steady tone under the clicks
    whole = cues.of_pcm(sound)
    assert whole[:, cues.ONSET].sum() >= 4
    for block in (1, 7, 60):
        monkeypatch.setattr(cues, "BLOCK_SLOTS", block)
        np.testing.assert_array_equal(cues.of_pcm(sound), whole)


def test_loudness_classes_are_mu_law_and_decode_near_their_level():
    rms = np.array([0.0, 1e-5, 1e-3, 1e-2, 0.1, 0.5, 1.0])
    classes = cues.loudness_class(rms)
    assert classes[0] == 0 and classes[-1] == cues.LOUDNESS_CLASSES - 1
    assert np.all(np.diff(classes) >= 0)
    # loud classes are narrow: a class centre is within 1 dB of any level in it above -40 dBFS
    for level in (0.01, 0.05, 0.3, 0.9):
        assert abs(cues.class_db(cues.loudness_class(np.array([level])))[0] - 20 * np.log10(level)) < 1.5
    assert cues.class_db(np.array([0]))[0] == bands.FLOOR_DB


def test_cue_rows_of_known_sounds():
    silent = cues.of_pcm(np.zeros(10 * W))
    assert silent.shape == (10, cues.CUES)
    assert np.all(silent[:, :cues.BANDS] == 0) and np.all(silent[:, cues.BANDS] == 1)
    assert silent[:, cues.ONSET].sum() == 0
    rows = cues.of_pcm(clicks(90, [20, 60]))
    assert np.flatnonzero(rows[:, cues.ONSET]).tolist() in ([19, 59], [20, 60])  # lands up to a slot early
    assert np.all(rows[:, cues.LOUDNESS].sum(axis=1) == 1)  # one class per slot
    loud = np.argmax(rows[:, cues.LOUDNESS], axis=1)
    assert loud[21] > loud[40] and loud[40] == 0


def test_decode_takes_the_median_class_and_the_onset_probability():
    outputs = np.full((2, cues.CUES), -30.0)
    outputs[:, :cues.BANDS] = 0.4
    outputs[0, cues.BANDS + 0] = np.log(0.7)   # silent 70%, the rest spread over loud classes
    outputs[0, cues.BANDS + 40:cues.BANDS + 43] = np.log(0.1)
    outputs[1, cues.BANDS + 0] = np.log(0.25)  # the mode, but three quarters are loud
    outputs[1, cues.BANDS + 40:cues.BANDS + 47] = np.log(0.75 / 7)
    outputs[:, cues.ONSET] = [0.0, 3.0]
    band, loudness, sounding, onset = cues.decode(outputs)
    assert np.allclose(band, 0.4)
    assert loudness[0] == bands.FLOOR_DB                      # more than half silent
    assert loudness[1] == pytest.approx(cues.class_db(np.array([42]))[0])  # median, not the mode 0
    assert sounding[0] == pytest.approx(cues.class_db(np.array([41]))[0])  # silence left out
    assert onset == pytest.approx([0.5, 1 / (1 + np.exp(-3))])


def test_prior_outputs_predict_the_class_frequencies():
    targets = cues.of_pcm(clicks(120, [10, 50, 90]))
    prior = cues.prior_outputs(targets.mean(axis=0))
    logits = prior[cues.LOUDNESS]
    softmax = np.exp(logits) / np.exp(logits).sum()
    seen = targets[:, cues.LOUDNESS].mean(axis=0) > 0
    assert softmax[seen] == pytest.approx(targets[:, cues.LOUDNESS].mean(axis=0)[seen], rel=0.01)
    assert 1 / (1 + np.exp(-prior[cues.ONSET])) == pytest.approx(targets[:, cues.ONSET].mean(), rel=0.01)


# --- the library -------------------------------------------------------------------------------

def library_of(pcm: np.ndarray, cap_s: float = library.DEFAULT_CAP_S, usable=None, segments=None):
    rows = grid.pcm_to_unit(pcm.reshape(-1, W)).astype(np.float32)
    targets = cues.unit_targets(rows, segments or [(0, len(rows))])
    usable = np.arange(len(rows)) if usable is None else usable
    return library.build(rows, targets, usable, segments or [(0, len(rows))], cap_s), targets


def test_library_respects_its_cap_and_keeps_the_onsets_first():
    sound = clicks(600, list(range(15, 600, 40)))  # 20 s, an onset every 1.3 s
    examples, _ = library_of(sound, cap_s=4.0)
    assert len(examples["slot_start"]) <= 4 * grid.SLOTS_PER_SECOND
    runs = 1 + int(np.sum(~examples["follows"][:-1]))
    assert examples["pcm"].size <= 4 * grid.RATE_HZ + runs * (overlap.FRAME - W)
    assert examples["onset"].sum() >= 2  # onset runs come first, up to half the cap
    whole, _ = library_of(sound)
    assert len(whole["slot_start"]) == 600  # under the cap: everything


def test_library_never_copies_held_out_rows():
    sound = clicks(120, [10, 100])
    examples, _ = library_of(sound, usable=np.arange(90))
    assert examples["rows"].max() < 90
    assert not np.any(np.isin(examples["rows"], np.arange(90, 120)))
    # its last run's margin after the slot is silence, not the held-out slot's sound
    last = examples["slot_start"][-1] + W
    assert np.all(examples["pcm"][last:] == 0)


def test_a_library_cap_of_zero_is_refused():
    with pytest.raises(UserError, match="cap"):
        library_of(clicks(30, [5]), cap_s=0.0)


# --- synthesis ---------------------------------------------------------------------------------

def _own_cues(examples, entries):
    """Predictions that ask exactly for the given entries: their band shape and level."""
    band = examples["shape"][entries].astype(np.float64) + 0.5
    level = examples["level_db"][entries].astype(np.float64)
    return band, level, level, np.zeros(len(entries))


def test_asking_for_the_recording_in_order_gives_the_recording_back():
    sound = 0.3 * np.sin(2 * np.pi * 440 * np.arange(60 * W) / grid.RATE_HZ) * (1 + 0.5 * np.sin(np.arange(60 * W) / 3000))
    examples, _ = library_of(sound)
    synthesizer = library.Synthesizer(examples, onset_threshold=0.5, record=True)
    entries = np.arange(10, 40)
    out = np.concatenate([synthesizer.push(*_own_cues(examples, entries)), synthesizer.finish()])
    assert [c.entry for c in synthesizer.choices] == entries.tolist()
    assert out.size == entries.size * W
    truth = sound[10 * W:40 * W]
    inner = slice(W, -W)  # the first and last half-frames fade in and out
    assert np.max(np.abs(out[inner] - truth[inner])) < 2e-4  # 16-bit rounding


def test_every_slot_is_a_crossfade_of_two_gained_library_segments():
    rng = np.random.default_rng(1)
    examples, _ = library_of(clicks(300, list(range(7, 300, 23)), seed=2))
    n = 50
    band = rng.uniform(0, 0.6, (n, cues.BANDS))
    loudness = rng.uniform(-60, -10, n)
    probability = rng.uniform(0, 1, n)
    synthesizer = library.Synthesizer(examples, onset_threshold=0.7, record=True)
    out = np.concatenate([synthesizer.push(band[:20], loudness[:20], loudness[:20], probability[:20]),
                          synthesizer.push(band[20:], loudness[20:], loudness[20:], probability[20:]),
                          synthesizer.finish()])
    choices = synthesizer.choices
    assert len(choices) == n and any(c.event for c in choices)
    assert all(examples["onset"][c.entry] == c.event for c in choices if c.gain > 0 and c.event)
    segments = examples["pcm"][examples["slot_start"][[c.entry for c in choices], None] - overlap.LEAD
                               + np.arange(overlap.FRAME)] / 32767.0
    gained = segments * np.array([c.gain for c in choices])[:, None] * overlap.HANN
    expected = np.zeros((n + 1) * W + overlap.FRAME)
    for t in range(n):
        expected[t * W:t * W + overlap.FRAME] += gained[t]
    expected = expected[overlap.LEAD:overlap.LEAD + n * W]
    inner = slice(W, -W)
    assert np.max(np.abs(out[inner] - np.clip(expected[inner], -1, 1))) < 1e-5


def test_an_event_copies_an_onset_and_plays_its_recording_out():
    examples, _ = library_of(clicks(300, list(range(10, 300, 45)), seed=3))
    n = 40
    band = np.full((n, cues.BANDS), 0.3)
    loudness = np.full(n, bands.FLOOR_DB)   # silent unless an event sounds
    sounding = np.full(n, -20.0)
    probability = np.zeros(n)
    probability[12] = 0.9
    synthesizer = library.Synthesizer(examples, onset_threshold=0.5, record=True)
    out = np.concatenate([synthesizer.push(band, loudness, sounding, probability), synthesizer.finish()])
    choices = synthesizer.choices
    assert [t for t, c in enumerate(choices) if c.event] == [12]
    assert examples["onset"][choices[12].entry]
    assert choices[13].entry == choices[12].entry + 1 and choices[13].gain == choices[12].gain
    level = bands.loudness_db(out)
    assert np.all(level[:11] == bands.FLOOR_DB)         # nothing before the event
    assert level[12:14].max() > -30                      # the impact sounds ...
    assert level[14] > level[20] or level[20] == bands.FLOOR_DB  # ... and decays as recorded


def test_a_tone_an_event_starts_plays_on_while_the_network_hears_sound_and_stops_when_it_does_not():
    # tones that swell in over two slots and hold for a second, each after 20 slots of silence
    # (the synthetic example's shapes): copied from its quiet first slot, a tone plays on at
    # that slot's gain, loud, until the network predicts silence, once the EVENT_PEAK_SLOTS
    # slots after the event's have played
    t = np.arange(50 * W) / grid.RATE_HZ
    slot_s = W / grid.RATE_HZ
    swell = np.clip(np.minimum(t / (2 * slot_s), (1.0 - t) / (5 * slot_s)), 0.0, 1.0)  # no onset as it fades
    tone = 0.3 * np.sin(2 * np.pi * 330 * t) * swell
    sound = np.concatenate([np.zeros(20 * W), tone] * 4)
    examples, _ = library_of(sound)
    start = int(np.flatnonzero(examples["onset"])[0])  # a tone's first slot (its onset's)
    assert examples["level_db"][start + 3:start + 25].min() > -20  # and its loud second
    band = np.repeat(examples["shape"][start:start + 1].astype(np.float64) + 0.5, 60, axis=0)
    n = 60
    sounding = np.full(n, -30.0)  # an event: its impact (the tone's first slots) at most 20 dB above
    loudness = np.full(n, bands.FLOOR_DB)
    loudness[10:20] = -13.0   # the network hears the shape for ten slots, then nothing
    probability = np.zeros(n)
    probability[10] = 0.9

    def rendered(loudness):
        """(the choices, each slot's level) of one synthesizer given these predictions."""
        synthesizer = library.Synthesizer(examples, onset_threshold=0.5, record=True)
        out = np.concatenate([synthesizer.push(band, loudness, sounding, probability),
                              synthesizer.finish()])
        return synthesizer.choices, bands.loudness_db(out)

    choices, level = rendered(loudness)
    assert choices[10].entry == start and all(choices[t].entry == choices[10].entry + t - 10 for t in range(10, 20))
    assert np.all(level[12:19] > -30)                    # the tone sounds while it is heard ...
    assert np.all(level[21:] == bands.FLOOR_DB)          # ... and not through the silence after
    # the EVENT_PEAK_SLOTS slots after the event's play even where the loudness predicted is silence
    loudness[11:20] = bands.FLOOR_DB
    _, level = rendered(loudness)
    assert np.all(level[11:11 + library.EVENT_PEAK_SLOTS] > -30)
    assert np.all(level[12 + library.EVENT_PEAK_SLOTS:] == bands.FLOOR_DB)


def test_an_events_impact_plays_at_most_the_choices_level_tolerance_above_the_prediction():
    # each entry's impact: the loudest of its first EVENT_PEAK_SLOTS slots in its run
    examples = {"level_db": np.array([-12.0, -40, -12, -40, -60, -10, -40]),
                "follows": np.array([True, False, True, False, True, True, False])}
    assert list(library.event_peaks(examples)) == [-12, -40, -12, -40, -10, -10, -40]
    alone = dict(examples, follows=np.zeros(7, bool))  # runs that end at once: no look further
    assert list(library.event_peaks(alone)) == list(alone["level_db"])
    # clicks whose onsets are found a slot before the burst (their own slot silent): brought
    # to the prediction by that slot, the burst would play at the gain limit
    examples, _ = library_of(clicks(300, list(range(10, 300, 45)), seed=3))
    onset = np.flatnonzero(examples["onset"])
    assert np.all(examples["level_db"][onset] < library.SILENCE_DB)
    n = 40
    sounding = np.full(n, -40.0)
    probability = np.zeros(n)
    probability[12] = 0.9
    synthesizer = library.Synthesizer(examples, onset_threshold=0.5, record=True)
    out = np.concatenate([synthesizer.push(np.full((n, cues.BANDS), 0.3), np.full(n, bands.FLOOR_DB),
                                           sounding, probability), synthesizer.finish()])
    assert synthesizer.choices[12].event
    impact_db = bands.loudness_db(out)[12:12 + library.EVENT_PEAK_SLOTS].max()
    assert impact_db <= -40.0 + library.LEVEL_COST_DB + 1.0
    assert impact_db > -40.0  # still heard, above the prediction for its silent first slot


def test_an_event_copies_of_the_onsets_that_looked_alike_the_one_that_sounds_alike():
    sound = clicks(300, list(range(10, 300, 15)), seed=3)
    rows = grid.pcm_to_unit(sound.reshape(-1, W)).astype(np.float32)
    random_looks = np.random.default_rng(4).uniform(0, 1, (len(rows), looks.WIDTH)).astype(np.float32)
    unit_looks = random_looks / np.linalg.norm(random_looks, axis=1, keepdims=True)  # as looks.looks gives them
    examples = library.build(rows, cues.unit_targets(rows, [(0, len(rows))]), np.arange(len(rows)),
                             [(0, len(rows))], looks=lambda asked: unit_looks[asked])
    onset_entries = np.flatnonzero(examples["onset"])
    assert len(onset_entries) >= 8 and examples["looks"].shape == (len(onset_entries), looks.WIDTH)
    assert library.check(examples, "test") is examples and library.has_looks(examples)
    n = 20
    probability = np.zeros(n)
    probability[12] = 0.9

    def event_copy(bands_of: int, looks_of: int | None) -> int:
        """The entry the event copies when the bands predicted are entry `bands_of`'s and the
        slot looks like entry `looks_of`."""
        band = np.tile(0.5 + examples["shape"][bands_of], (n, 1))
        level = np.full(n, float(examples["level_db"][bands_of]))
        synthesizer = library.Synthesizer(examples, onset_threshold=0.5, record=True)
        seen = None
        if looks_of is not None:
            seen = np.random.default_rng(5).uniform(0, 1, (n, looks.WIDTH)).astype(np.float32)
            seen[12] = unit_looks[examples["rows"][looks_of]]
        synthesizer.push(band, level, level, probability, looks=seen)
        assert synthesizer.choices[12].event
        return synthesizer.choices[12].entry

    similarity = examples["looks"] @ examples["looks"].T
    for entry in onset_entries:
        # sounds and looks like this entry: copied; without looks, the bands alone find it
        assert event_copy(entry, entry) == entry and event_copy(entry, None) == entry
        # looks like this entry, sounds like the onset that looks least like it: the looks'
        # shortlist never holds that one
        alike = similarity[list(onset_entries).index(entry)]
        unlike, next_alike = onset_entries[np.argmin(alike)], onset_entries[np.argsort(-alike)[1]]
        assert event_copy(unlike, None) == unlike and event_copy(unlike, entry) != unlike
        # ... and sounds like the onset that looks next most alike: the bands choose it
        assert event_copy(next_alike, entry) == next_alike
    for broken in (dict(examples, looks=examples["looks"][1:]),
                   dict(examples, looks=examples["looks"][:, 1:])):
        with pytest.raises(UserError, match="inconsistent"):
            library.check(broken, "test")
    with pytest.raises(UserError, match="looks made otherwise"):
        library.check(dict(examples, looks_made=dict(examples["looks_made"], patch_radius_px=3)), "test")


def test_threshold_calibration_matches_the_onsets():
    probability = np.zeros(200)
    for at in (20, 80, 140):
        probability[at:at + 3] = [0.4, 0.8, 0.5]
    probability[50] = 0.3  # a weaker bump, not an onset
    truth = np.zeros(200, bool)
    truth[[21, 81, 141]] = True
    threshold = library.onset_calibration([(probability, truth)])
    assert 0.3 < threshold <= 0.8
    assert library.EventPicker(threshold).push(probability).sum() == 3
    assert library.onset_calibration([(probability, np.zeros(200, bool))]) == 1.0


def test_an_event_needs_a_fall_below_the_threshold_and_a_rise_the_gap_holds_back_fires_later():
    # 0: a sound already playing at the start is no event; 4: too soon after 2
    # (MIN_GAP_SLOTS), fires at the next rise (5); 7: a rise that never fell below is none
    probability = np.array([0.9, 0.2, 0.9, 0.3, 0.8, 0.9, 0.6, 0.95, 0.2, 0.1, 0.1, 0.1, 0.9])
    events = list(np.flatnonzero(library.EventPicker(0.5).push(probability)))
    assert events == [2, 5, 12]
    picker = library.EventPicker(0.5)  # the same stream in pieces: the same events
    pieces = [picker.push(probability[:3]), picker.push(probability[3:6]), picker.push(probability[6:])]
    assert list(np.flatnonzero(np.concatenate(pieces))) == events


def tones(onsets_at: list[int], objects: list[int], slots: int, seed: int = 0) -> np.ndarray:
    """A decaying tone at each slot of `onsets_at`, near the object's own pitch."""
    rng = np.random.default_rng(seed)
    t = np.arange(4 * W) / grid.RATE_HZ
    y = np.zeros(slots * W)
    for slot, thing in zip(onsets_at, objects):
        pitch_hz = (300.0, 1500.0, 5000.0)[thing] * rng.uniform(0.95, 1.05)
        y[slot * W:slot * W + t.size] += 0.5 * np.sin(2 * np.pi * pitch_hz * t) * np.exp(-t / 0.03)
    return y


@pytest.mark.parametrize("looks_tell", [True, False])
def test_the_shortlist_is_calibrated_on_what_tells_an_onsets_sound(looks_tell):
    # three things, each its own pitch; an onset every 40 slots. Where the looks tell which
    # thing hit and the predicted bands do not, the nearest looks alone choose well; where
    # the looks are noise and the bands are right, the bands must choose among many
    at = list(range(10, 1000, 40))
    objects = list(np.random.default_rng(1).permutation(np.arange(len(at)) % 3))
    rows = grid.pcm_to_unit(tones(at, objects, 1010).reshape(-1, W)).astype(np.float32)
    rng = np.random.default_rng(2)
    thing_looks = rng.uniform(0, 1, (3, looks.WIDTH))
    row_looks = rng.uniform(0, 1, (len(rows), looks.WIDTH))
    thing_of_row = np.full(len(rows), -1)
    for slot, thing in zip(at, objects):
        thing_of_row[slot - 2:slot + 3] = thing  # the onset is found up to 2 slots early
        if looks_tell:
            row_looks[slot - 2:slot + 3] = thing_looks[thing] + 0.1 * rng.uniform(0, 1, looks.WIDTH)
    row_looks /= np.linalg.norm(row_looks, axis=1, keepdims=True)
    targets = cues.unit_targets(rows, [(0, len(rows))])
    examples = library.build(rows, targets, np.arange(len(rows)), [(0, len(rows))],
                             looks=lambda asked: row_looks[asked].astype(np.float32))
    onset_rows = examples["rows"][examples["onset"]]
    assert len(onset_rows) >= 20 and set(thing_of_row[onset_rows]) == {0, 1, 2}
    if looks_tell:  # the network predicts the same middling bands for every onset
        band = np.full((len(onset_rows), cues.BANDS), 0.5)
    else:
        band = targets[onset_rows, :cues.BANDS]
    share = library.shortlist_calibration(examples, band, examples["level_db"][examples["onset"]])
    assert share in library.LOOKS_SHARES
    assert share <= 0.1 if looks_tell else share >= 0.5


def test_threshold_calibration_puts_events_on_time_when_the_probability_ramps_up():
    # each onset's probability rises over four slots before it: the lowest threshold that
    # makes three events would start each one four slots early
    probability = np.zeros(200)
    truth = np.zeros(200, bool)
    for at in (20, 80, 140):
        probability[at - 4:at + 2] = [0.1, 0.2, 0.3, 0.4, 0.9, 0.5]
        truth[at] = True
    events = np.flatnonzero(library.EventPicker(library.onset_calibration([(probability, truth)])).push(probability))
    assert len(events) == 3 and np.all(np.abs(events - [20, 80, 140]) <= onsets.TOLERANCE_SLOTS)
