#!/usr/bin/env python3
"""Cut the event benchmark's recorded impact sounds from Debian's game data packages.

Each kind of object of `scenes.events` has its own recorded sound: a short excerpt of a
freely licensed recording, decoded to mono at the grid's sample rate, started at its attack,
faded out and peak-normalised, then stored here as FLAC. Nothing downloads at run time: the
excerpts are committed, and this script only says (and redoes) how they were made.

The recordings and cuts were chosen so that each excerpt, alone or overlapping another, at
any gain the benchmark uses, makes exactly one onset for `bitmap2pcm.judge.onsets.onset_slots`:
longer cuts, or a shorter fade, of some recordings (`thud.ogg` past 0.2 s or with a 40%
fade, SuperTux's `iceblock_bump.wav` and `wood.wav` at any length) have secondary rises that
count as extra onsets.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bitmap2pcm.core import cli, grid  # noqa: E402
from bitmap2pcm.core.files import atomic_path  # noqa: E402

HERE = Path(__file__).resolve().parent

# kind -> (Debian package, version used, path inside the package, longest excerpt in seconds)
SOURCES = {
    "ball": ("pingus-data", "0.7.6-5.1", "usr/share/games/pingus/data/sounds/plop2.wav", 0.5),
    "block": ("supertux-data", "0.6.3-2", "usr/share/games/supertux2/sounds/thud.ogg", 0.2),
    "ring": ("pingus-data", "0.7.6-5.1", "usr/share/games/pingus/data/sounds/chink.wav", 0.5),
}
ATTACK_FRACTION = 0.05  # the attack starts at the first sample above 5% of the peak
FADE_IN_S = 0.0005      # half a millisecond of fade-in: the cut itself never clicks
FADE_OUT_FRACTION = 0.6  # a raised-cosine fade over the last 60% of the excerpt, to exact zero
PEAK = 0.9              # excerpts are normalised to this peak (-0.9 dBFS)

EXAMPLES = """
  apt-get download pingus-data supertux-data
  for deb in *.deb; do dpkg -x "$deb" debs/; done
  python examples/sounds/cut_sounds.py debs/       # rewrites examples/sounds/*.flac
"""


def decode(path: Path) -> np.ndarray:
    """A recording as mono float64 at grid.RATE_HZ (ffmpeg's default resampler)."""
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1",
                          "-ar", str(grid.RATE_HZ), "-f", "f32le", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).astype(np.float64)


def excerpt(samples: np.ndarray, longest_s: float) -> np.ndarray:
    """The impact excerpt of a recording: DC removed, from its attack for at most
    `longest_s`, faded in and out, peak-normalised to PEAK. float32."""
    y = samples - samples.mean()
    attack = int(np.argmax(np.abs(y) >= ATTACK_FRACTION * np.abs(y).max()))
    cut = y[attack: attack + int(round(longest_s * grid.RATE_HZ))].copy()
    fade_in = max(1, int(round(FADE_IN_S * grid.RATE_HZ)))
    cut[:fade_in] *= np.arange(1, fade_in + 1) / fade_in
    fade_out = int(len(cut) * FADE_OUT_FRACTION)
    cut[-fade_out:] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, fade_out)))
    return (cut * (PEAK / np.abs(cut).max())).astype(np.float32)


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.parser("cut_sounds.py", "Cut the event benchmark's impact sounds from the "
                        "extracted Debian packages (dpkg -x) into examples/sounds/*.flac.", EXAMPLES)
    parser.add_argument("root", help="folder the .deb files were extracted into")
    parser.add_argument("-o", "--output", default=str(HERE), help="folder for the FLAC files")
    cli.add_quiet(parser)
    args = parser.parse_args(argv)
    cli.setup_logging(args.quiet)
    for kind, (package, version, inside, longest_s) in SOURCES.items():
        cut = excerpt(decode(Path(args.root) / inside), longest_s)
        destination = Path(args.output) / f"{kind}.flac"
        with atomic_path(destination, suffix=".flac") as temporary:
            soundfile.write(temporary, cut, grid.RATE_HZ, subtype="PCM_16", format="FLAC")
        cli.log.info("%s: %s %s %s, %.3f s", destination, package, version, Path(inside).name,
                     len(cut) / grid.RATE_HZ)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
