#!/usr/bin/env python3
"""Generate the synthetic "seeing a sound" example video (deterministic for a seed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitmap2pcm.core import cli  # noqa: E402
from scenes import synth  # noqa: E402

EXAMPLES = """
  python examples/make_synthetic.py                          # examples/synthetic.mkv, 60 s
  python examples/make_synthetic.py -o long.mkv --seconds 600 --seed 7
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.parser("make_synthetic.py",
                        "Shapes that flash and move, each with its own tone: shape -> timbre, "
                        "height -> pitch, size -> loudness, black -> silence.", EXAMPLES)
    parser.add_argument("-o", "--output", default=str(Path(__file__).parent / "synthetic.mkv"))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    cli.add_quiet(parser)
    args = parser.parse_args(argv)
    cli.setup_logging(args.quiet)
    path = synth.write_video(args.output, args.seconds, args.seed)
    cli.log.info("wrote %s (%.0f s, seed %d)", path, args.seconds, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
