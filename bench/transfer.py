"""Brains scored on videos they never saw, for bench/results.

Reusing a brain on a new video is what users do, and tails of 1-3 s of clips it trained on
are not that. Two protocols, both through the public scripts:

- **unseen clips** of a set of several clips: its clips are dealt into FOLDS groups (round
  robin over the sorted file names); for each group a brain trains on all the other clips
  and evaluate.py scores the group's clips whole; the group rotates. The set's table is the
  slot-weighted mean over the groups (`combine`).
- **the event benchmark** (examples/events/): brains train on train.mkv and are scored on the
  test scenes, other seeds and layouts.

Each brain trains with a fixed seed and no held-out tail (validation chunks for early
stopping come from its own training clips); the baselines learn from the same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from common import REPO, relative, run

from bitmap2pcm.core.files import load_pickle

FOLDS = 4
SEED = "0"
EVENTS = REPO / "examples" / "events"
# Values that are not averaged over folds: counts are summed, a flag holds in every fold or not.
_SUMMED = ("onset_true_onsets", "onset_rendered_onsets")
_ALL_FOLDS = ("flat",)


@dataclass(frozen=True)
class Transfer:
    """Train on `train`, score `test` (whole videos): one fold of a set, or the benchmark."""

    name: str          # folder name under the work folder
    table: str         # the set name the page shows (folds of one set share it)
    what: str
    train: tuple[Path, ...]
    test: tuple[Path, ...]


def unseen_clips(set_name: str, what: str, videos: Sequence[Path], folds: int = FOLDS) -> list[Transfer]:
    """Leave-one-group-out over a set's clips: FOLDS transfers, each clip scored once."""
    videos = sorted(videos)
    groups = [videos[k::folds] for k in range(folds)]
    return [Transfer(f"{set_name}-unseen-{k + 1}", f"{set_name} (unseen clips)", what,
                     tuple(v for g in groups if g is not group for v in g), tuple(group))
            for k, group in enumerate(groups) if group]


def event_benchmark() -> list[Transfer]:
    tests = tuple(sorted(EVENTS.glob("test-*.mkv")))
    return [Transfer("events", "events (test scenes)",
                     "the event benchmark: objects that fall, bounce, slide and collide, each "
                     "impact with its kind's recorded sound, and silent distractors "
                     "(examples/events/, made by examples/make_events.py)",
                     (EVENTS / "train.mkv",), tests)]


def train(transfer: Transfer, model: Any, work: Path, retrain: bool,
          epochs: str | None) -> dict[str, Any]:
    """Pickle the transfer's training videos with the model's pickler options and train the
    model on them (unless a brain made by the same commands is there); what the page says."""
    folder = work / transfer.name / model.data
    folder.mkdir(parents=True, exist_ok=True)
    brain, record_file = folder / f"{model.name}.pkl", folder / f"{model.name}.json"
    pickle_command = ["pickler.py", *map(relative, transfer.train), *model.pickle,
                      "-o", relative(folder), "-q"]
    train_command = ["theanet.py", "--frames", relative(folder / "frames.pkl"),
                     "--audio", relative(folder / "audio.pkl"), *model.train, "--seed", SEED,
                     "-o", relative(brain), "-q", "--save-every", "0",
                     *(["--epochs", epochs] if epochs else [])]
    made = json.loads(record_file.read_text()) if record_file.is_file() else {}
    if retrain or not brain.is_file() or made.get("pickle") != pickle_command \
            or made.get("train") != train_command:
        made = {"pickle": pickle_command, "train": train_command}
        if not (folder / "frames.pkl").is_file() or retrain:
            made["pickle_seconds"] = run(*pickle_command)
        brain.unlink(missing_ok=True)
        made["train_seconds"] = run(*train_command)
        record_file.write_text(json.dumps(made, indent=2) + "\n")
    training = load_pickle(brain)["training"]
    return {"transfer": transfer.name, "model": model.name, "brain": relative(brain),
            "commands": made, "seconds": training["seconds"],
            "epochs": training["epochs"]["finetune"], "best_epoch": training["best_epoch"]}


def score(transfer: Transfer, brains: Sequence[dict[str, Any]], modes: Sequence[str],
          work: Path) -> tuple[dict[str, Any], list[str]]:
    """One merged table for the transfer: the first brain with the baselines and the truth,
    the others' brain rows; and the evaluate.py commands that made it."""
    tables, commands = [], []
    for number, made in enumerate(brains):
        raw_json = work / transfer.name / f"evaluate-{made['model']}.json"
        args = ["evaluate.py", *map(relative, transfer.test), "--brain", made["brain"],
                *[a for mode in modes for a in ("--mode", mode)],
                *([] if number == 0 else ["--no-baselines"]), "-q", "--json", relative(raw_json)]
        run(*args)
        commands.append("python " + " ".join(args))
        tables.append(json.loads(raw_json.read_text())[0])
    merged = dict(tables[0])
    merged["set"] = transfer.table
    merged["rows"] = ([r for t in tables for r in t["rows"] if r["kind"] == "brain"]
                      + [r for r in tables[0]["rows"] if r["kind"] != "brain"])
    return merged, commands


def plot(transfer: Transfer, brain: str, mode: str, path: Path) -> str:
    """evaluate.py's picture of one brain on the transfer's test videos (its command)."""
    args = ["evaluate.py", *map(relative, transfer.test), "--brain", brain, "--mode", mode,
            "--no-baselines", "-q", "--plot", relative(path)]
    run(*args)
    return "python " + " ".join(args)


def combine(tables: Sequence[dict[str, Any]], label_of: Callable[[str], str] = lambda m: m) -> dict[str, Any]:
    """The folds of one set as one table: each row's numbers are the mean over the folds
    weighted by the slots each scored (counts are summed; a row is flat if it is flat in
    every fold). Rows are matched by model name with the fold's brain names replaced by
    `label_of`."""
    total = sum(t["scored"]["slots"] for t in tables)
    merged = {**tables[0], "scored": {
        "slots": total, "seconds": sum(t["scored"]["seconds"] for t in tables),
        "videos": [v for t in tables for v in t["scored"]["videos"]]},
        "notes": sorted({n for t in tables for n in t["notes"]})}
    rows: dict[str, list[tuple[dict[str, Any], int]]] = {}
    for t in tables:
        for r in t["rows"]:
            rows.setdefault(label_of(r["model"]), []).append((r, t["scored"]["slots"]))
    combined = []
    for model, entries in rows.items():
        first = dict(entries[0][0], model=model)
        for key in {key for r, _ in entries for key in r}:
            values = [(r.get(key), w) for r, w in entries]
            if key in _SUMMED:
                first[key] = sum(v or 0 for v, _ in values)
            elif key in _ALL_FOLDS:
                first[key] = all(v for v, _ in values)
            elif any(isinstance(v, (int, float)) and not isinstance(v, bool) for v, _ in values):
                # every fold that has a number counts, whichever fold comes first
                present = [(v, w) for v, w in values if v is not None]
                weight = sum(w for _, w in present)
                first[key] = sum(v * w for v, w in present) / weight if weight else None
        combined.append(first)
    merged["rows"] = combined
    return merged
