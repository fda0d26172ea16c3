"""Shared test helpers: generate small media files with ffmpeg and run the top-level scripts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; a failure fails the test with ffmpeg's own message."""
    result = subprocess.run(["ffmpeg", "-y", "-nostdin", "-hide_banner", "-loglevel", "error", *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def make_video(path: Path, seconds: float = 2.0, fps: str = "30", size: str = "64x64",
               picture: str = "testsrc2", sound: str | None = "sine=f=440",
               video_codec: tuple[str, ...] = ("-c:v", "libx264", "-pix_fmt", "yuv420p"),
               audio_codec: tuple[str, ...] = ("-c:a", "aac"), audio_rate_hz: int = 44100) -> Path:
    """A small video from lavfi sources; `picture` and `sound` are filter descriptions.

    `picture` may be a source name ("testsrc2") or a geq luma expression of T prefixed with
    "lum:"; `sound` a lavfi audio source or None for a silent-stream-free file.
    """
    if picture.startswith("lum:"):
        source = f"nullsrc=s={size}:r={fps}:d={seconds},geq=lum='{picture[4:]}':cb=128:cr=128"
    else:
        source = f"{picture}=s={size}:r={fps}:d={seconds}"
    args = ["-f", "lavfi", "-i", source]
    if sound is not None:
        if sound.startswith("aevalsrc"):
            audio_source = f"{sound}:s={audio_rate_hz}:d={seconds}"
        else:
            audio_source = f"{sound}:sample_rate={audio_rate_hz}:duration={seconds}"
        args += ["-f", "lavfi", "-i", audio_source]
    args += list(video_codec)
    if sound is not None:
        args += list(audio_codec)
    ffmpeg(*args, "-t", str(seconds), str(path))
    return path


def run_script(script: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a top-level script (pickler.py, theanet.py, ...) with this interpreter."""
    return subprocess.run([sys.executable, str(REPO / script), *args], cwd=cwd,
                          capture_output=True, text=True)


def help_text(output: str, prog: str, typed: str) -> str:
    """A command's --help output with its program name, as the usage line says it (`prog`)
    and as the examples type it (`typed`), replaced by PROG, and every run of white space
    made one space: argparse wraps the usage line by the name's length."""
    output = output.replace(typed, "PROG")
    output = re.sub(rf"^usage: {re.escape(prog)}\b", "usage: PROG", output)
    return " ".join(output.split())


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    """A failed run: the expected exit code, one line on stderr, no traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write_shapes_pickles(folder: Path, side: int, samples: int) -> Path:
    """frames.pkl / audio.pkl of the trainer's tiny shapes fixture (900 slots) in `folder`."""
    from bitmap2pcm.core.files import save_pickle
    from scenes.synth import shapes_dataset

    frames, audio, _ = shapes_dataset(900, side=side, samples=samples, shapes=4, scene=10, seed=7)
    save_pickle(frames, folder / "frames.pkl")
    save_pickle(audio, folder / "audio.pkl")
    return folder


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")
