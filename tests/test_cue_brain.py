"""A cue brain end to end: trained with theanet.py's defaults on the event benchmark's
training scene, it puts sounds on the impacts of scenes it never saw, and is silent where
nothing moves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bitmap2pcm.core import grid
from bitmap2pcm.data import patches
from bitmap2pcm.judge import identity
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.media import audio
from bitmap2pcm.render import stream
from bitmap2pcm.sound import bands, cues, library, onsets

from conftest import REPO, make_video, run_script

pytestmark = pytest.mark.slow  # every test here trains, renders or starts a process

EVENTS = REPO / "examples" / "events"
TOLERANCE_SLOTS = 2


@pytest.fixture(scope="module")
def cue_brain(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cue-brain")
    assert run_script("pickler.py", str(EVENTS / "train.mkv"), "-o", str(folder), "-q").returncode == 0
    trained = run_script("theanet.py", "-q", "--frames", str(folder / "frames.pkl"), "--audio",
                         str(folder / "audio.pkl"), "--save-every", "0", "-o", str(folder / "cues.pkl"))
    assert trained.returncode == 0, trained.stderr
    return folder / "cues.pkl"


def test_the_default_brain_is_a_cue_brain_with_its_library(cue_brain):
    network = stream.load_brain(cue_brain)
    assert network.layer_sizes == [patches.WIDTH, *patches.Patches.hidden_layers, cues.CUES]
    assert network.layout.name == patches.NAME and network.representation is cues.REPRESENTATION
    assert network.training["settings"]["optimizer"] == "adam"
    assert network.training["optimizer"] == "CD-k RBM pretraining, then Adam"
    examples = network.output["library"]
    assert len(examples["slot_start"]) <= library.DEFAULT_CAP_S * grid.SLOTS_PER_SECOND
    assert examples["onset"].any()
    # trained on one thing hitting at a time, each thing its own sound: the calibration keeps
    # a short list of the onsets nearest by looks (the whole list would be the bands alone)
    assert network.output["looks_shortlist"] in library.LOOKS_SHARES
    assert network.output["looks_shortlist"] < 1.0


def test_impacts_of_unseen_scenes_get_onsets_on_time(cue_brain, tmp_path):
    record = json.loads((EVENTS / "events.json").read_text())["files"]
    heard = impacts = on_time = rendered = 0
    for scene in ("test-1.mkv", "test-2.mkv"):
        stream.render(EVENTS / scene, tmp_path / "out.wav", cue_brain)
        samples, _ = audio.read_wav(tmp_path / "out.wav")
        true_slots = np.array([i["slot"] for i in record[scene]["impacts"]])
        found = onsets.onset_slots(samples)
        near = np.abs(found[:, None] - true_slots[None, :]) <= TOLERANCE_SLOTS
        heard, impacts = heard + near.any(axis=0).sum(), impacts + true_slots.size
        on_time, rendered = on_time + near.any(axis=1).sum(), rendered + found.size
    assert heard >= 0.5 * impacts, f"{heard} of {impacts} impacts heard"
    assert on_time >= 0.5 * rendered, f"{on_time} of {rendered} onsets on an impact"


def test_a_rendered_event_copies_the_sound_of_the_object_that_hit(cue_brain):
    """Each kind of object in the event scenes plays its own recording. On the unseen test
    scenes, the events that copy the onset whose looks are nearest (the synthesizer's choice,
    data/looks.py) copy a training impact of the kind that hit
    more often than copies chosen by the predicted bands alone, or drawn at random from the
    library's onsets (judge/identity.py)."""
    record = json.loads((EVENTS / "events.json").read_text())["files"]
    network = stream.load_brain(cue_brain)
    examples = network.output["library"]
    assert network.chooses_by_looks and examples["looks"].shape[0] == examples["onset"].sum()
    training = [(i["slot"], frozenset(i["sounds"])) for i in record["train.mkv"]["impacts"]]
    onset_rows = examples["rows"][examples["onset"]]
    by_sight, by_bands, by_chance = [], [], []
    for scene in ("test-1.mkv", "test-2.mkv"):
        frames = np.concatenate(list(stream.frame_stream(network, EVENTS / scene)))
        truth = [(i["slot"], frozenset(i["sounds"])) for i in record[scene]["impacts"]]
        sight = identity.sound_identity(identity.copied_slots(network, frames), truth, training, onset_rows)
        bands_only = cues.synthesizer_of(network.output, record=True)  # no looks: by the bands
        bands_only.push(*cues.decode(brains.forward(network, stream.whole_rows(network, frames))))
        copied = [(slot, int(examples["rows"][choice.entry])) for slot, choice in enumerate(bands_only.choices)
                  if choice.event and choice.gain > 0]
        band = identity.sound_identity(copied, truth, training, onset_rows)
        by_sight.append(sight.share * sight.events)
        by_bands.append(band.share * band.events)
        by_chance.append(sight.chance * sight.events)
    assert sum(by_sight) > max(sum(by_bands), sum(by_chance)), (by_sight, by_bands, by_chance)


def test_the_output_changes_when_only_the_next_frame_changes(cue_brain):
    network = brains.load(cue_brain)
    frames = np.zeros((12, 64 * 64), np.uint8)
    for t in range(12):  # a square falling 3 px a frame
        frames[t].reshape(64, 64)[10 + 3 * t:22 + 3 * t, 26:38] = 255
    other = frames.copy()
    other[7] = frames[6]  # it stops after slot 6
    a = brains.forward(network, stream.whole_rows(network, frames))
    b = brains.forward(network, stream.whole_rows(network, other))
    assert not np.allclose(a[6], b[6])
    assert np.array_equal(a[:3], b[:3])  # beyond the window, nothing changes


def test_nothing_moving_is_silent(cue_brain, tmp_path):
    still = make_video(tmp_path / "still.mkv", seconds=3.0, picture="lum:90", sound=None)
    stream.render(still, tmp_path / "still.wav", cue_brain)
    samples, _ = audio.read_wav(tmp_path / "still.wav")
    assert bands.loudness_db(samples).max() <= -40


def test_the_library_cap_is_an_option(tmp_path):
    folder = tmp_path
    assert run_script("pickler.py", str(EVENTS / "test-1.mkv"), "-o", str(folder), "-q").returncode == 0
    trained = run_script("theanet.py", "-q", "--epochs", "1", "--pretrain-epochs", "0",
                         "--library-seconds", "2", "-o", str(folder / "small.pkl"), cwd=folder)
    assert trained.returncode == 0, trained.stderr
    examples = stream.load_brain(folder / "small.pkl").output["library"]
    assert len(examples["slot_start"]) <= 2 * grid.SLOTS_PER_SECOND
    refused = run_script("theanet.py", "--library-seconds", "0", cwd=folder)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
