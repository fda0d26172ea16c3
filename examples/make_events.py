#!/usr/bin/env python3
"""Generate the event benchmark: scenes where impacts cause sounds and distractors make none."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitmap2pcm.core import cli  # noqa: E402
from scenes.events import benchmark  # noqa: E402

HERE = Path(__file__).resolve().parent

EXAMPLES = """
  python examples/make_events.py          # examples/events/: train.mkv, test-1.mkv, test-2.mkv, events.json
  python examples/make_events.py -o /tmp/ev --seed 7   # another benchmark, other scenes
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.parser("make_events.py",
                        "Balls, blocks and rings fall, slide, collide and come to rest; each impact "
                        "plays its kind's recorded sound at the impact's sample, louder when harder. "
                        "A background drift, a camera pan, a gliding and a lifted object move the "
                        "picture silently. Writes the videos and events.json, the truth.", EXAMPLES)
    parser.add_argument("-o", "--output", default=str(HERE / "events"), help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=0, help="the scenes' seed (default 0, the committed set)")
    parser.add_argument("--sounds", default=str(HERE / "sounds"), help="folder of the recorded impact sounds")
    cli.add_quiet(parser)
    args = parser.parse_args(argv)
    cli.setup_logging(args.quiet)
    record = benchmark.write_benchmark(args.output, args.sounds, args.seed)
    for name, scene in record["files"].items():
        cli.log.info("wrote %s (%.0f s, %d impacts, %d distractors)", Path(args.output) / name,
                     scene["duration_s"], len(scene["impacts"]), len(scene["distractors"]))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
