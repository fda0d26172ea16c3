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

Two backends compile the same graphs (`choose()` picks one per process, before the model's
variables are made):

- ``cpu``: PyTensor's C backend, as configured above (the default without a GPU).
- ``jax``: PyTensor's JAX backend (``mode="JAX"``), for an NVIDIA GPU; JAX is an optional
  extra (``pip install '.[gpu]'``). The dataset, the shuffle order and the parameters are JAX
  arrays on the device, so a training step moves no frames between host and device. Model code
  (rbm.py, dbn.py) is the same for both: only `shared` and `compile_minibatch_step` differ.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.util
import logging
import os
import platform
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..core.errors import UserError
from ..data.gathered import GatheredRows, symbolic_rows

CHOICES = ("auto", "cpu", "jax")
JAX_MISSING = ("--backend jax needs JAX, which is not installed: pip install '.[gpu]' in the "
               "project folder (NVIDIA GPU), or pip install jax (CPU only)")
_selected = {"name": "cpu"}   # this process's backend; `choose` changes it

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


# A sigmoid's pre-activation is clipped to +-SIGMOID_LIMIT in training graphs. Beyond it the
# sigmoid moves by less than 1e-13, but far out (below about -87) it, and the gradients
# through it, become subnormal floats, which this machine's CPU multiplies about 17x slower
# than normal ones (a 512x1000 GEMM operand with 5% subnormal entries, measured): fine-tuning
# on Planet Blupi fell from 4,100 to 580 frames/s after its first epoch. Clipped, every value
# stays normal. (numpy inference needs nothing: its tanh form saturates to exact zeros.)
SIGMOID_LIMIT = 30.0


def sigmoid(x: Any) -> Any:
    """The logistic function of a symbolic array, with its input clipped (SIGMOID_LIMIT)."""
    pt = tensor()
    return pt.sigmoid(pt.clip(x, -SIGMOID_LIMIT, SIGMOID_LIMIT))


def jax_installed() -> bool:
    try:
        installed = importlib.util.find_spec("jax") is not None
    except (ImportError, ValueError):
        return False
    if installed:
        # JAX logs its search for TPUs and GPUs at INFO; our command lines log at INFO too.
        chatter = logging.getLogger("jax")
        if chatter.level == logging.NOTSET:
            chatter.setLevel(logging.WARNING)
    return installed


def gpu_visible() -> bool:
    """Whether JAX is installed and its default device is a GPU (imports jax when installed)."""
    if not jax_installed():
        return False
    try:
        import jax

        return jax.default_backend() in ("gpu", "cuda", "rocm")
    except Exception:  # a broken CUDA install is "no GPU", not a crash
        return False


def choose(requested: str = "auto") -> str:
    """Make `requested` ("auto", "cpu" or "jax") this process's backend; return "cpu" or "jax".

    "auto" is JAX when JAX sees a GPU, else the C backend. Variables made before a change keep
    the kind they were made with, so choose before building a model.
    """
    if requested not in CHOICES:
        raise ValueError(f"backend {requested!r} is not one of {', '.join(CHOICES)}")
    if requested == "auto":
        requested = "jax" if gpu_visible() else "cpu"
    elif requested == "jax" and not jax_installed():
        raise UserError(JAX_MISSING)
    _selected["name"] = requested
    return requested


def name() -> str:
    """The backend now in use: "cpu" or "jax"."""
    return _selected["name"]


