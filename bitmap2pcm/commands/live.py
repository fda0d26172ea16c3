"""`bitmap2pcm live`: the brain's sound for a camera, the screen, a stream, a pipe or a file,
as the pictures arrive (bitmap2pcm/live)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

# One BLAS thread, as render: a slot's product is small, and ffmpeg needs the other core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from ..core import cli  # noqa: E402
from ..live import output, session  # noqa: E402
from ..render import stream  # noqa: E402

log = logging.getLogger("bitmap2pcm")

EXAMPLES = """
  {command} /dev/video0                      a camera (V4L2), heard on the sound device
  {command} :0.0+100,200                     the screen (X11), from (100, 200)
  {command} dance.mp4 -o dance.wav           a file at its own speed, into a WAV
  {command} dance.mp4 --lookahead 0          less latency, blunter timing (see --lookahead)
  {command} /dev/video0 --record take1.mkv   play, and keep the pictures with their sound
  {command} rtsp://cam.local/stream -o - | ffplay -f f32le -ar 22050 -ch_layout mono -
  ffmpeg -i in.mp4 -f yuv4mpegpipe - | {command} - -o out.wav   pictures on a pipe
  {command} lavfi:testsrc2=size=320x240:rate=30 --brain shallow   a synthetic source
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE",
                        help="what ffmpeg opens as it arrives: a camera (/dev/videoN), the X11 "
                             "screen (:0, :0.0+X,Y), a stream (URL), '-' for pictures on standard "
                             "input, lavfi:GRAPH, or a file (played at its own speed)")
    parser.add_argument("--brain", metavar="PATH|NAME",
                        help="brain or checkpoint file, or the name of a shipped brain ("
                             + ", ".join(stream.shipped_names())
                             + f"; default: the shipped brain {stream.DEFAULT_BRAIN.stem})")
    parser.add_argument("--mode", choices=stream.MODES, default=stream.DEFAULT_MODE,
                        help="join of a brain that predicts PCM blocks, as render's --mode "
                             f"(default: {stream.DEFAULT_MODE})")
    parser.add_argument("--lookahead", type=int, metavar="N",
                        help="frames after a picture the brain waits for before its sound, 33 ms "
                             "each: at most the brain's own (3 for a movement brain, 0 for a frame "
                             "brain, 5 for a patch brain such as the default, which waits two more "
                             "on held pictures). Default: the brain's steady look-ahead (3 for a "
                             "patch brain: a row every frame; 5 gives render's sound exactly). "
                             "Fewer cuts the latency; the newest frame then stands in for the "
                             "frames to come, so the brain sees a motion's end later and its "
                             "timing blurs")
    parser.add_argument("-o", "--output", action="append", default=[], metavar="WAV|-",
                        help="write the sound to a WAV (complete when the session ends, Ctrl-C "
                             "included), or with '-' to standard output as raw f32le samples, "
                             "22050 Hz mono; may be given more than once. Without -o or --record "
                             "the sound goes to the sound device")
    parser.add_argument("--play", action="store_true",
                        help="also play on the sound device when writing with -o or --record")
    parser.add_argument("--record", metavar="MKV", type=Path,
                        help="also keep the pictures with their new sound (H.264 and FLAC in "
                             "Matroska), complete when the session ends, Ctrl-C included")
    parser.add_argument("--format", metavar="FMT", dest="input_format",
                        help="ffmpeg's input format for SOURCE (-f), when its name does not say it")
    parser.add_argument("--buffer-ms", type=float, default=output.DEFAULT_BUFFER_MS, metavar="MS",
                        help="the sound device's margin against an uneven pace: more is fewer "
                             f"underruns and more latency (default: {output.DEFAULT_BUFFER_MS:.0f})")
    parser.add_argument("--device", metavar="NAME|INDEX",
                        help="PortAudio output device (default: the system's default; "
                             "python -m sounddevice lists them)")


def act(args: argparse.Namespace, call: cli.Call) -> int:
    if args.lookahead is not None and args.lookahead < 0:
        call.parser.error("--lookahead must be 0 or more")
    if args.output.count("-") > 1:
        call.parser.error("-o - may be given once")
    device = int(args.device) if args.device and args.device.isdigit() else args.device
    plan = session.Plan(source=args.source, brain=args.brain, mode=args.mode,
                        lookahead=args.lookahead, outputs=tuple(args.output), play=args.play,
                        record=args.record, input_format=args.input_format,
                        buffer_ms=args.buffer_ms, device=device)
    summary = session.run(plan)
    log.info(session.describe(summary))
    if summary.ending:
        log.error("live: %s stopped: %s", args.source, summary.ending)
        return 1
    return 0


COMMAND = cli.Command(
    script=cli.Door("live.py", "python live.py"),
    description="Give the pictures of SOURCE the sound a brain imagines for them as they arrive, "
                "with a latency of about the brain's look-ahead plus a few tens of ms, on the "
                "sound device and/or into a WAV, a pipe or a recording. When the machine cannot "
                "keep up, pictures are dropped (counted, reported once a second) and the sound "
                "goes on. The session ends when the source does, or with Ctrl-C; the outputs "
                "are complete either way. A file is played at its own speed and gets the sound "
                "render.py gives it.",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    act=act,
)
