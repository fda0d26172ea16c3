"""The sound representations a brain can predict (theanet.py --target), by name and by the
kind its output record names. A new representation is one module and one line here."""

from __future__ import annotations

from typing import Any

from ..core.errors import UserError
from . import cues, overlap, pcm, spectral
from .representation import Representation

REPRESENTATIONS: dict[str, Representation] = {
    representation.name: representation
    for representation in (pcm.REPRESENTATION, spectral.REPRESENTATION, overlap.REPRESENTATION,
                           cues.REPRESENTATION)
}
NAMES = tuple(REPRESENTATIONS)
DEFAULT = cues.REPRESENTATION.name  # the recommended mode's
FAITHFUL = pcm.REPRESENTATION.name  # the 2015 network's


def named(name: str) -> Representation:
    """The representation theanet.py --target `name` asks for."""
    try:
        return REPRESENTATIONS[name]
    except KeyError:
        raise UserError(f"unknown target {name!r} (choose {', '.join(NAMES)})") from None


def of_output(output: dict[str, Any], source: str) -> Representation:
    """The representation a brain's output record says, checked (UserError when this version
    cannot render it)."""
    for representation in REPRESENTATIONS.values():
        if output.get("kind") == representation.kind:
            representation.check(output, source)
            return representation
    kinds = ", ".join(f"'{r.kind}' ({r.what})" for r in REPRESENTATIONS.values())
    raise UserError(f"{source}: brain predicts {output.get('kind')!r} outputs; render reads {kinds}")


def by_outputs(units: int) -> str | None:
    """The target a last layer of `units` implies (theanet.py --layers), if only one fits:
    735 is the original's PCM."""
    fitting = [r.name for r in REPRESENTATIONS.values() if r.outputs == units]
    return fitting[0] if len(fitting) == 1 else None
