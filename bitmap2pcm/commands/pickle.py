"""`bitmap2pcm pickle` / pickler.py: videos with sound become training pairs frames.pkl + audio.pkl."""

from __future__ import annotations

import argparse
import logging

from ..core import cli, grid
from ..data import dataset
from ..media import video

EXAMPLES = """
  {command} examples/blupi.mkv              # frames.pkl + audio.pkl here
  {command} clip.mp4 -o data/ --silence 30  # add 30 s of black and 30 s of white, silent
  {command} clip.webm --interpolation bilinear -q
  {command} examples/blupi/*.mkv            # 14 clips joined into one training set
  {command} clip.mp4 --color                # colour pictures: N x 12288 (R, G, B planes)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="+", metavar="VIDEO",
                        help="any video ffmpeg reads, with a sound track; several videos are "
                             "joined one clip after another (dataset.json records each clip)")
    parser.add_argument("-o", "--output-dir", default=".", metavar="DIR",
                        help="folder for frames.pkl, audio.pkl, dataset.json (default: here)")
    parser.add_argument("--silence", type=float, default=0.0, metavar="SECONDS",
                        help="append SECONDS of black and SECONDS of white frames paired "
                             "with silence (teaches a brain that blank pictures are quiet)")
    parser.add_argument("--interpolation", choices=sorted(video.INTERPOLATIONS),
                        default=video.DEFAULT_INTERPOLATION,
                        help="how pictures shrink to 64x64 (default: area averaging, no aliasing)")
    parser.add_argument("--color", action="store_true",
                        help=f"keep the pictures in colour: each row holds the R, G and B planes "
                             f"of the 64x64 picture, {3 * grid.PIXELS_PER_FRAME} values, and "
                             f"dataset.json says so (theanet.py and render follow; default: the "
                             f"gray luma, {grid.PIXELS_PER_FRAME} values)")


def act(args: argparse.Namespace, call: cli.Call) -> int:
    data = dataset.make(args.videos, args.output_dir, args.silence, args.interpolation,
                        progress=not args.quiet, channels=3 if args.color else 1)
    logging.getLogger("pickler").info(
        "%s: %d slots (%.1f s%s) -> %s/{%s,%s}", ", ".join(args.videos), data.slots,
        data.provenance["video_slots"] / grid.SLOTS_PER_SECOND,
        f" + {2 * args.silence:g} s silence anchors" if args.silence else "",
        args.output_dir.rstrip("/"), dataset.FRAMES_FILE, dataset.AUDIO_FILE)
    return 0


COMMAND = cli.Command(
    script=cli.Door("pickler.py", "python pickler.py"),
    description="Decode a video with sound into aligned training pairs on the 30 fps grid: "
                f"frames.pkl ({grid.FRAME_SIDE}x{grid.FRAME_SIDE} gray frames, N x "
                f"{grid.PIXELS_PER_FRAME}, or colour with --color) and audio.pkl (N x "
                f"{grid.SAMPLES_PER_SLOT} samples at {grid.RATE_HZ} Hz, mapped to [0, 1]), plus a "
                "provenance sidecar dataset.json.",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    act=act,
)
