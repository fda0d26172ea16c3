"""Memory (learn/memory.py): the output layer reads the top hidden layer over the past second.

The features are causal means over spans that double going back, forget at a clip's start,
come out the same however a stream is batched, and a brain that has them renders the same in
a stream as whole; trained on flashes whose tone rings on after the picture is still again,
a brain with memory sounds the ring where one without it cannot know it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.core.files import save_pickle
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.learn import memory
from bitmap2pcm.media import encode
from bitmap2pcm.render import stream
from bitmap2pcm.sound import cues

from conftest import run_script


def test_spans_double_going_back_until_they_reach_the_seconds() -> None:
    assert memory.spans_for(0) == []
    assert memory.spans_for(1.0) == [(0, 0), (1, 1), (2, 3), (4, 7), (8, 15), (16, 31)]
    assert memory.reach_of(memory.spans_for(1.0)) == 31
    assert memory.reach_of(memory.spans_for(2.0)) >= 60


def test_each_span_is_the_mean_of_the_slots_it_covers_and_none_after() -> None:
    hidden = np.random.default_rng(0).random((50, 3)).astype(np.float32)
    spans = memory.spans_for(0.5)
    remembered = memory.features(hidden, spans)
    t = 40
    for index, (nearest, farthest) in enumerate(spans):
        expected = hidden[t - farthest:t - nearest + 1].mean(axis=0)
        np.testing.assert_allclose(remembered[t, 3 * index:3 * index + 3], expected, rtol=1e-5)
    # causal: changing the future changes nothing before it
    later = hidden.copy()
    later[t + 1:] = 0
    np.testing.assert_array_equal(memory.features(later, spans)[:t + 1], remembered[:t + 1])


def test_a_clip_remembers_nothing_of_the_one_before() -> None:
    hidden = np.random.default_rng(1).random((30, 2)).astype(np.float32)
    spans = memory.spans_for(1.0)
    remembered = memory.features(hidden, spans, clip_starts=[0, 12])
    np.testing.assert_allclose(remembered[12], np.tile(hidden[12], len(spans)), rtol=1e-6)
    np.testing.assert_allclose(remembered[12:], memory.features(hidden[12:], spans), rtol=1e-6)


@pytest.mark.parametrize("sizes", [[7], [1, 2, 3, 50, 1], [64, 3]])
def test_a_stream_gives_the_same_features_however_it_is_batched(sizes: list[int]) -> None:
    hidden = np.random.default_rng(2).random((sum(sizes), 4)).astype(np.float32)
    spans = memory.spans_for(1.0)
    kept = memory.MemoryStream(spans)
    parts, start = [], 0
    for size in sizes:
        parts.append(kept.push(hidden[start:start + size]))
        start += size
    np.testing.assert_allclose(np.concatenate(parts), memory.features(hidden, spans), rtol=1e-5, atol=1e-6)


def small_brain(spans: list[tuple[int, int]] | None) -> brains.Brain:
    rng = np.random.default_rng(3)
    hidden_w, hidden_b = rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)
    out_w = rng.normal(size=(5, 4)).astype(np.float32)
    if spans:
        out_w = memory.initial_output_layer(out_w, spans)
        out_w[5:] = rng.normal(size=(len(out_w) - 5, 4))
    return brains.make_brain([hidden_w, out_w], [hidden_b, np.zeros(4, np.float32)], ["sigmoid", "linear"],
                             {}, input_units=6, memory=memory.record(spans) if spans else None)


def test_a_brain_with_memory_streams_as_it_runs_whole(tmp_path: Path) -> None:
    network = small_brain(memory.spans_for(1.0))
    brains.save(network, tmp_path / "b.pkl")
    loaded = brains.load(tmp_path / "b.pkl")
    assert loaded.memory_spans == memory.spans_for(1.0)
    rows = np.random.default_rng(4).random((80, 6)).astype(np.float32)
    outputs = brains.OutputStream(loaded)
    streamed = np.concatenate([outputs.push(rows[:13]), outputs.push(rows[13:14]), outputs.push(rows[14:])])
    np.testing.assert_allclose(streamed, brains.forward(loaded, rows), rtol=1e-5, atol=1e-5)
    # two clips side by side: the second starts as if alone
    both = brains.clip_outputs(loaded, np.concatenate([rows, rows]), [0, 80])
    np.testing.assert_allclose(both[80:], both[:80], rtol=1e-5, atol=1e-5)


def test_the_memory_starts_from_the_memoryless_output_layer() -> None:
    spans = memory.spans_for(1.0)
    plain = small_brain(None)
    start = brains.make_brain([plain.weights[0], memory.initial_output_layer(plain.weights[1], spans)],
                              plain.biases, plain.activations, {}, input_units=6,
                              memory=memory.record(spans))
    rows = np.random.default_rng(5).random((40, 6)).astype(np.float32)
    np.testing.assert_allclose(brains.forward(start, rows), brains.forward(plain, rows), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("record", [{"spans": "all"}, {"spans": []}, {"spans": [[3, 1]]}, {}])
def test_a_malformed_memory_record_is_refused_in_one_line(tmp_path: Path, record: dict) -> None:
    network = small_brain(memory.spans_for(1.0))
    written = network.to_record()
    written["memory"] = record
    save_pickle(written, tmp_path / "bad.pkl")
    with pytest.raises(UserError, match="memory"):
        brains.load(tmp_path / "bad.pkl")


def test_weights_that_do_not_read_the_memory_are_refused(tmp_path: Path) -> None:
    written = small_brain(None).to_record()
    written["memory"] = memory.record(memory.spans_for(1.0))
    save_pickle(written, tmp_path / "bad.pkl")
    with pytest.raises(UserError, match="layer 1 weights"):
        brains.load(tmp_path / "bad.pkl")


# --- trained: a ring the picture no longer shows ----------------------------------------------

RING_SLOTS = 20        # the tone rings this long after each flash
SILENT_DBFS = -60.0


def flashes(seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A gray picture where a bright square flashes for one frame at a random place every
    1.5-2.5 s, and a tone that starts with the flash and rings for RING_SLOTS slots: (pictures
    (slots, 64, 64) uint8, sound, flash slots). After its first frames the ring has nothing
    to see."""
    rng = np.random.default_rng(seed)
    slots = int(seconds * grid.SLOTS_PER_SECOND)
    pictures = np.full((slots, 64, 64), 90, np.uint8)
    sound = np.zeros(slots * grid.SAMPLES_PER_SLOT, np.float32)
    ring = RING_SLOTS * grid.SAMPLES_PER_SLOT
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * np.arange(ring) / grid.RATE_HZ).astype(np.float32)
    at, flashed = int(rng.integers(10, 40)), []
    while at + RING_SLOTS < slots:
        y, x = rng.integers(4, 44, size=2)
        pictures[at, y:y + 16, x:x + 16] = 250
        sound[at * grid.SAMPLES_PER_SLOT:at * grid.SAMPLES_PER_SLOT + ring] = tone
        flashed.append(at)
        at += int(rng.integers(45, 75))
    return pictures, sound, flashed


