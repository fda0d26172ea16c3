"""The package's layout: folders by concern in pipeline order, and a move that changed nothing.

1. No module imports from a folder later in the pipeline than its own (the order is
   `bitmap2pcm.STAGES`), so each step can be read without the ones after it.
2. The same seed gives bit-identical brains and renders here and in the last commit of the
   flat layout, for the PCM and the STFT targets (skipped where git lacks that commit, as in
   a shallow clone).
"""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest
from conftest import REPO, make_video, write_shapes_pickles

import bitmap2pcm

FLAT_LAYOUT_COMMIT = "f3aec6f"  # the last commit before the package was sorted into folders
PACKAGE = REPO / "bitmap2pcm"


def stage_of(module: str) -> int:
    """Position in the pipeline of a dotted module name inside the package."""
    parts = module.split(".")
    assert parts[0] == "bitmap2pcm"
    return bitmap2pcm.STAGES.index(parts[1]) if len(parts) > 2 else -1


def imported_modules(path: Path) -> list[str]:
    """The package modules `path` imports, as absolute dotted names."""
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else [target]
                found += names
            elif node.module and node.module.startswith("bitmap2pcm"):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("bitmap2pcm")]
    return found


def test_every_module_lives_in_a_stage_folder():
    # __main__.py is `python -m bitmap2pcm`, one call into commands/
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"modules outside the stage folders: {loose}"
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(bitmap2pcm.STAGES)
    for folder in folders:
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
        assert doc, f"{folder}/__init__.py says nothing of what lives there"


def test_no_folder_imports_a_later_step():
    offences = []
    for path in PACKAGE.rglob("*.py"):
        mine = stage_of(".".join(path.relative_to(REPO).with_suffix("").parts))
        for name in imported_modules(path):
            if name.count(".") >= 2 and stage_of(name) > mine >= 0:
                offences.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offences, "\n".join(offences)


# --- bit-identical before and after the move -------------------------------------------------

def flat_layout(folder: Path) -> Path:
    """The flat layout's tree, unpacked from git into `folder` (no worktree, no side effects)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", FLAT_LAYOUT_COMMIT],
                             capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"git has no commit {FLAT_LAYOUT_COMMIT} here (a shallow clone?)")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def train_and_render(tree: Path, data: Path, clip: Path, out: Path, target: str) -> dict[str, str]:
    """Digests of the brain's arrays and of the render's WAV made by the scripts of `tree`."""
    outputs = {"pcm": 735, "stft": 513}[target]
    out.mkdir()
    trained = subprocess.run(
        [sys.executable, str(tree / "theanet.py"), "-q", "--frames", str(data / "frames.pkl"),
         "--audio", str(data / "audio.pkl"), "--layers", f"4096,16,{outputs}", "--target", target,
         "--epochs", "3", "--pretrain-epochs", "1", "--batch", "64", "--seed", "3",
         "--save-every", "0", "--holdout-tail", "0.2", "-o", str(out / "b.pkl")],
        cwd=out, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    rendered = subprocess.run(
        [sys.executable, str(tree / "render.py"), "-q", str(clip), "--brain", str(out / "b.pkl"),
         "-o", str(out / "out.wav")], cwd=out, capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr
    from bitmap2pcm.core.files import load_pickle

    brain = load_pickle(out / "b.pkl")
    arrays = b"".join(a.tobytes() for a in brain["weights"] + brain["biases"])
    return {"brain": hashlib.sha256(arrays).hexdigest(),
            "level_gain_db": str(brain["output"].get("level_gain_db")),
            "render": hashlib.sha256((out / "out.wav").read_bytes()).hexdigest()}


@pytest.mark.parametrize("target", ["pcm", "stft"])
def test_same_seed_same_brain_and_render_as_the_flat_layout(tmp_path, target):
    old = flat_layout(tmp_path / "flat")
    data = tmp_path / "data"
    data.mkdir()
    write_shapes_pickles(data, 64, 735)
    clip = make_video(tmp_path / "clip.mp4", seconds=2.0, size="64x48", picture="testsrc2")
    assert (train_and_render(REPO, data, clip, tmp_path / "now", target)
            == train_and_render(old, data, clip, tmp_path / "before", target))
