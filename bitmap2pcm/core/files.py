"""Safe file handling: atomic writes and a restricted unpickler.

Every output is written to a temporary file beside its destination and renamed into place,
so an interrupted or failed run never leaves a half-written file. Every pickle is read
through `SafeUnpickler`, which admits numpy arrays and plain Python data and nothing else:
a pickle that names any other callable is refused before anything runs.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

from .errors import UserError

# (module, name) pairs a pickle may reference. numpy moved its internals from numpy.core to
# numpy._core in 2.0; files written by either must load under both.
_NUMPY_GLOBALS = {
    ("_reconstruct", "multiarray"),
    ("scalar", "multiarray"),
    ("_frombuffer", "numeric"),
}
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("__builtin__", "set"),
    ("__builtin__", "frozenset"),
}
for _package in ("numpy.core", "numpy._core"):
    for _name, _module in _NUMPY_GLOBALS:
        _ALLOWED_GLOBALS.add((f"{_package}.{_module}", _name))


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that only rebuilds numpy arrays, dtypes, scalars and builtin data."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing to load '{module}.{name}': only numpy arrays and plain data are allowed"
            )
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing persistent ids")


def load_pickle(path: str | os.PathLike) -> Any:
    """Read a pickle of numpy arrays and plain data; anything else raises UserError."""
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            if stream.read(1) == b"":
                raise UserError(f"{path}: file is empty")
            stream.seek(0)
            return SafeUnpickler(stream, encoding="latin1").load()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a pickle") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None
    except pickle.UnpicklingError as error:
        raise UserError(f"{path}: not a safe pickle ({error})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, UnicodeDecodeError, ImportError) as error:
        raise UserError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from None


def check_writable_dir(directory: str | os.PathLike) -> Path:
    """Fail early, before any long work, if outputs cannot be written into `directory`."""
    directory = Path(directory)
    if not directory.exists():
        raise UserError(f"{directory}: output folder does not exist")
    if not directory.is_dir():
        raise UserError(f"{directory}: output path is not a folder")
    try:  # a real attempt: permission bits say nothing for root, read-only mounts or full disks
        with tempfile.TemporaryFile(dir=directory) as probe:
            probe.write(b"\0")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise UserError(f"{directory}: output folder is not writable ({error.strerror})") from None
    return directory


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `destination`; rename it into place on success.

    On any exception (KeyboardInterrupt included) the temporary file is removed and the
    destination is left as it was; an operating-system failure (a full disk, a read-only or
    failing device) becomes a UserError that names the destination and the reason. `suffix`
    keeps a file extension that tools such as ffmpeg use to pick a format.
    """
    destination = Path(destination)
    folder = destination.parent if str(destination.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{destination.name}.", suffix=suffix + ".part", dir=folder
        )
    except OSError as error:
        raise UserError(f"{destination}: cannot write ({error.strerror})") from None
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.chmod(temporary_path, 0o644)
        os.replace(temporary_path, destination)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temporary_path.unlink()
        if isinstance(error, OSError):
            raise UserError(f"{destination}: cannot write ({error.strerror or error})") from None
        raise


@contextlib.contextmanager
def atomic_paths(destinations: dict[str, str | os.PathLike]) -> Iterator[dict[str, Path]]:
    """Temporary paths for several outputs that appear together, keyed like `destinations`
    (each key is also the file extension its temporary keeps): none is renamed into place
    unless every one was written, so a failure leaves all of the old files as they were."""
    with contextlib.ExitStack() as stack:
        yield {key: stack.enter_context(atomic_path(path, suffix=f".{key}"))
               for key, path in destinations.items()}


@contextlib.contextmanager
def atomic_open(destination: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file for writing; it replaces `destination` only when closed cleanly."""
    with atomic_path(destination) as temporary:
        with open(temporary, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())


def save_pickle(obj: Any, destination: str | os.PathLike) -> None:
    """Pickle `obj` (protocol 5: large arrays are written without an extra copy) atomically."""
    with atomic_open(destination, "wb") as stream:
        pickle.dump(obj, stream, protocol=5)
