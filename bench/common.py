"""Helpers shared by the benchmark scripts: timing medians, child peak memory, test media."""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The unseen event scenes (bench/unseen_events, bench/lookahead_cost): the event generator with
# a seed and streams the public benchmark does not use (it uses streams 0, 1, 2), 30 s each.
UNSEEN_EVENT_SEED, UNSEEN_EVENT_FIRST_STREAM, UNSEEN_EVENT_SECONDS = 7, 101, 30.0


def run(*command: str) -> float:
    """Run a project script with this Python from the repository root; its wall seconds."""
    print("+", " ".join(shlex.quote(c) for c in command), flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, *command], cwd=REPO, check=True)
    return time.perf_counter() - started


def relative(path: Path) -> str:
    """`path` relative to the repository when it is inside it (as commands are printed)."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def timed(command: list[str], **kwargs) -> tuple[float, float]:
    """Run `command`; return (wall seconds, peak resident memory of the process in MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{stderr}")
    return seconds, usage.ru_maxrss / 1024


def python_peak_mb(script: Path, *args: str) -> float:
    """Peak resident memory of the Python process running `script` (its ffmpeg children,
    which `timed` counts too, excluded), in MB."""
    probe = ("import resource, runpy, sys\n"
             f"sys.argv = {[str(script), *args]!r}\n"
             "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
             "except SystemExit as stop:\n    assert not stop.code, stop.code\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                            check=True)
    return int(result.stderr.strip().splitlines()[-1]) / 1024


def median_of(runs: int, command: list[str], **kwargs) -> tuple[float, float]:
    results = [timed(command, **kwargs) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def make_hd_video(path: Path, seconds: int = 30) -> Path:
    """A 1280x720 30 fps H.264 + AAC video with moving content, made once and reused."""
    if not path.exists():
        subprocess.run(
            ["ffmpeg", "-y", "-nostdin", "-loglevel", "error",
             "-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=30:d={seconds}",
             "-f", "lavfi", "-i", f"sine=f=330:beep_factor=4:duration={seconds}",
             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-shortest", str(path)],
            check=True)
    return path


def decode_only_seconds(video: Path, runs: int) -> float:
    """The baseline: ffmpeg decoding every stream and discarding the result."""
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(video), "-f", "null", "-"]
    return median_of(runs, command)[0]
