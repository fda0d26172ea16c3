#!/usr/bin/env python3
"""render.py: give a video the sound a brain imagines for it (out.wav, and a granular score)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Sequence

# ffmpeg's decoder keeps every core busy during a render; more BLAS threads only spin against
# it (measured with bench/render: 0.70 -> 0.77 of decode-only speed). Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bitmap2pcm.core import cli  # noqa: E402
from bitmap2pcm.core.files import atomic_open, check_writable_dir  # noqa: E402
from bitmap2pcm.render import stream as render  # noqa: E402
from bitmap2pcm.sound import granular  # noqa: E402

EXAMPLES = """
  python render.py clip.mp4                             render with the default brain, brains/spectral.pkl
  python render.py clip.mp4 --brain theanet.py.net.pkl --mode raw -o clip.wav
  python render.py clip.mp4 --brain brain-1700000000.pkl      a checkpoint works too
  python render.py clip.mp4 --score grain.sco --seed 7  also write the granular score
  csound -o granular.wav granular.csd                   then play it (out.wav, grain.sco here)
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.parser(
        "render.py",
        "Run every 1/30 s frame of VIDEO through a brain and write the predicted sound track "
        "(22050 Hz mono WAV, 735 samples per frame slot). Optionally write the Csound score "
        "of the original's granular render of that sound (for granular.csd).",
        EXAMPLES,
    )
    parser.add_argument("video", metavar="VIDEO", help="any video ffmpeg can read")
    default_brain = render.DEFAULT_BRAIN.relative_to(render.BRAINS_DIR.parent)
    parser.add_argument("--brain", metavar="PATH",
                        help=f"brain or checkpoint file (default: {default_brain})")
    parser.add_argument("--mode", choices=render.MODES, default=render.DEFAULT_MODE,
                        help="raw: the original's blocks end to end, clicks at every frame "
                             "edge; smooth: the same blocks crossfaded at the edges; ignored "
                             "for a brain that predicts spectra or overlapping frames "
                             "(theanet.py --target stft or ola), whose sound is synthesized "
                             f"continuously (default: {render.DEFAULT_MODE})")
    parser.add_argument("-o", "--output", metavar="WAV", default="out.wav",
                        help="sound track to write (default: out.wav)")
    parser.add_argument("--score", metavar="SCO",
                        help="also write the granular Csound score for granular.csd here")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the granular score: same seed, same score (default: 0)")
    parser.add_argument("--reading", choices=granular.READINGS, default=granular.DEFAULT_READING,
                        help="how grains read the sound: ontime keeps it in sync with the "
                             "picture; faithful is the original's fast, high-pitched reading "
                             f"(default: {granular.DEFAULT_READING})")
    cli.add_quiet(parser)
    args = parser.parse_args(argv)
    cli.setup_logging(args.quiet)

    if args.score:
        check_writable_dir(Path(args.score).parent)
    summary = render.render(args.video, args.output, args.brain, args.mode,
                            progress=not args.quiet and sys.stderr.isatty())
    if args.score:
        with atomic_open(args.score, "w") as stream:
            stream.write(granular.score(summary.samples, args.seed, args.reading))
        logging.getLogger("bitmap2pcm").info("wrote %s (%s reading, seed %d)", args.score,
                                             args.reading, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
