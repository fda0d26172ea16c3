"""Sound identity: does a rendered event copy the sound of the thing that hit?

On scenes where each object has its own recording (scenes/bounce.py, the event benchmark),
every impact is known with the recordings it plays. A cue brain renders an event by copying
one entry of its example library, a slot of its training sound (sound/library.py). The event
has the right identity when that slot plays a training impact (within TOLERANCE_SLOTS) of a
recording that the true impact it renders (the nearest within TOLERANCE_SLOTS) plays too.

    identity = events of the right recording / events on a true impact

Its chance level is the identity of copies drawn at random from the library's onset entries:
for each event, the share of those entries that play its impact's recording, averaged over
the events. An identity at chance says the timbre is not chosen by what is seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..learn import brain as brains
from ..learn.brain import Brain
from ..render import stream
from ..sound import cues
from ..sound.onsets import TOLERANCE_SLOTS

Impacts = Sequence[tuple[int, frozenset[str]]]  # (slot, the recordings it plays)


@dataclass(frozen=True)
class Identity:
    share: float      # of the events on a true impact, those copying its recording (nan: none)
    chance: float     # the same for copies drawn at random from the onset entries
    events: int       # events on a true impact


def copied_slots(network: Brain, frames: np.ndarray) -> list[tuple[int, int]]:
    """(event slot, training row it copied) of every event a cue brain renders for the uint8
    `frames` of one video, as render would make them."""
    synthesizer = cues.synthesizer_of(network.output, record=True)
    outputs = brains.OutputStream(network)
    for rows, seen in stream.slot_batches(network, [frames], network.chooses_by_looks):
        synthesizer.push(*cues.decode(outputs.push(rows)), looks=seen)
    rows = network.output["library"]["rows"]
    return [(slot, int(rows[choice.entry])) for slot, choice in enumerate(synthesizer.choices or [])
            if choice.event and choice.gain > 0]


def _recordings_near(slot: int, impacts: Impacts, tolerance_slots: int) -> frozenset[str]:
    return frozenset().union(*(sounds for at, sounds in impacts if abs(at - slot) <= tolerance_slots))


def _nearest(slot: int, impacts: Impacts, tolerance_slots: int) -> frozenset[str] | None:
    near = [(abs(at - slot), at, sounds) for at, sounds in impacts if abs(at - slot) <= tolerance_slots]
    return min(near)[2] if near else None


def sound_identity(copied: Sequence[tuple[int, int]], true_impacts: Impacts, training_impacts: Impacts,
                   onset_rows: np.ndarray, tolerance_slots: int = TOLERANCE_SLOTS) -> Identity:
    """The identity of `copied` events ((slot, training row copied), `copied_slots`) against
    the scene's `true_impacts`, the copied rows read by `training_impacts`; `onset_rows` are
    the training rows of the library's onset entries (the chance level's draws)."""
    heard = [_recordings_near(int(row), training_impacts, tolerance_slots) for row in onset_rows]
    right = chances = events = 0.0
    for slot, row in copied:
        truth = _nearest(slot, true_impacts, tolerance_slots)
        if truth is None:
            continue
        events += 1
        right += bool(truth & _recordings_near(row, training_impacts, tolerance_slots))
        chances += np.mean([bool(truth & sounds) for sounds in heard]) if heard else 0.0
    if not events:
        return Identity(float("nan"), float("nan"), 0)
    return Identity(right / events, chances / events, int(events))
