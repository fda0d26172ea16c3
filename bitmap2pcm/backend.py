"""The one door to PyTensor: configure it, then import it.

PyTensor reads PYTENSOR_FLAGS once, when it is first imported, so the settings the trainer
relies on must be in the environment before that import. Two matter:

- ``floatX=float32``: every shared variable and symbolic matrix is float32, which halves memory
  traffic and doubles SIMD width against float64.
- ``blas__ldflags=-lopenblas``: without it PyTensor falls back to its own unoptimised dot and a
  4096x1000 layer runs tens of times slower than numpy. ``libopenblas-dev`` (a Debian package
  the Makefile installs) provides the library.
- ``linker=cvm``: PyTensor 3 defaults to its Numba linker, which JIT-compiles every function
  in every process (seconds each) and, measured here, ran a CD-1 step of a 4096x1000 RBM at
  about 60% of the speed of the C linker. The C linker (Theano's own) caches compiled code on
  disk across runs.

Flags the user already put in PYTENSOR_FLAGS win; ours only fill in what is missing. Every
module that needs PyTensor gets it from `pytensor()` here and never imports it directly.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType
from typing import Any, Callable, Sequence

DEFAULT_FLAGS = {"floatX": "float32", "blas__ldflags": "-lopenblas", "linker": "cvm"}


def _flag_key(assignment: str) -> str:
    """'blas.ldflags=-lfoo' and 'blas__ldflags=-lfoo' both name the key 'blas__ldflags'."""
    return assignment.split("=", 1)[0].strip().replace(".", "__")


def configure_environment(environ: dict[str, str] | os._Environ = os.environ) -> str:
    """Add our default flags to PYTENSOR_FLAGS in `environ` unless already set; return the result."""
    current = environ.get("PYTENSOR_FLAGS", "")
    assignments = [item for item in current.split(",") if item.strip()]
    present = {_flag_key(item) for item in assignments}
    assignments += [f"{key}={value}" for key, value in DEFAULT_FLAGS.items() if key not in present]
    environ["PYTENSOR_FLAGS"] = ",".join(assignments)
    return environ["PYTENSOR_FLAGS"]


def pytensor() -> ModuleType:
    """Return the configured `pytensor` module (configuring it on first use)."""
    import sys

    if "pytensor" not in sys.modules:
        configure_environment()
        # PyTensor logs its configuration chatter at INFO; our command lines log at INFO too.
        chatter = logging.getLogger("pytensor")
        if chatter.level == logging.NOTSET:
            chatter.setLevel(logging.WARNING)
    import pytensor as module

    return module


def tensor() -> ModuleType:
    """Return `pytensor.tensor`, the symbolic array namespace (configured first)."""
    pytensor()
    import pytensor.tensor as module

    return module


def compile_minibatch_step(variables: Sequence[Any], datasets: Sequence[Any], order: Any,
                           batch: int, outputs: Any, updates: Any = None) -> Callable[[int], Any]:
    """Compile `outputs` as a function of a minibatch number, with the data kept on the backend.

    This is Theano's classic `givens` pattern: the whole dataset lives in shared variables
    (`datasets`, one per symbolic input in `variables`), `order` is a shared vector of row
    numbers (the epoch's shuffle), and the compiled function takes only the minibatch number
    i, feeding rows order[i*batch:(i+1)*batch] of each dataset to its variable. Model code builds
    graphs on plain symbolic matrices and never learns where the rows come from, so another
    backend only has to replace this function.
    """
    pt = tensor()
    index = pt.lscalar("minibatch")
    rows = order[index * batch:(index + 1) * batch]
    givens = {variable: dataset[rows] for variable, dataset in zip(variables, datasets)}
    return pytensor().function([index], outputs, updates=updates, givens=givens)


def shared(value: Any, name: str, borrow: bool = True) -> Any:
    """A backend variable holding `value` (an array, or a numpy Generator for random streams).

    `borrow=True` lets the CPU backend use the array in place, so a 300 MB dataset is not copied.
    """
    return pytensor().shared(value, name=name, borrow=borrow)
