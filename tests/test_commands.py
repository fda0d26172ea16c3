"""`bitmap2pcm` and its subcommands against the checkout's scripts: the same help, exit codes
and one-line errors, under the subcommand's name; and --brain NAME for a shipped brain."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, assert_one_line_error, help_text

from bitmap2pcm.commands import main as bitmap2pcm
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.render import stream

# subcommand -> the checkout's script that is the same command
SCRIPTS = {"pickle": "pickler.py", "train": "theanet.py", "render": "render.sh", "evaluate": "evaluate.py",
           "live": "live.py"}


def command(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bitmap2pcm", *args], cwd=cwd, capture_output=True,
                          text=True)


def script(name: str, *args: str) -> subprocess.CompletedProcess:
    runner = [str(REPO / name)] if name.endswith(".sh") else [sys.executable, str(REPO / name)]
    return subprocess.run([*runner, *args], cwd=REPO, capture_output=True, text=True)


def test_every_subcommand_has_its_script():
    assert set(bitmap2pcm.SUBCOMMANDS) == set(SCRIPTS)
    for name, (module, _) in bitmap2pcm.SUBCOMMANDS.items():
        assert importlib.import_module(f"bitmap2pcm.commands.{module}").COMMAND.script.prog == SCRIPTS[name]


@pytest.mark.parametrize("name", SCRIPTS)
@pytest.mark.slow
def test_a_subcommand_has_its_scripts_help(name):
    installed, checkout = command(name, "--help"), script(SCRIPTS[name], "--help")
    assert installed.returncode == checkout.returncode == 0, installed.stderr + checkout.stderr
    assert "examples:" in installed.stdout and f"bitmap2pcm {name} " in installed.stdout
    typed = {"render.sh": "./render.sh"}.get(SCRIPTS[name], f"python {SCRIPTS[name]}")
    assert (help_text(installed.stdout, f"bitmap2pcm {name}", f"bitmap2pcm {name}")
            == help_text(checkout.stdout, SCRIPTS[name], typed))


@pytest.mark.slow
def test_the_command_lists_its_subcommands_and_refuses_others():
    listing = command("--help")
    assert listing.returncode == 0 and all(f"  {name} " in listing.stdout for name in SCRIPTS)
    assert command("--version").stdout.startswith("bitmap2pcm ")
    for args in ((), ("nonesuch",), ("--loud", "render")):
        result = command(*args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


@pytest.mark.slow
def test_errors_name_the_subcommand(tmp_path):
    assert_one_line_error(command("pickle", "gone.mp4", cwd=tmp_path), 1,
                          "bitmap2pcm pickle: error: ", "gone.mp4")
    usage = command("render", "a.mp4", "-x", "-y", cwd=tmp_path)
    assert usage.returncode == 2 and "bitmap2pcm render: error: too many arguments" in usage.stderr
    assert list(tmp_path.iterdir()) == []


needs_shipped = pytest.mark.skipif(not stream.shipped_names(), reason="no shipped brains ('make brains')")


@needs_shipped
def test_a_shipped_brain_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = stream.shipped_names()[0]
    assert stream.resolve_brain(name) == stream.BRAINS_DIR / f"{name}.pkl"
    (tmp_path / name).write_bytes(b"")  # a file of that name here is what the user means
    assert stream.resolve_brain(name) == Path(name)
    assert stream.resolve_brain(f"./{name}.pkl") == Path(f"./{name}.pkl")  # a path is a path
    with pytest.raises(UserError, match=f"no shipped brain has that name.*{name}"):
        stream.resolve_brain("nonesuch")
