"""Playback on a PulseAudio server (or PipeWire's PulseAudio service) through libpulse-simple,
the client library every such system has (Debian: libpulse0), called with ctypes.

The server's buffer is asked to hold up to `capacity_ms` (its target length: a write waits
while it is full) and to start playing once it holds `start_ms` (its pre-buffer: after an
underrun the server waits for that much again, which rebuilds the margin by itself).
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from ..core import grid

_FLOAT32LE = 5  # pa_sample_format_t PA_SAMPLE_FLOAT32LE
_PLAYBACK = 1   # pa_stream_direction_t PA_STREAM_PLAYBACK
_DEFAULT = 0xFFFFFFFF  # (uint32_t) -1: the server's choice


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("maxlength", "tlength", "prebuf", "minreq", "fragsize")]


def _library(name: str) -> ctypes.CDLL:
    found = ctypes.util.find_library(name)
    if found is None:
        raise OSError(f"lib{name} not found (apt-get install -y libpulse0)")
    return ctypes.CDLL(found)


class Playback:
    """A mono float32 playback stream at the grid's rate on the server's default sink (or
    `sink`); `OSError` when there is no library or no server."""

    def __init__(self, capacity_ms: float, start_ms: float, sink: str | None = None,
                 name: str = "bitmap2pcm live") -> None:
        self._simple = _library("pulse-simple")
        self._pulse = _library("pulse")
        self._simple.pa_simple_new.restype = ctypes.c_void_p
        self._simple.pa_simple_get_latency.restype = ctypes.c_uint64
        self._pulse.pa_strerror.restype = ctypes.c_char_p
        spec = _SampleSpec(_FLOAT32LE, grid.RATE_HZ, 1)
        def bytes_of(ms: float) -> int:
            return 4 * max(1, round(ms * grid.RATE_HZ / 1000))

        attr = _BufferAttr(_DEFAULT, bytes_of(capacity_ms), bytes_of(start_ms), _DEFAULT, _DEFAULT)
        error = ctypes.c_int(0)
        self._stream = self._simple.pa_simple_new(
            None, name.encode(), _PLAYBACK, sink.encode() if sink else None, b"live sound",
            ctypes.byref(spec), None, ctypes.byref(attr), ctypes.byref(error))
        if not self._stream:
            raise OSError(f"PulseAudio: {self._reason(error)}")

    def _reason(self, error: ctypes.c_int) -> str:
        return self._pulse.pa_strerror(error.value).decode(errors="replace")

    def write(self, samples: np.ndarray) -> None:
        data = np.ascontiguousarray(samples, dtype="<f4")
        error = ctypes.c_int(0)
        if self._simple.pa_simple_write(ctypes.c_void_p(self._stream), data.ctypes.data_as(ctypes.c_void_p),
                                        ctypes.c_size_t(data.nbytes), ctypes.byref(error)) < 0:
            raise OSError(f"PulseAudio: {self._reason(error)}")

    def latency_ms(self) -> float:
        """How long the sound the server holds will take to play; OSError when the server
        has gone (libpulse then answers (pa_usec_t) -1)."""
        error = ctypes.c_int(0)
        usec = self._simple.pa_simple_get_latency(ctypes.c_void_p(self._stream), ctypes.byref(error))
        if usec == ctypes.c_uint64(-1).value:
            raise OSError(f"PulseAudio: {self._reason(error)}")
        return usec / 1000

    def close(self) -> None:
        """Play what the server holds, then end the stream."""
        error = ctypes.c_int(0)
        self._simple.pa_simple_drain(ctypes.c_void_p(self._stream), ctypes.byref(error))
        self._simple.pa_simple_free(ctypes.c_void_p(self._stream))
