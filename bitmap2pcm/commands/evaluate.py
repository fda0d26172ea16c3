"""`bitmap2pcm evaluate` / evaluate.py: how close a brain's sound is to a video's real sound,
beside baselines. The work is in bitmap2pcm/judge/ (`evaluate`, `report`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core import cli
from ..core.files import atomic_paths, check_writable_dir
from ..judge import evaluate, page, report
from ..render import stream

EXAMPLES = """
  {command} examples/synthetic.mkv --brain spectral        # its held-out part, smooth
  {command} clip.mkv --brain b.pkl --mode raw --from 30 --to 60 --plot report.png
  {command} --brain shallow --mode raw --mode smooth       # no VIDEO: its held-out videos
  {command} --brain shallow --brain spectral --markdown r.md  # one table, two brains
  {command} --brain b.pkl --mode raw --mode smooth --html page/  # a page to listen to
  {command} new.mkv --brain b.pkl --train-frames data/frames.pkl --train-audio data/audio.pkl
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="*", metavar="VIDEO",
                        help="videos with sound (default: those the brain held part of out)")
    parser.add_argument("--brain", action="append", required=True, metavar="PATH|NAME",
                        help="brain to evaluate, a file or the name of a shipped brain; repeat "
                             "for several")
    parser.add_argument("--mode", action="append", choices=stream.MODES, dest="modes",
                        help=f"join mode(s) to render with; repeat for several (default: "
                             f"{stream.DEFAULT_MODE}); baselines are joined like the first")
    parser.add_argument("--from", type=float, dest="start_s", metavar="SECONDS",
                        help="score from here instead of the held-out part")
    parser.add_argument("--to", type=float, dest="stop_s", metavar="SECONDS",
                        help="score up to here instead of the held-out part")
    parser.add_argument("--train-frames", metavar="PKL",
                        help="training frames for the baselines (default: as the brain records)")
    parser.add_argument("--train-audio", metavar="PKL",
                        help="training audio rows for the baselines (default: as the brain records)")
    parser.add_argument("--no-baselines", action="store_true", help="score the brain only")
    parser.add_argument("--name", help="set name in the table (default: video stem or folder)")
    parser.add_argument("--json", metavar="PATH", help="write the table as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the table as a Markdown page")
    parser.add_argument("--plot", metavar="PNG",
                        help="write spectrograms and loudness envelopes (one brain, one mode)")
    parser.add_argument("--html", metavar="DIR",
                        help="write a listening page into DIR: every scored video with each "
                             "sound track to switch between (truth, brain, baselines), their "
                             "spectrograms, the table and the brain's card; self-contained, "
                             "opens from the file system")


def act(args: argparse.Namespace, call: cli.Call) -> int:
    modes = args.modes or [stream.DEFAULT_MODE]
    if args.plot and (len(args.brain) > 1 or len(modes) > 1):
        call.parser.error("--plot takes one --brain and one --mode")
    if (args.train_frames is None) != (args.train_audio is None):
        call.parser.error("--train-frames and --train-audio go together")
    for output in (args.json, args.markdown, args.plot):
        if output:
            check_writable_dir(Path(output).parent)
    if args.html:
        page.check_destination(args.html)

    results = [evaluate.evaluate(args.videos, stream.resolve_brain(brain), modes, args.start_s,
                                 args.stop_s, args.train_frames, args.train_audio,
                                 with_baselines=not args.no_baselines, name=args.name)
               for brain in args.brain]
    tables = [result.table() for result in results]
    sys.stdout.write(report.text(tables))
    reports = {"json": args.json, "md": args.markdown, "png": args.plot}
    with atomic_paths({kind: path for kind, path in reports.items() if path}) as temporary:
        if args.json:
            temporary["json"].write_text(json.dumps(tables, indent=2, sort_keys=True) + "\n")
        if args.markdown:
            temporary["md"].write_text(report.markdown(tables, call.command_line()))
        if args.plot:
            result = results[0]
            report.plot(temporary["png"], f"{result.name}: {result.rows[0].model}",
                        result.truth_segments(), result.rows[0].segments, tables[0]["rows"][0])
    if args.html:
        page.write(args.html, results, command=call.command_line())
    return 0


COMMAND = cli.Command(
    script=cli.Door("evaluate.py", "python evaluate.py"),
    description="Render VIDEO(s) with a brain and compare the result with their real sound track, "
                "on the part the brain did not train on (its held-out slots, by default): "
                "loudness envelope correlation within clips and pooled (each against its chance "
                "level), level, log-spectral distance, onset sync, 30 Hz buzz, clicks, silence of "
                "black and white pictures, speed; and the same for three baselines (mean training "
                "row, clip-mean spectrum, nearest-neighbour retrieval, motion). Several --brain options "
                "give one row group each in one table.",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    act=act,
)
