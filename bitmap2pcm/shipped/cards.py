"""The card of a shipped brain (`brains/NAME.md`), written from the brain's own record
alone, plus the listening note, which is a person's judgement after listening and lives in
`catalog.LISTENING_NOTES`."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..core.errors import UserError
from ..core.files import atomic_open, load_pickle
from ..judge import report
from ..learn import brain as brain_format
from ..learn import memory
from ..learn.brain import Brain
from .catalog import BRAINS_DIR, DEFAULT, LISTENING_NOTES, NOT_LISTENED, Shipped, brain_file, card_file


def write_cards(brains: Sequence[Shipped], folder: Path = BRAINS_DIR) -> None:
    """Rewrite the cards of brains already in `folder` from their records (no training)."""
    for shipped in brains:
        path = brain_file(shipped.name, folder)
        network = brain_format.load(path)
        if network.shipped is None or network.evaluation is None:
            raise UserError(f"{path}: not made by brains/retrain.py (no shipped record); retrain it")
        # load upcasts the weights: the card says what the file holds
        on_disk = str(load_pickle(path)["weights"][0].dtype)
        write_card(network, card_file(shipped.name, folder), on_disk)


def write_card(network: Brain, path: Path, weights_on_disk: str | None = None) -> None:
    note = LISTENING_NOTES.get(network.shipped["name"], NOT_LISTENED)
    with atomic_open(path, "w") as stream:
        stream.write(card(network, note, weights_on_disk))


def card(network: Brain, note: str, weights_on_disk: str | None = None) -> str:
    """The Markdown card of a shipped brain, from its record alone (and the listening note):
    data and license, shape, options, epochs, training time, held-out metrics;
    `weights_on_disk` is the file's weight type (default: the brain's, as made to ship)."""
    shipped, training, scoring = network.shipped, network.training, network.evaluation
    settings, frames, name = training["settings"], training["frames"], shipped["name"]
    default = " It is the default brain: `./render.sh VIDEO` uses it." if name == DEFAULT else ""
    lines = [f"# Brain `{name}`", "", shipped["description"], "",
             f"Render with `./render.sh --brain brains/{name}.pkl VIDEO`.{default} Retrain with "
             f"`python brains/retrain.py --only {name}`. This card is generated from the brain's own "
             "record by that command: do not edit it by hand.", "", "## Training data", ""]
    lines += [f"- `{d['pattern']}` ({_count(len(d['videos']), 'video')}): {d['what']}. "
              f"License: {d['license']}." for d in shipped["data"]]
    silence = training.get("silence_seconds") or 0
    lines += ["", f"{frames['total']} slots of 1/30 s: {frames['train']} trained on, "
              f"{frames['validation']} for early stopping, {frames['held_out']} held out (the last "
              f"{settings['holdout_tail']:.0%} of every clip, never seen in training)"
              + (f"; they include {silence:g} s of black and {silence:g} s of white pictures "
                 "paired with silence" if silence else "") + ".", "",
              "## Network and training", "", "| what | value |", "|---|---|"]
    rows = [
        ("shape", "-".join(map(str, network.layer_sizes))),
        ("target", training["target"]),
        ("history (frame differences)", training["history"]),
        ("memory (past slots the output layer reads)",
         f"{memory.reach_of(network.memory_spans) + 1} in {len(network.memory_spans)} spans"
         if network.memory is not None else "none"),
        ("silence seconds", f"{silence:g}"),
        ("fine-tuning learning rate", f"{settings['learning_rate']:g}"),
        ("pretraining learning rate", f"{settings['pretrain_learning_rate']:g}"),
        ("batch", settings["batch"]),
        ("seed", settings["seed"]),
        ("pretraining epochs per layer", ", ".join(map(str, training["epochs"]["pretrain"])) or "0"),
        ("fine-tuning epochs", training["epochs"]["finetune"]),
        ("best epoch", training["best_epoch"]),
        ("training seconds", f"{training['seconds']:.1f}"),
        ("trained on", f"{shipped['cpu']}; {training['backend']['device']}"),
        ("weights on disk",
         f"{weights_on_disk or network.weights[0].dtype} (render upcasts them to float32)"),
    ]
    lines += [f"| {what} | {value} |" for what, value in rows]
    lines += ["", "Made by:", "", "```sh", shipped["commands"]["pickler"],
              shipped["commands"]["theanet"], scoring["command"], "```", "",
              "## Held-out metrics", "",
              f"`evaluate.py` on the {scoring['scored']['seconds']:.1f} s "
              f"({scoring['scored']['slots']} slots) of {_count(len(scoring['scored']['videos']), 'video')} "
              f"that training never saw, scored with this very file (float16 weights):", "",
              "| " + " | ".join(report.HEADERS[1:]) + " |", "|" + "---|" * (len(report.HEADERS) - 1)]
    lines += ["| " + " | ".join(report.cells({"set": name}, row)[1:]) + " |" for row in scoring["rows"]]
    lines += ["", report.LEGEND, ""]
    lines += [f"Note: {n}" for n in scoring["notes"]]
    lines += ["", "## Listening note", "", note, ""]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"
