"""What every command-line door shares: help with examples, logging, progress bars, exit codes.

A command (`Command`) has two doors with the same arguments, help and behaviour: a script of
the checkout (pickler.py, render.sh, ...) and a subcommand of the installed `bitmap2pcm`
(`bitmap2pcm pickle`, ...). A `Door` says which one a run came through, so that usage and error
lines name the program the user typed and the examples show how to type it.

Exit codes: 0 success, 1 a problem with the input or environment (one line on stderr, no
traceback), 2 a usage error (argparse's own convention).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import sys
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterable, Iterator, Sequence, TypeVar

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


class _LevelOnce(logging.Formatter):
    """Information as it is; a warning or an error starts with its level, said once (so a
    message must not say "warning" itself)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname}: {text}"


def setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LevelOnce("%(message)s"))
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, handlers=[handler],
                        force=True)


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None,
        prog: str | None = None) -> int:
    """Call `main(argv)` and turn failures into a one-line message and an exit code; the
    message names `prog` (default: the script's file name)."""
    prog = prog or argparse.ArgumentParser().prog
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


# --- commands and their doors ---------------------------------------------------------------

@dataclass(frozen=True)
class Door:
    """How a run reached its command. `prog` names the command in usage and error lines
    ("pickler.py", "bitmap2pcm pickle"); `typed` is what a person types to run it, shown in
    the examples and in recorded command lines ("python pickler.py", "bitmap2pcm pickle")."""

    prog: str
    typed: str


@dataclass(frozen=True)
class Call:
    """One run of a command: its parser (for usage errors found after parsing), the door it
    came through and its arguments as typed."""

    parser: argparse.ArgumentParser
    door: Door
    argv: Sequence[str]

    def command_line(self) -> str:
        """The run as a person would type it again."""
        return f"{self.door.typed} {shlex.join(self.argv)}".rstrip()


@dataclass(frozen=True)
class Command:
    """A command as both of its doors show it (see the module notes).

    `examples` is a template in which "{command}" becomes what the door's user types.
    `add_arguments` adds everything but -q, which every command has, last; `act` does the
    work with the parsed arguments and returns the exit status (None is 0).
    """

    script: Door
    description: str
    examples: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    act: Callable[[argparse.Namespace, Call], int | None]
    usage: str | None = None  # argparse's own usage line unless given ("%(prog)s ...")

    def parser(self, door: Door) -> argparse.ArgumentParser:
        argument_parser = parser(door.prog, self.description, self.examples.format(command=door.typed))
        argument_parser.usage = self.usage
        self.add_arguments(argument_parser)
        add_quiet(argument_parser)
        return argument_parser

    def main(self, argv: Sequence[str] | None = None, door: Door | None = None) -> int:
        """Parse `argv` (default: the process's arguments), set up logging and act; returns
        the exit status. Usage errors and --help leave through SystemExit, as argparse does."""
        door = door or self.script
        argument_parser = self.parser(door)

        def parse_and_act(arguments: Sequence[str]) -> int | None:
            args = argument_parser.parse_args(arguments)
            setup_logging(args.quiet)
            return self.act(args, Call(argument_parser, door, arguments))

        return run(parse_and_act, list(sys.argv[1:] if argv is None else argv), door.prog)


# --- progress -------------------------------------------------------------------------------

class _NoBar:
    """What a hidden progress bar is: it takes updates and shows nothing."""

    def update(self, count: int) -> None:
        pass


def progress_bar(total: int | None, enabled: bool, desc: str = "", unit: str = "slot",
                 delay_s: float = 0.0) -> ContextManager[Any]:
    """A tqdm bar on stderr, advanced by `update(count)`; shown only when `enabled` (no -q)
    and stderr is a terminal. In a log file or a pipe tqdm's frames, each drawn over the last
    with a carriage return, would pile up as noise. A bar shows once `delay_s` has passed.

    tqdm is imported only when the bar is shown: quiet and captured runs skip its import time.
    """
    if not (enabled and sys.stderr.isatty()):
        return contextlib.nullcontext(_NoBar())
    from tqdm import tqdm

    return tqdm(total=total or None, unit=unit, desc=desc or None, leave=False, delay=delay_s)


def progress(batches: Iterable[Batch], total: int | None, enabled: bool, desc: str = "",
             unit: str = "slot") -> Iterator[Batch]:
    """Pass batches through, advancing a `progress_bar` by each batch's length."""
    with progress_bar(total, enabled, desc, unit) as bar:
        for batch in batches:
            bar.update(len(batch))
            yield batch
