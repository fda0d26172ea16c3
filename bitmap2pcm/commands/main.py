"""`bitmap2pcm`, the installed command (also `python -m bitmap2pcm`): one subcommand per step.

Each subcommand is the same command as a script of the checkout, with the same arguments,
help, outputs and exit codes; only the program name differs. A subcommand's module is imported
only when it runs, so `bitmap2pcm --help` is quick and each command sets up what it needs
before numpy loads (render's single BLAS thread).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Sequence

from .. import __version__
from ..core import cli

PROG = "bitmap2pcm"


# name -> (module, line in `bitmap2pcm --help`)
SUBCOMMANDS = {
    "pickle": ("pickle", "videos with sound -> training pairs (frames.pkl, audio.pkl)"),
    "train": ("train", "training pairs -> a brain (theanet.py.net.pkl)"),
    "render": ("render", "a video and a brain -> the video with the brain's sound (2 MKVs)"),
    "evaluate": ("evaluate", "how close a brain's sound comes to a video's real sound"),
    "live": ("live", "a camera, the screen, a stream or a file -> the brain's sound, as it happens"),
}

DESCRIPTION = f"""\
Learn the sound of a video from its pictures: train a brain on videos with sound,
then give other videos the sound it imagines.

commands:
{chr(10).join(f"  {name:9s} {summary}" for name, (_, summary) in SUBCOMMANDS.items())}

Each is the same command as a script of a checkout (pickler.py, theanet.py, render.sh,
evaluate.py, live.py): same options, outputs and exit codes; COMMAND --help shows them.
The shipped brains come with the package: render uses the default one unless --brain is
given, and --brain NAME names any of them."""

EXAMPLES = f"""
  {PROG} pickle my-video.mp4                    # 1. training pairs, here
  {PROG} train                                  # 2. a brain: theanet.py.net.pkl
  {PROG} render --brain theanet.py.net.pkl x.mp4  # 3. x.mp4 with its sound
  {PROG} render x.mp4                           # with the default shipped brain
  {PROG} render --brain shallow x.mp4           # with another, by its name
  {PROG} train --help                           # a command's options, examples
"""


def parser() -> argparse.ArgumentParser:
    top = cli.parser(PROG, DESCRIPTION, EXAMPLES)
    top.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    top.add_argument("command", choices=SUBCOMMANDS, metavar="COMMAND",
                     help="one of " + ", ".join(SUBCOMMANDS))
    top.add_argument("arguments", nargs=argparse.REMAINDER, metavar="...",
                     help="the command's arguments")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)  # --help, --version and usage errors leave here
    module, _ = SUBCOMMANDS[args.command]
    command = importlib.import_module(f"{__package__}.{module}").COMMAND
    door = cli.Door(f"{PROG} {args.command}", f"{PROG} {args.command}")
    return command.main(args.arguments, door)