def cpu_model() -> str:
    """This machine's processor model (from /proc/cpuinfo where there is one), for records and
    pages that report times measured on it."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def describe() -> dict[str, str]:
    """The backend in use, its device and software versions (for the training record)."""
    pytensor_version = f"pytensor {pytensor().__version__}"
    if name() == "jax":
        import jax

        device = jax.devices()[0]
        return {"name": "jax", "device": f"{device.platform}: {device.device_kind}",
                "software": f"{pytensor_version}, jax {jax.__version__}"}
    return {"name": "cpu", "device": f"cpu, {os.cpu_count()} cores (PyTensor C backend)",
            "software": pytensor_version}


def compile_minibatch_step(variables: Sequence[Any], datasets: Sequence[Any], order: Any,
                           batch: int, outputs: Any, updates: Any = None) -> Callable[[int], Any]:
    """Compile `outputs` as a function of a minibatch number, with the data kept on the backend.

    This is Theano's classic `givens` pattern: the whole dataset lives in shared variables
    (`datasets`, one per symbolic input in `variables`), `order` is a shared vector of row
    numbers (the epoch's shuffle), and the compiled function takes only the minibatch number
    i, feeding rows order[i*batch:(i+1)*batch] of each dataset to its variable. Model code builds
    graphs on plain symbolic matrices and never learns where the rows come from, so another
    backend only has to replace this function.

    The function returns backend arrays: numpy on the CPU, JAX arrays (computed asynchronously)
    with JAX, so callers convert with float() or numpy when they need the numbers.
    """
    if name() == "jax":
        return _DeviceStep(variables, datasets, order, batch, outputs, updates)
    pt = tensor()
    index = pt.lscalar("minibatch")
    rows = order[index * batch:(index + 1) * batch]
    givens = {variable: dataset[rows] for variable, dataset in zip(variables, datasets)}
    return pytensor().function([index], outputs, updates=updates, givens=givens)


def shared(value: Any, name: str, borrow: bool = True) -> Any:
    """A backend variable holding `value` (an array, or a numpy Generator for random streams).

    `borrow=True` lets the CPU backend use the array in place, so a 300 MB dataset is not copied.
    With JAX, arrays are copied to the device once, here, and `get_value` copies back.
    """
    if _selected["name"] == "jax" and not isinstance(value, np.random.Generator):
        return _device_shared_class().make(value, name)
    return pytensor().shared(value, name=name, borrow=borrow)


def rows_dataset(rows: Any, name: str) -> Any:
    """A training set's input rows for `compile_minibatch_step`: a backend variable for an
    array; for `GatheredRows`, its parts in three, gathered in each step (`dataset[rows]`)."""
    if isinstance(rows, GatheredRows):
        return _GatheredDataset(rows, name)
    return shared(rows, name)


class _GatheredDataset:
    """Gathered rows held by the backend; indexing it with symbolic row numbers gives the
    symbolic rows (data/gathered.py), which is all the compiled steps ask of a dataset."""

    def __init__(self, rows: Any, name: str) -> None:
        self.pieces = shared(rows.pieces, f"{name}_pieces")
        self.index = shared(rows.index, f"{name}_index")
        self.direct = shared(rows.direct, f"{name}_direct")

    def __getitem__(self, rows: Any) -> Any:
        return symbolic_rows(self.pieces, self.index, self.direct, rows, tensor())

    def get_value(self, borrow: bool = False) -> Any:
        """The rows, as a shared variable gives its value (numpy, also from a device)."""
        parts = (self.pieces, self.index, self.direct)
        return GatheredRows(*(part.get_value(borrow=borrow) for part in parts))


# --- the JAX backend ------------------------------------------------------------------------

def _device_array(value: Any) -> Any:
    import jax

    return jax.device_put(np.asarray(value))


@functools.cache
def _device_shared_class() -> Any:
    """The class of device-resident shared variables (made on first use: it needs PyTensor)."""
    tensor()
    from pytensor.tensor.sharedvar import TensorSharedVariable
    from pytensor.tensor.type import TensorType

    class DeviceSharedVariable(TensorSharedVariable):
        """A tensor shared variable whose value is a JAX array on the device.

        PyTensor's JAX functions take their shared inputs from the variable's storage as they
        find them and write updates back there as the JAX arrays they compute: so once the
        storage holds a device array, the value never leaves the device during training.
        `get_value` returns numpy copies (brains and checkpoints stay plain numpy) and
        `set_value` uploads.
        """

        @classmethod
        def make(cls, value: Any, name: str) -> "DeviceSharedVariable":
            array = np.asarray(value)
            variable = cls(type=TensorType(array.dtype, shape=(None,) * array.ndim), value=array,
                           strict=False, allow_downcast=None, name=name)
            variable.container.storage[0] = _device_array(array)
            return variable

        def get_value(self, borrow: bool = False, return_internal_type: bool = False) -> Any:
            value = self.container.storage[0]
            if return_internal_type:
                return value if borrow else copy.copy(value)
            return np.asarray(value) if borrow else np.array(value)

        def set_value(self, new_value: Any, borrow: bool = False) -> None:
            self.container.storage[0] = _device_array(self.type.filter(np.asarray(new_value)))

    return DeviceSharedVariable


class _DeviceStep:
    """`compile_minibatch_step` for JAX: fixed-size minibatches and shared random streams.

    XLA compiles for fixed shapes, so a minibatch whose size depends on the index (the short
    last one) cannot be a traced slice. The rows are gathered as order[i*batch + arange(size)],
    size fixed, and one function is compiled per size that occurs: the full batch and, when
    the rows do not divide evenly, the remainder (each on first use).

    Random streams. PyTensor's JAX linker gives each compiled function a private copy of every
    shared numpy Generator, converted to a JAX key, and advances that copy; setting a new
    Generator on the shared variable afterwards would not reach it. The trainer reseeds its
    streams every epoch (that is what makes resume exact), so before each call this object
    loads the variable's Generator into the function's copy whenever the owner has set a new
    one, and hands the current key on when it switches between the full-batch and remainder
    functions. JAX draws its own numbers from that key (threefry), not numpy's PCG64 stream:
    the same seed gives the same samples on every JAX run, but not the C backend's samples.
    """

    def __init__(self, variables: Sequence[Any], datasets: Sequence[Any], order: Any, batch: int,
                 outputs: Any, updates: Any) -> None:
        self.variables, self.datasets, self.order = list(variables), list(datasets), order
        self.batch, self.outputs, self.updates = batch, outputs, updates
        self.functions: dict[int, tuple[Any, list[tuple[int, Any]]]] = {}
        self.loaded: dict[Any, Any] = {}    # stream -> the Generator last loaded from it
        self.live: dict[Any, list] = {}     # stream -> storage cell holding its current key

    def _compile(self, size: int) -> tuple[Any, list[tuple[int, Any]]]:
        from pytensor.compile.sharedvalue import SharedVariable
        from pytensor.tensor.random.type import RandomType

        pt = tensor()
        index = pt.lscalar("minibatch")
        rows = self.order[index * self.batch + pt.arange(size)]
        givens = {variable: dataset[rows] for variable, dataset in zip(self.variables, self.datasets)}
        with _quiet_jax():
            function = pytensor().function([index], self.outputs, updates=self.updates,
                                           givens=givens, mode="JAX")
        streams = [(position, entry.variable) for position, entry in enumerate(function.maker.inputs)
                   if isinstance(entry.variable, SharedVariable)
                   and isinstance(entry.variable.type, RandomType)]
        return function, streams

    def __call__(self, index: int) -> Any:
        rows = self.order.container.storage[0].shape[0]
        size = min(self.batch, rows - index * self.batch)
        if size <= 0:
            raise IndexError(f"minibatch {index} is past the end ({rows} rows)")
        first = size not in self.functions
        if first:
            self.functions[size] = self._compile(size)
        function, streams = self.functions[size]
        for position, stream in streams:
            cell = function.input_storage[position].storage
            generator = stream.get_value(borrow=True)
            if generator is not self.loaded.get(stream):   # the owner set a new Generator
                from pytensor.link.jax.dispatch import jax_typify

                cell[0] = jax_typify(generator)
                self.loaded[stream] = generator
            elif self.live[stream] is not cell:            # go on from the other size's key
                cell[0] = self.live[stream][0]
            self.live[stream] = cell
        if first:
            with _quiet_jax():  # the first call traces the graph, which is when JAX warns
                return function(index)
        return function(index)


@contextlib.contextmanager
def _quiet_jax() -> Iterator[None]:
    """Silence what PyTensor's JAX backend says, as expected, about our graphs: the private
    copies of random streams (handled by _DeviceStep), int64/float64 constants computed as
    int32/float32 (JAX's default without x64; float32 training wants nothing else), and shape
    assertions that JAX's fixed shapes make redundant."""
    with warnings.catch_warnings():
        for message in ("The RandomType SharedVariables", "Explicitly requested dtype",
                        "Skipping Assert"):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        yield
