"""What the commands write on stderr: progress bars only for a person at a terminal (captured
logs get no carriage-return frames), and a warning that says its level once."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, make_video

from bitmap2pcm.core.files import save_pickle
from bitmap2pcm.learn import run, train

pytestmark = pytest.mark.slow  # every test here trains, renders or starts a process


def on_terminal(command: list[str], cwd: Path) -> tuple[int, str]:
    """Run `command` with its stderr on a pseudo-terminal; its exit status and what it wrote."""
    terminal, child_end = pty.openpty()
    try:
        process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=child_end)
    finally:
        os.close(child_end)
    written = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not chunk:
            break
        written += chunk
    os.close(terminal)
    return process.wait(), written.decode(errors="replace")


def test_pickler_draws_its_bar_on_a_terminal_only(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", seconds=3.0)
    command = [sys.executable, str(REPO / "pickler.py"), str(clip)]
    # bytes: text mode would turn every carriage return into a newline
    captured = subprocess.run(command, cwd=tmp_path, capture_output=True)
    assert captured.returncode == 0, captured.stderr
    assert b"\r" not in captured.stderr and b"slots" in captured.stderr  # the log, no frames
    status, shown = on_terminal(command, tmp_path)
    assert status == 0 and "\r" in shown  # a person still sees the bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_the_trainer_draws_its_bar_on_a_terminal_only(tmp_path, monkeypatch, capsys, terminal):
    save_pickle(np.random.default_rng(0).uniform(0, 1, (60, 64)).astype(np.float32), tmp_path / "f.pkl")
    save_pickle(np.full((60, 6), 0.5, np.float32), tmp_path / "a.pkl")
    monkeypatch.setattr(train, "PROGRESS_BAR_DELAY_S", 0.0)  # epochs this small are quicker
    stderr = Terminal()
    if terminal:
        monkeypatch.setattr(sys, "stderr", stderr)
    status = run.run_training(str(tmp_path / "f.pkl"), str(tmp_path / "a.pkl"), str(tmp_path / "b.pkl"),
                              [64, 8, 6], {"epochs": 1, "pretrain_epochs": 1, "batch": 8,
                                           "save_every": 0}, quiet=False)
    assert status == 0
    assert ("\r" in stderr.getvalue()) == terminal
    assert "\r" not in capsys.readouterr().err


@pytest.mark.parametrize("quiet", [False, True])
def test_a_warning_says_warning_once(tmp_path, quiet):
    save_pickle(np.random.default_rng(0).uniform(0, 1, (60, 64)).astype(np.float32), tmp_path / "f.pkl")
    save_pickle(np.full((50, 6), 0.5, np.float32), tmp_path / "a.pkl")  # 10 rows short: a warning
    result = subprocess.run(
        [sys.executable, str(REPO / "theanet.py"), "--frames", "f.pkl", "--audio", "a.pkl",
         "--layers", "64,8,6", "--epochs", "1", "--pretrain-epochs", "0", "--batch", "8",
         *(["-q"] if quiet else [])], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line.lower()]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("WARNING: ") and warnings[0].lower().count("warning") == 1
    assert "training on the first 50" in warnings[0]
