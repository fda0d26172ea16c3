"""`bitmap2pcm render` / render.sh: a video with the sound a brain imagines for it, as two MKVs
(`render.mkv`); and render.py: that sound track alone, as a WAV, with its granular score."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from types import FrameType

# ffmpeg's decoder keeps every core busy during a render; more BLAS threads only spin against
# it (measured with bench/render: 0.70 -> 0.77 of decode-only speed). Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from ..core import cli  # noqa: E402
from ..core.files import check_writable_dir  # noqa: E402
from ..render import mkv, stream  # noqa: E402
from ..sound import granular  # noqa: E402


def add_brain_and_mode(parser: argparse.ArgumentParser) -> None:
    """VIDEO, --brain and --mode, as every render takes them."""
    parser.add_argument("video", metavar="VIDEO", help="any video ffmpeg can read")
    parser.add_argument("--brain", metavar="PATH|NAME",
                        help="brain or checkpoint file, or the name of a shipped brain ("
                             + ", ".join(stream.shipped_names())
                             + f"; default: the shipped brain {stream.DEFAULT_BRAIN.stem})")
    parser.add_argument("--mode", choices=stream.MODES,
                        help="raw: the original's blocks end to end, clicks at every frame "
                             "edge; smooth: the same blocks crossfaded at the edges; only for "
                             "a brain that predicts PCM blocks: spectra, overlapping frames and "
                             "sound cues (theanet.py --target stft, ola, cues) are synthesized "
                             f"continuously (default: {stream.DEFAULT_MODE}, raw with --faithful)")
    parser.add_argument("--faithful", action="store_true",
                        help="the 2015 sound: the shipped brain "
                             f"{stream.FAITHFUL_BRAIN.stem} (the original's network and PCM "
                             "output) unless --brain names another, raw join, and the "
                             "original's granular reading")


def faithful_choices(args: argparse.Namespace) -> None:
    """What --faithful means for the brain, the join and the granular reading, where the
    user did not choose them."""
    if args.faithful:
        args.brain = args.brain or str(stream.FAITHFUL_BRAIN)
    args.mode = args.mode or ("raw" if args.faithful else stream.DEFAULT_MODE)
    args.reading = args.reading or ("faithful" if args.faithful else granular.DEFAULT_READING)


def add_granular(parser: argparse.ArgumentParser) -> None:
    """--seed and --reading of the granular score."""
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the granular score: same seed, same score (default: 0)")
    parser.add_argument("--reading", choices=granular.READINGS,
                        help="how grains read the sound: ontime keeps it in sync with the "
                             "picture; faithful is the original's fast, high-pitched reading "
                             f"(default: {granular.DEFAULT_READING}, faithful with --faithful)")


# --- the two MKVs (render.sh, bitmap2pcm render) --------------------------------------------

VIDEOS_EXAMPLES = """
  {command} clip.mp4                         both MKVs with the default brain
  {command} --brain shallow clip.mp4         with a shipped brain, by its name
  {command} --brain theanet.py.net.pkl --mode raw clip.mp4 -take2
  {command} --faithful clip.mp4 -2015        the 2015 sound: the original's network, raw
  {command} --webm "My Holiday (2015).mov"
"""


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    add_brain_and_mode(parser)
    add_granular(parser)
    parser.add_argument("--webm", action="store_true", help="also write web copies (VP9 + Opus)")
    # Everything after VIDEO is SUFFIX, as in the 2015 render.sh, so a suffix may start with
    # a dash ("-raw"); more than one is refused after parsing.
    parser.add_argument("suffix", nargs=argparse.REMAINDER, metavar="SUFFIX",
                        help="added to both output names (e.g. -take2)")


def _end_by_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def render_videos(args: argparse.Namespace, call: cli.Call) -> None:
    if len(args.suffix) > 1:
        call.parser.error("too many arguments")
    # As the shell script did: a termination or Ctrl-C removes the temporaries (the with
    # blocks unwind) and ends the run silently with the shell's status, 128 + the signal.
    signal.signal(signal.SIGTERM, _end_by_signal)
    faithful_choices(args)
    try:
        mkv.render_videos(args.video, args.brain, args.mode, args.reading, args.seed,
                          "".join(args.suffix), args.webm, progress=not args.quiet)
    except KeyboardInterrupt:
        raise SystemExit(128 + signal.SIGINT) from None


COMMAND = cli.Command(
    script=cli.Door("render.sh", "./render.sh"),
    description="Give VIDEO the sound track a brain predicts from its pictures, plus a granular "
                "render of it. Writes <brain>-<video>-deeplearn<SUFFIX>.mkv and "
                "<brain>-<video>-granular-deeplearn<SUFFIX>.mkv in the current folder (and .webm "
                "copies with --webm): the picture stream copied bit for bit, the new sound "
                "lossless (FLAC), picture and sound as far apart as in VIDEO.",
    examples=VIDEOS_EXAMPLES,
    add_arguments=add_video_arguments,
    act=render_videos,
    usage="%(prog)s [--brain PATH|NAME] [--mode raw|smooth] [--faithful] [--reading ontime|faithful] "
          "[--seed N] [--webm] [-q] VIDEO [SUFFIX]",
)


# --- the sound track alone (render.py) ------------------------------------------------------

SOUND_EXAMPLES = """
  {command} clip.mp4                             render with the default brain
  {command} clip.mp4 --faithful -o 2015.wav      the 2015 sound: the original's network, raw
  {command} clip.mp4 --brain theanet.py.net.pkl --mode raw -o clip.wav
  {command} clip.mp4 --brain brain-0040.pkl      a checkpoint works too
  {command} clip.mp4 --score grain.sco --seed 7  also write the granular score
  csound -o granular.wav granular.csd                   then play it (out.wav, grain.sco here)
"""


def add_sound_arguments(parser: argparse.ArgumentParser) -> None:
    add_brain_and_mode(parser)
    parser.add_argument("-o", "--output", metavar="WAV", default="out.wav",
                        help="sound track to write (default: out.wav)")
    parser.add_argument("--score", metavar="SCO",
                        help="also write the granular Csound score for granular.csd here")
    add_granular(parser)


def render_sound(args: argparse.Namespace, call: cli.Call) -> None:
    faithful_choices(args)
    if args.score:
        check_writable_dir(Path(args.score).parent)
    summary = stream.render(args.video, args.output, args.brain, args.mode, progress=not args.quiet)
    if args.score:
        granular.write_score(args.score, summary.samples, args.seed, args.reading)


SOUND = cli.Command(
    script=cli.Door("render.py", "python render.py"),
    description="Run every 1/30 s frame of VIDEO through a brain and write the predicted sound "
                "track (22050 Hz mono WAV, 735 samples per frame slot). Optionally write the "
                "Csound score of the original's granular render of that sound (for granular.csd).",
    examples=SOUND_EXAMPLES,
    add_arguments=add_sound_arguments,
    act=render_sound,
)
