"""A private PulseAudio server with a null sink, for tests and bench/live: sound without sound
hardware, and a recording of what the sink received (its monitor), as on a laptop.

The server runs in the foreground of its own folder (socket, runtime files, no user's
configuration), as root too, and ends with the block. `Monitor` records the sink's monitor
and notes when each piece of sound came, so that a sample's wall-clock time can be told.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from ..core import grid

SINK = "live"
START_WAIT_S = 10.0


def unavailable() -> str:
    """Why no server can be started here ("" when one can)."""
    missing = [tool for tool in ("pulseaudio", "pactl", "pacat", "parec") if shutil.which(tool) is None]
    return f"not installed: {', '.join(missing)} (apt-get install -y pulseaudio)" if missing else ""


@contextlib.contextmanager
def server(folder: Path) -> Iterator[dict[str, str]]:
    """A PulseAudio server whose default sink is a float32 22050 Hz mono null sink; yields
    the environment that points clients (pacat, the live command) at it."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "server.pa"
    socket = folder / "native"
    config.write_text(
        f"load-module module-null-sink sink_name={SINK} format=float32le rate={grid.RATE_HZ} channels=1\n"
        f"load-module module-native-protocol-unix socket={socket} auth-anonymous=1\n"
        f"set-default-sink {SINK}\n")
    env = dict(os.environ, XDG_RUNTIME_DIR=str(folder), HOME=str(folder),
               PULSE_SERVER=f"unix:{socket}")
    process = subprocess.Popen(["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n",
                                "-F", str(config), "--log-level=error"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_WAIT_S
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                reason = process.stderr.read().decode(errors="replace").strip() if process.poll() else ""
                raise RuntimeError(f"PulseAudio did not start ({reason or 'no answer'})")
            time.sleep(0.1)
        yield env
    finally:
        process.terminate()
        process.wait()
        process.stderr.close()


class Monitor:
    """Records the null sink's monitor from `start` to `stop`: `samples` and, for each
    sample index, its wall-clock time (`time_of`, time.monotonic seconds)."""

    CHUNK_BYTES = 4 * 64  # small reads: each one's time tells when its samples came

    def __init__(self, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            ["parec", f"--device={SINK}.monitor", "--raw", "--format=float32le",
             f"--rate={grid.RATE_HZ}", "--channels=1", "--latency-msec=5"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._pieces: list[bytes] = []
        self._ends: list[tuple[float, int]] = []  # (time read, bytes so far)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        total = 0
        while piece := os.read(self._process.stdout.fileno(), self.CHUNK_BYTES):
            now = time.monotonic()
            total += len(piece)
            self._pieces.append(piece)
            self._ends.append((now, total))

    def stop(self) -> None:
        self._process.terminate()
        self._thread.join()
        self._process.wait()
        self._process.stdout.close()

    @property
    def samples(self) -> np.ndarray:
        data = b"".join(self._pieces)
        return np.frombuffer(data[:len(data) // 4 * 4], "<f4")

    def time_of(self, index: np.ndarray | int) -> np.ndarray:
        """Wall-clock time of sample `index`: the earliest any read could have had it (the
        lower envelope of read time minus the sound read after it), a clock at the rate."""
        times = np.array([t for t, _ in self._ends])
        ends = np.array([n // 4 for _, n in self._ends])
        zero = np.min(times - ends / grid.RATE_HZ)
        return zero + np.asarray(index) / grid.RATE_HZ