@pytest.fixture(scope="module")
def flash_brains(tmp_path_factory) -> dict[float, Path]:
    """Cue brains trained on 60 s of flashes, with a second of memory and without."""
    folder = tmp_path_factory.mktemp("flashes")
    pictures, sound, _ = flashes(60.0, seed=0)
    video = encode.write_mkv(folder / "flashes.mkv", pictures, sound)
    assert run_script("pickler.py", str(video), "-o", str(folder), "-q").returncode == 0
    trained = {}
    for seconds in (1.0, 0.0):
        out = folder / f"memory-{seconds:g}.pkl"
        done = run_script("theanet.py", "-q", "--frames", str(folder / "frames.pkl"), "--audio",
                          str(folder / "audio.pkl"), "--save-every", "0", "--epochs", "60",
                          "--memory-seconds", str(seconds), "-o", str(out))
        assert done.returncode == 0, done.stderr
        trained[seconds] = out
    return trained


@pytest.mark.slow
def test_memory_hears_the_ring_the_picture_no_longer_shows(flash_brains, tmp_path) -> None:
    """The network's own loudness: the render's sound of an event plays its recording out
    whatever the network says next, so it is the prediction that shows the memory."""
    pictures, sound, flashed = flashes(30.0, seed=1)
    video = encode.write_mkv(tmp_path / "new.mkv", pictures, sound)
    # the ring's later slots: the patch window (three frames either side) no longer sees the flash
    tail = np.concatenate([np.arange(at + 6, at + RING_SLOTS - 2) for at in flashed])
    loud_share = {}
    for seconds, brain in flash_brains.items():
        network = stream.load_brain(brain)
        frames = np.concatenate(list(stream.frame_stream(network, video)))
        loudness_db = cues.decode(brains.forward(network, stream.whole_rows(network, frames)))[1]
        loud_share[seconds] = float((loudness_db[tail] > SILENT_DBFS).mean())
    assert brains.load(flash_brains[1.0]).memory is not None and brains.load(flash_brains[0.0]).memory is None
    assert loud_share[1.0] >= 0.5, loud_share
    assert loud_share[1.0] >= loud_share[0.0] + 0.4, loud_share
