"""Retraining the shipped brains through the public scripts.

`retrain` runs pickler.py, theanet.py and evaluate.py with this Python from the repository
root, so a shipped brain is made exactly as a user would make one: one data set per distinct
data (videos and pickler options), the last 20% of every clip held out, a fixed seed. Each
brain is then made compact (float16 weights, `brain.compact`), scored on its held-out slots
*as the compact file* by evaluate.py, and written to `brains/NAME.pkl` with two more
plain-data fields:

    shipped     name, description, the data (videos, what they are, license), the commands
                that made it, the CPU it trained on
    evaluation  evaluate.py's rows on the held-out slots (the brain in each scored mode, the
                baselines, the truth), what was scored, and the command

and its card (`cards.write_card`).
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from ..core.errors import UserError
from ..core.files import check_writable_dir
from ..learn import backend
from ..learn import brain as brain_format
from ..learn.brain import Brain
from .cards import write_card
from .catalog import BRAINS_DIR, HELD_OUT, REPO, Shipped, Source, brain_file, card_file

log = logging.getLogger("bitmap2pcm")


def retrain(brains: Sequence[Shipped], work: Path, destination: Path = BRAINS_DIR) -> list[Path]:
    """Retrain `brains` into `destination` (brain and card each), pickling each distinct data
    set once under `work`, where the full-precision brains and evaluate.py's tables stay too.
    Returns the brain files written."""
    work.mkdir(parents=True, exist_ok=True)
    check_writable_dir(work)
    check_writable_dir(destination)
    datasets: dict[tuple[tuple[Source, ...], tuple[str, ...]], tuple[Path, str]] = {}
    written = []
    for shipped in brains:
        key = (shipped.data, shipped.pickler)
        if key not in datasets:
            datasets[key] = _pickle(shipped, work / f"data{len(datasets) + 1}")
        written.append(_make(shipped, *datasets[key], work, destination))
    return written


def _pickle(shipped: Shipped, folder: Path) -> tuple[Path, str]:
    """pickler.py on the brain's videos into `folder`, one clip per video; returns the
    folder and the command."""
    videos = [_relative(v) for source in shipped.data for v in source.videos()]
    folder.mkdir(parents=True, exist_ok=True)
    return folder, _run("pickler.py", *videos, "-o", _relative(folder), *shipped.pickler, "-q")


def _make(shipped: Shipped, data: Path, pickling: str, work: Path, destination: Path) -> Path:
    """Train, compact, score and publish one brain (`data`: the folder that `pickling`, a
    pickler.py command, filled); returns brains/NAME.pkl."""
    trained = work / "float32" / f"{shipped.name}.pkl"
    trained.parent.mkdir(exist_ok=True)
    train = _run("theanet.py", "--frames", _relative(data / "frames.pkl"),
                 "--audio", _relative(data / "audio.pkl"), *shipped.theanet, *HELD_OUT,
                 "--save-every", "0", "-o", _relative(trained), "-q")
    network = brain_format.compact(_portable(brain_format.load(trained)))
    network.shipped = {
        "name": shipped.name,
        "description": shipped.description,
        "data": [{"pattern": s.pattern, "videos": [_relative(v) for v in s.videos()],
                  "what": s.what, "license": s.license} for s in shipped.data],
        "commands": {"pickler": pickling, "theanet": train},
        "cpu": backend.cpu_model(),
    }
    compact_file, table_file = work / f"{shipped.name}.pkl", work / f"{shipped.name}.json"
    brain_format.save(network, compact_file)  # evaluate.py scores exactly the shipped weights
    scoring = _run("evaluate.py", "--brain", _relative(compact_file), "--mode", "raw",
                   "--mode", "smooth", "--json", _relative(table_file), "-q")
    network.evaluation = _evaluation(json.loads(table_file.read_text())[0], scoring)
    destination_file = brain_file(shipped.name, destination)
    brain_format.save(network, destination_file)
    write_card(network, card_file(shipped.name, destination))
    log.info("wrote %s and its card (%.1f MB)", destination_file, destination_file.stat().st_size / 1e6)
    return destination_file


def _run(script: str, *args: str) -> str:
    """Run a project script with this Python in the repository; its warnings pass through,
    a failure becomes a UserError with its last line. Returns the command as text."""
    command = "python " + shlex.join([script, *args])
    log.info("+ %s", command)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, script, *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        raise UserError(f"{script} failed: {lines[-1]}")
    log.info("  %.0f s", time.perf_counter() - started)
    return command


def _relative(path: str | Path) -> str:
    """`path` relative to the repository when it is inside it (the scripts run there, and a
    record without this machine's folders reads the same in any clone), else absolute."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO))
    except ValueError:
        return str(resolved)


def _portable(network: Brain) -> Brain:
    """The training record's data and held-out video paths made relative to the repository,
    so that `evaluate.py --brain brains/NAME.pkl` run from any clone's root scores the
    held-out slots of the example videos."""
    training = network.training
    training["data"] = {key: value and _relative(value) for key, value in training["data"].items()}
    for clip in training["holdout"]["clips"]:
        clip["source"] = clip["source"] and _relative(clip["source"])
    return network


def _evaluation(table: dict[str, Any], command: str) -> dict[str, Any]:
    """What a brain keeps of evaluate.py's table (plain data): every row (the brain in each
    scored mode, the baselines, the truth) with all its metrics, what was scored, the notes."""
    scored = table["scored"]
    return {"command": command,
            "scored": {"slots": scored["slots"], "seconds": scored["seconds"],
                       "videos": [_relative(v["path"]) for v in scored["videos"]],
                       "why": sorted({v["why"] for v in scored["videos"]})},
            "rows": [dict(row) for row in table["rows"]],
            "notes": list(table["notes"])}
