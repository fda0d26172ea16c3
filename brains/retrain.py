#!/usr/bin/env python3
"""brains/retrain.py: retrain the shipped brains from the example videos and rewrite their cards.

Only the command line lives here; the brains and the work are in bitmap2pcm/shipped/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from any folder

from bitmap2pcm.core import cli  # noqa: E402
from bitmap2pcm.core.errors import UserError  # noqa: E402
from bitmap2pcm.shipped import cards, retrain  # noqa: E402  (after the path is set)
from bitmap2pcm.shipped import catalog as shipped  # noqa: E402

EXAMPLES = """
  python brains/retrain.py                          every shipped brain (make brains)
  python brains/retrain.py --only spectral,shallow  just these two
  python brains/retrain.py --work /tmp/ship -q      data sets and work files elsewhere, quietly
  python brains/retrain.py --cards                  rewrite the cards only (after editing
                                                    LISTENING_NOTES in bitmap2pcm/shipped/catalog.py)
"""


def _names(text: str) -> list[shipped.Shipped]:
    try:
        return [shipped.by_name(name) for name in text.split(",") if name]
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.parser(
        "retrain.py",
        "Retrain the shipped brains (" + ", ".join(s.name for s in shipped.BRAINS) + ") from the "
        "example videos with their recorded options and seed: pickler.py, theanet.py (the last "
        "20% of every clip held out), float16 weights, evaluate.py on the held-out slots; then "
        "write brains/NAME.pkl and its card brains/NAME.md. The default brain is "
        f"{shipped.DEFAULT}.",
        EXAMPLES,
    )
    parser.add_argument("--only", type=_names, metavar="NAME[,NAME]",
                        help="retrain these brains only (default: all)")
    parser.add_argument("--work", default="out/brains", metavar="DIR",
                        help="folder for the data sets, full-precision brains and evaluation "
                             "tables (default: %(default)s)")
    parser.add_argument("--cards", action="store_true",
                        help="train nothing: rewrite the cards from the brains in brains/")
    cli.add_quiet(parser)
    args = parser.parse_args(argv)
    cli.setup_logging(args.quiet)

    chosen = args.only or list(shipped.BRAINS)
    if args.cards:
        cards.write_cards(chosen)
    else:
        retrain.retrain(chosen, Path(args.work))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
