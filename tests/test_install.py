"""The checkout installs like any other tool: `pip install .` into a fresh virtual environment
gives one command, `bitmap2pcm`, which works outside any checkout, shipped brains included.

The environment is new, but it borrows this one's packages (numpy, PyTensor, setuptools, pip)
through a .pth file, which Python reads after the environment's own site-packages: what the
install put there comes first, and nothing is downloaded. pip builds from a copy of the
checkout's build inputs, because a build writes build/ and an egg-info into its source folder.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, help_text, make_video
from render_helpers import check_mkv

from bitmap2pcm.core import grid
from bitmap2pcm.render import stream

pytestmark = [pytest.mark.install, pytest.mark.slow]

BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE")  # and the package itself


def run(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess:
    """`command` as a user outside the checkout runs it: no PYTHONPATH leading to it."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh virtual environment with the checkout pip-installed in it."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(REPO / "bitmap2pcm", source / "bitmap2pcm",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in BUILD_INPUTS:
        shutil.copy(REPO / name, source / name)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root)
    (Path(purelib.stdout.strip()) / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    # --ignore-installed: the borrowed packages include this checkout's editable install,
    # which pip must neither reuse nor try to remove
    installed = run([python, "-m", "pip", "install", "--no-index", "--no-deps", "--no-build-isolation",
                     "--ignore-installed", "--no-cache-dir", "--disable-pip-version-check", "-q",
                     source], root)
    assert installed.returncode == 0, installed.stderr
    return venv


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_the_package_is_imported_from_the_environment(venv, elsewhere):
    result = run([venv / "bin" / "python", "-c", "import bitmap2pcm; print(bitmap2pcm.__file__)"],
                 elsewhere)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(venv)


@pytest.mark.skipif(shutil.which("csound") is None, reason="csound not installed")
@pytest.mark.skipif(not stream.DEFAULT_BRAIN.is_file(), reason="no shipped brains ('make brains')")
def test_render_outside_the_checkout_with_the_default_brain(venv, elsewhere):
    clip = make_video(elsewhere / "clip.mp4", seconds=1.0, fps="25", size="64x48")
    result = run([venv / "bin" / "bitmap2pcm", "render", "-q", clip.name], elsewhere)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    name = stream.DEFAULT_BRAIN.stem
    outputs = [f"{name}-clip.mp4-deeplearn.mkv", f"{name}-clip.mp4-granular-deeplearn.mkv"]
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted(["clip.mp4", *outputs])
    check_mkv(elsewhere / outputs[0], clip, grid.RATE_HZ)
    check_mkv(elsewhere / outputs[1], clip, 44100)


def test_the_installed_help_is_the_scripts_help(venv, elsewhere):
    top = run([venv / "bin" / "bitmap2pcm", "--help"], elsewhere)
    assert top.returncode == 0 and "examples:" in top.stdout
    assert all(name in top.stdout for name in ("pickle", "train", "render", "evaluate"))
    for command, script in (([venv / "bin" / "bitmap2pcm", "train"], "theanet.py"),
                            ([venv / "bin" / "python", "-m", "bitmap2pcm", "pickle"], "pickler.py")):
        installed = run([*command, "--help"], elsewhere)
        checkout = run([sys.executable, REPO / script, "--help"], elsewhere)
        assert installed.returncode == checkout.returncode == 0, installed.stderr + checkout.stderr
        prog = f"bitmap2pcm {command[-1]}"
        assert (help_text(installed.stdout, prog, prog)
                == help_text(checkout.stdout, script, f"python {script}"))
