"""The input layouts a brain can see, by the name its input record says. A new layout is one
module and one line here."""

from __future__ import annotations

from typing import Any

from ..core.errors import UserError
from . import eigen, flow, frame, history, movement, patches
from .layout import InputLayout, Positions

LAYOUTS: dict[str, type[InputLayout]] = {
    layout.name: layout
    for layout in (frame.Frame, history.History, movement.Movement, eigen.EigenFrames, patches.Patches)
}
# theanet.py --input NAME: the layouts chosen by name alone (history and eigen-frames are
# chosen by their counts, --history K and --eigen-frames K)
CHOSEN_BY_NAME = tuple(name for name, layout in LAYOUTS.items() if layout.chosen_by_name)
DEFAULT = patches.NAME    # the recommended mode's
FAITHFUL = frame.NAME     # the 2015 network's
# Layouts of earlier versions that render no longer builds, and how to replace such a brain.
RETIRED = {"spacetime": "retrain it with theanet.py (the default input, patches), which sees the "
                        "motion around each slot in every patch of the picture",
           "flow": "retrain it with theanet.py (the default input, patches), which hears an event "
                   "wherever it happens and, unlike flow pooled over the picture, which object hit"}


def chosen(inputs: str, history_frames: int = 0, eigen_frames: int = 0,
           frames_ahead: int | None = None, inbetweens: str | None = None,
           steady_camera: bool = False) -> InputLayout:
    """The layout theanet.py's --input, --history K, --eigen-frames K, --frames-ahead N,
    --inbetweens HOW and --steady-camera ask for (unfitted)."""
    if inputs not in CHOSEN_BY_NAME:
        raise UserError(f"unknown input {inputs!r} (choose {', '.join(CHOSEN_BY_NAME)})")
    patch_options = [what for given, what in (
        (frames_ahead is not None, "--frames-ahead sets how far patch inputs look ahead; --input {} "
                                   "has its own window"),
        (inbetweens is not None, "--inbetweens sets how patch inputs fill held pictures; --input {} "
                                 "does not fill them"),
        (steady_camera, "--steady-camera steadies the patch inputs' frame steps; --input {} has none"),
    ) if given]
    if patch_options:
        if inputs != patches.NAME:
            raise UserError(patch_options[0].format(inputs)
                            + f": leave it out, or use --input {patches.NAME}")
        return patches.Patches(movement.LOOK if frames_ahead is None else frames_ahead,
                               flow.INBETWEENS[0] if inbetweens is None else inbetweens, steady_camera)
    if history_frames < 0:
        raise UserError(f"--history must be 0 or more, not {history_frames}")
    if (history_frames or eigen_frames) and inputs != frame.NAME:
        raise UserError(f"--{'history' if history_frames else 'eigen-frames'} shows the network "
                        f"the frame; --input {inputs} shows it something else: choose one")
    if history_frames and eigen_frames:
        raise UserError("--eigen-frames replaces the frame's pixels, --history adds its "
                        "differences: choose one")
    if history_frames:
        return history.History(history_frames)
    if eigen_frames:
        return eigen.EigenFrames(eigen_frames)
    return LAYOUTS[inputs]()


def of_input(record: dict[str, Any], pixels: int, source: str) -> InputLayout:
    """The layout a brain's input record says, for frames of `pixels` values; UserError when
    this version cannot build its rows."""
    name = record.get("layout", frame.NAME)
    if name == frame.NAME and eigen.KEY in record:  # earlier eigen-frame brains said "frame"
        name = eigen.NAME
    if name in RETIRED:
        raise UserError(f"{source}: brain sees the {name!r} input, which this version no longer "
                        f"builds: {RETIRED[name]}")
    if name not in LAYOUTS:
        raise UserError(f"{source}: brain's input layout {name!r} is unknown (render knows "
                        f"{', '.join(repr(known) for known in LAYOUTS)})")
    return LAYOUTS[name].from_convention(record, pixels, source)


def positions_of(record: dict[str, Any]) -> Positions | None:
    """The places a brain's first layer is shared across, by its input record (None: a plain
    first layer, also for a layout this version does not know, which `of_input` refuses)."""
    layout = LAYOUTS.get(record.get("layout", frame.NAME)) if isinstance(record, dict) else None
    return layout.positions() if layout is not None else None
