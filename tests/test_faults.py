"""Every command against a failing system: a full disk, a nearly full one (the failure comes
mid-write), a read-only folder and a folder without write permission.

Each run must end with one line on stderr that names the file or folder and the reason, exit
status 1, no traceback, no new file in the output folder and the previous output unchanged.
The faults are real: size-limited tmpfs mounts (remounted read-only for that case) when the
tests run as root, and a folder without write permission (chmod 555);
without root, a file-size limit (RLIMIT_FSIZE) stands in for the full disk. Root ignores
permission bits, so the permission case runs its command without that capability.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, make_video
from render_helpers import train_tiny_brain

from bitmap2pcm.core import grid

pytestmark = pytest.mark.slow  # every test here trains, renders or starts a process

IS_ROOT = os.geteuid() == 0
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2  # what lets root ignore permission bits
TMPFS_BYTES = 5 << 20
NEARLY_FULL_BYTES = 16 << 10  # room for the folder check, not for any real output


def _mount_tmpfs(folder: Path) -> bool:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0777",
                             "tmpfs", str(folder)], capture_output=True)
    return result.returncode == 0


def _fill(folder: Path, leave_bytes: int) -> None:
    """Fill the file system of `folder` until `leave_bytes` remain."""
    free = shutil.disk_usage(folder).free - leave_bytes
    with open(folder / ".filler", "wb") as stream:
        with contextlib.suppress(OSError):
            while free > 0:
                chunk = min(free, 1 << 20)
                stream.write(b"\0" * chunk)
                stream.flush()
                free -= chunk


class Fault:
    """An output folder that fails in one way, with a previous output already in it."""

    def __init__(self, kind: str, root: Path):
        self.kind = kind
        self.folder = root / kind
        self.folder.mkdir()
        self.mounted = False
        self.limit_bytes: int | None = None
        self.without_override = False

    def prepare(self, previous: dict[str, bytes]) -> None:
        if self.kind in ("full", "nearly-full", "read-only"):
            if IS_ROOT and _mount_tmpfs(self.folder):
                self.mounted = True
            elif self.kind == "read-only":
                pytest.skip("a read-only folder needs a tmpfs mount (root)")
            else:  # without root: a file-size limit in the child
                self.limit_bytes = 0 if self.kind == "full" else NEARLY_FULL_BYTES
        for name, content in previous.items():
            (self.folder / name).write_bytes(content)
        if self.mounted and self.kind == "full":
            _fill(self.folder, 0)
        elif self.mounted and self.kind == "nearly-full":
            _fill(self.folder, NEARLY_FULL_BYTES)
        elif self.kind == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(self.folder)], check=True)
        elif self.kind == "denied":
            self.folder.chmod(0o555)
            self.without_override = IS_ROOT

    def listing(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.folder.iterdir() if p.name != ".filler"}

    def run(self, *command: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        def child_setup() -> None:
            if self.limit_bytes is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit_bytes, self.limit_bytes))
            if self.without_override:  # root whose next program obeys permission bits
                libc = ctypes.CDLL(None, use_errno=True)
                for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
                    if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                        raise OSError(ctypes.get_errno(), "cannot drop a capability")
        return subprocess.run(list(command), cwd=cwd, capture_output=True, text=True,
                              preexec_fn=child_setup)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.folder)], check=True)
        with contextlib.suppress(OSError):
            self.folder.chmod(0o755)


FAULTS = ["full", "nearly-full", "read-only", "denied"]
REASONS = {"full": ("No space left on device", "File too large"),
           "nearly-full": ("No space left on device", "File too large"),
           "read-only": ("Read-only file system",),
           "denied": ("Permission denied",)}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A video, training pickles and a brain to feed the commands."""
    folder = tmp_path_factory.mktemp("fault-inputs")
    clip = make_video(folder / "clip.mkv", seconds=3.0, size="64x48",
                      picture="lum:128+110*sin(5*T)", sound="sine=f=300")
    brain = train_tiny_brain(folder / "brain")
    return {"video": clip, "brain": brain,
            "frames": brain.parent / "frames.pkl", "audio": brain.parent / "audio.pkl"}


def commands(inputs: dict[str, Path], out: Path) -> dict[str, tuple[list[str], dict[str, bytes], Path | None]]:
    """Each command writing into `out`: its command line, the previous outputs placed there
    first, and the folder to run it in."""
    python = sys.executable
    old = pickle.dumps({"previous": True})
    return {
        "pickler": ([python, str(REPO / "pickler.py"), "-q", str(inputs["video"]), "-o", str(out)],
                    {"frames.pkl": old, "audio.pkl": old}, None),
        "theanet": ([python, str(REPO / "theanet.py"), "-q", "--frames", str(inputs["frames"]),
                     "--audio", str(inputs["audio"]),
                     "--layers", f"{grid.PIXELS_PER_FRAME},8,{grid.SAMPLES_PER_SLOT}",
                     "--epochs", "2", "--pretrain-epochs", "0", "--save-every", "1",
                     "-o", str(out / "brain.pkl")], {"brain.pkl": old}, None),
        "render": ([python, str(REPO / "render.py"), "-q", str(inputs["video"]), "--brain",
                    str(inputs["brain"]), "-o", str(out / "out.wav"), "--score", str(out / "g.sco")],
                   {"out.wav": old}, None),
        "render.sh": ([str(REPO / "render.sh"), "-q", "--brain", str(inputs["brain"]),
                       str(inputs["video"])], {f"tiny-{inputs['video'].name}-deeplearn.mkv": old}, out),
        "evaluate": ([python, str(REPO / "evaluate.py"), "-q", str(inputs["video"]), "--brain",
                      str(inputs["brain"]), "--mode", "raw", "--json", str(out / "s.json"),
                      "--markdown", str(out / "s.md"), "--plot", str(out / "s.png")],
                     {"s.json": old}, None),
    }


COMMANDS = ["pickler", "theanet", "render", "render.sh", "evaluate"]


@pytest.mark.parametrize("fault_kind", FAULTS)
@pytest.mark.parametrize("name", COMMANDS)
def test_a_failing_folder_gets_one_line_and_leaves_nothing(inputs, tmp_path, name, fault_kind):
    if name == "render.sh" and shutil.which("csound") is None:
        pytest.skip("csound not installed")
    fault = Fault(fault_kind, tmp_path)
    try:
        command, previous, cwd = commands(inputs, fault.folder)[name]
        fault.prepare(previous)
        before = fault.listing()
        result = fault.run(*command, cwd=cwd)
        after = fault.listing()
    finally:
        fault.close()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert any(reason in lines[0] for reason in REASONS[fault_kind]), lines[0]
    assert after == before, "the output folder changed"
