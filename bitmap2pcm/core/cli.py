"""What every command-line door shares: help with examples, logging, and exit codes.

Exit codes: 0 success, 1 a problem with the input or environment (one line on stderr, no
traceback), 2 a usage error (argparse's own convention).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from .errors import UserError

log = logging.getLogger("bitmap2pcm")
Batch = TypeVar("Batch", bound=Sequence)


def parser(prog: str, description: str, examples: str) -> argparse.ArgumentParser:
    """An argparse parser whose --help ends with worked examples."""
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog="examples:\n" + examples.strip("\n"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_quiet(argument_parser: argparse.ArgumentParser) -> None:
    argument_parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars, warnings and errors only"
    )


def setup_logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(levelname)s: %(message)s" if quiet else "%(message)s",
        stream=sys.stderr,
        force=True,
    )


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Call `main(argv)` and turn failures into a one-line message and an exit code."""
    prog = argparse.ArgumentParser().prog
    try:
        return main(argv) or 0
    except UserError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    except MemoryError:
        print(f"{prog}: error: out of memory", file=sys.stderr)
        return 1
    except OSError as error:  # a failing system (disk full, read-only, I/O error) is not a bug
        where = f"{error.filename}: " if error.filename else ""
        print(f"{prog}: error: {where}{error.strerror or error}", file=sys.stderr)
        return 1


def progress(batches: Iterable[Batch], total: int | None, enabled: bool, desc: str = "",
             unit: str = "slot") -> Iterator[Batch]:
    """Pass batches through, advancing a tqdm bar on stderr by each batch's length.

    tqdm is imported only when the bar is shown: quiet runs skip its import time.
    """
    if not enabled:
        yield from batches
        return
    from tqdm import tqdm

    with tqdm(total=total or None, unit=unit, desc=desc or None, leave=False) as bar:
        for batch in batches:
            bar.update(len(batch))
            yield batch
