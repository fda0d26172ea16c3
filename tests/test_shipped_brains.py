"""The shipped brains (brains/*.pkl): present, compact, renderable, and their cards true.

Tests marked `needs_shipped` use the committed brains; they are skipped, saying so, only
while no brains/*.pkl exists at all (before `make brains` has been run and committed). The
rest always run: the float16 round trip, and the whole retrain pipeline on a tiny brain.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, make_video, run_script
from render_helpers import check_mkv, render_sh

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.core.files import load_pickle
from scenes import synth
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.render import stream as render
from bitmap2pcm.shipped import cards, retrain
from bitmap2pcm.shipped import catalog as shipped

MAX_TOTAL_BYTES = 80_000_000  # all shipped brains together: small enough to clone
needs_shipped = pytest.mark.skipif(
    not any(shipped.BRAINS_DIR.glob("*.pkl")),
    reason="no shipped brains yet (brains/*.pkl): 'make brains' makes them, the lead commits them")
needs_csound = pytest.mark.skipif(shutil.which("csound") is None, reason="csound not installed")
NAMES = [s.name for s in shipped.BRAINS]

# card column -> the metric keys its numbers show, in order
METRIC_COLUMNS = {
    "r within (vs chance)": ("r_within", "r_within_chance"),
    "r pooled (vs chance)": ("r_pooled", "r_pooled_chance"),
    "level dB": ("level_db",),
    "LSD dB": ("lsd_db",),
    "onset ms (peak)": ("onset_lag_ms", "onset_peak"),
    "buzz dB": ("buzz_db",),
    "click": ("click_ratio",),
    "dip": ("edge_dip",),
    "black/white dBFS": ("silence_black_dbfs", "silence_white_dbfs"),
}


# ---- reading a card back ----------------------------------------------------------------

def card_table(text: str, first_header: str) -> list[dict[str, str]]:
    """The rows of the card's Markdown table whose first header is `first_header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    headers = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(headers, (cell.strip() for cell in line.strip("|").split("|")))))
    return rows


def assert_shown(cell: str, expected: list[float], what: str) -> None:
    """The numbers printed in `cell` are `expected`, each to the digits it is printed with."""
    printed = re.findall(r"[-+]?\d+(?:\.\d+)?", cell)
    assert len(printed) == len(expected), (what, cell, expected)
    for text, value in zip(printed, expected):
        digits = len(text.split(".")[1]) if "." in text else 0
        assert abs(float(text) - value) <= 0.5 * 10 ** -digits + 1e-9, (what, cell, expected)


def check_card(text: str, network: brains.Brain) -> None:
    """Every number of the card agrees with the brain's record."""
    training, settings = network.training, network.training["settings"]
    values = {row["what"]: row["value"] for row in card_table(text, "what")}
    assert values["shape"] == "-".join(map(str, network.layer_sizes))
    assert values["target"] == training["target"]
    assert int(values["history (frame differences)"]) == training["history"]
    assert float(values["silence seconds"]) == training["silence_seconds"]
    assert float(values["fine-tuning learning rate"]) == settings["learning_rate"]
    assert float(values["pretraining learning rate"]) == settings["pretrain_learning_rate"]
    assert int(values["batch"]) == settings["batch"] and int(values["seed"]) == settings["seed"]
    assert [int(n) for n in values["pretraining epochs per layer"].split(", ") if n != "0"] == \
        [n for n in training["epochs"]["pretrain"] if n]
    assert int(values["fine-tuning epochs"]) == training["epochs"]["finetune"]
    assert int(values["best epoch"]) == training["best_epoch"]
    assert_shown(values["training seconds"], [training["seconds"]], "training seconds")
    assert network.shipped["cpu"] in values["trained on"]

    frames = training["frames"]
    slots = re.search(r"(\d+) slots of 1/30 s: (\d+) trained on, (\d+) for early stopping, "
                      r"(\d+) held out", text)
    assert slots and [int(n) for n in slots.groups()] == \
        [frames["total"], frames["train"], frames["validation"], frames["held_out"]]
    for data in network.shipped["data"]:
        assert f"`{data['pattern']}` ({len(data['videos'])} video" in text
        assert data["license"] in text

    scoring = network.evaluation
    assert_shown(re.search(r"on the ([\d.]+) s \((\d+) slots\)", text).group(0),
                 [scoring["scored"]["seconds"], scoring["scored"]["slots"]], "scored")
    rows = card_table(text, "model")
    assert [row["model"] for row in rows] == [row["model"] for row in scoring["rows"]]
    for shown, recorded in zip(rows, scoring["rows"]):
        for column, keys in METRIC_COLUMNS.items():
            assert_shown(shown[column], [recorded[k] for k in keys if recorded.get(k) is not None],
                         f"{recorded['model']}: {column}")
    assert shipped.LISTENING_NOTES.get(network.shipped["name"], shipped.NOT_LISTENED) in text


# ---- always: the compact format and the retrain pipeline on a tiny brain --------------------

def test_compact_halves_the_weights_and_load_upcasts_them(tmp_path):
    rng = np.random.default_rng(0)
    network = brains.make_brain([rng.normal(0, 0.05, (grid.PIXELS_PER_FRAME, 16)),
                                 rng.normal(0, 0.5, (16, grid.SAMPLES_PER_SLOT))],
                                [rng.normal(0, 1, 16), rng.normal(0, 1, grid.SAMPLES_PER_SLOT)],
                                ["sigmoid", "linear"], {"seed": 0})
    network.resume = {"progress": {}}
    full, small = tmp_path / "full.pkl", tmp_path / "small.pkl"
    brains.save(network, full)
    brains.save(brains.compact(network), small)
    on_disk = load_pickle(small)
    assert [w.dtype for w in on_disk["weights"]] == [np.float16, np.float16]
    assert [b.dtype for b in on_disk["biases"]] == [np.float32, np.float32]
    assert "resume" not in on_disk and network.resume is not None  # the original is left alone
    assert small.stat().st_size < 0.55 * full.stat().st_size
    loaded = brains.load(small)
    assert [w.dtype for w in loaded.weights] == [np.float32, np.float32]
    for before, after in zip(network.weights, loaded.weights):
        assert np.allclose(before, after, rtol=1e-3, atol=1e-7)  # float16: 11 bits of mantissa
    frames = rng.random((8, grid.PIXELS_PER_FRAME), dtype=np.float32)
    assert np.abs(brains.forward(loaded, frames) - brains.forward(network, frames)).max() < 1e-2

    network.weights[0][0, 0] = 7e4  # beyond float16's largest, 65504
    with pytest.raises(UserError, match="float16"):
        brains.compact(network)


@pytest.fixture(scope="module")
def tiny_shipped(tmp_path_factory) -> tuple[shipped.Shipped, Path]:
    """A tiny brain made by retrain.retrain end to end (pickler.py with silence anchors,
    theanet.py, float16, evaluate.py, brain and card) on a 4 s generated video."""
    folder = tmp_path_factory.mktemp("ship")
    video = synth.write_video(folder / "shapes.mkv", seconds=4.0, seed=1)
    tiny = shipped.Shipped("tiny", "A test brain.", ("--silence", "1"),
                           ("--layers", "4096,8,735", "--epochs", "2", "--pretrain-epochs", "1"),
                           data=(shipped.Source(str(video), "a generated video", "CC0 (a test)"),))
    destination = folder / "brains"
    destination.mkdir()
    assert retrain.retrain([tiny], folder / "work", destination) == [destination / "tiny.pkl"]
    return tiny, destination


@pytest.mark.slow
def test_retrain_pipeline_end_to_end(tiny_shipped):
    tiny, destination = tiny_shipped
    assert sorted(p.name for p in destination.iterdir()) == ["tiny.md", "tiny.pkl"]
    on_disk = load_pickle(destination / "tiny.pkl")
    assert {w.dtype for w in on_disk["weights"]} == {np.dtype(np.float16)}
    network = brains.load(destination / "tiny.pkl")
    assert network.layer_sizes == [4096, 8, 735]
    assert network.training["silence_seconds"] == 1 and network.training["seed"] == 0
    record = network.shipped
    assert record["name"] == "tiny" and record["data"][0]["license"] == "CC0 (a test)"
    assert "--silence 1" in record["commands"]["pickler"]
    assert "--holdout-tail 0.2 --seed 0" in record["commands"]["theanet"]
    scoring = network.evaluation
    assert [r["model"] for r in scoring["rows"] if r["kind"] == "brain"] == ["tiny (raw)", "tiny (smooth)"]
    assert {r["model"] for r in scoring["rows"] if r["kind"] == "baseline"} == \
        {"constant", "clip-mean spectrum", "retrieval", "motion", "flow onsets"}
    assert scoring["scored"]["slots"] == network.training["frames"]["held_out"] > 0
    assert scoring["scored"]["why"] == ["held out in training"]
    check_card((destination / "tiny.md").read_text(), network)


@pytest.mark.slow
def test_cards_are_rewritten_from_the_record_alone(tiny_shipped, monkeypatch, tmp_path):
    tiny, destination = tiny_shipped
    shutil.copy(destination / "tiny.pkl", tmp_path / "tiny.pkl")
    monkeypatch.setitem(shipped.LISTENING_NOTES, "tiny", "Sounds like a kettle.")
    cards.write_cards([tiny], tmp_path)
    text = (tmp_path / "tiny.md").read_text()
    assert "Sounds like a kettle." in text and shipped.NOT_LISTENED not in text
    check_card(text, brains.load(tmp_path / "tiny.pkl"))

    network = brains.load(tmp_path / "tiny.pkl")
    network.shipped = None
    brains.save(network, tmp_path / "tiny.pkl")
    with pytest.raises(UserError, match="not made by brains/retrain.py"):
        cards.write_cards([tiny], tmp_path)


def test_retrain_refuses_missing_videos_before_any_work(tmp_path):
    nothing = shipped.Shipped("none", "No data.", (), ("--preset", "shallow"),
                              data=(shipped.Source(str(tmp_path / "*.mkv"), "nothing", "none"),))
    with pytest.raises(UserError, match="no video matches"):
        retrain.retrain([nothing], tmp_path / "work", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert not any((tmp_path / "work").rglob("*.pkl"))


@pytest.mark.slow
def test_retrain_script_usage():
    result = run_script("brains/retrain.py", "--help")
    assert result.returncode == 0 and all(name in result.stdout for name in NAMES)
    for args, fragment in ((["--only", "shallow,nonesuch"], "no shipped brain is called 'nonesuch'"),
                           (["--work"], "--work")):
        result = run_script("brains/retrain.py", *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert fragment in result.stderr.splitlines()[-1]


@pytest.mark.slow
def test_the_default_brain_is_named_once():
    assert shipped.by_name(shipped.DEFAULT).name == shipped.DEFAULT
    assert render.DEFAULT_BRAIN == shipped.BRAINS_DIR / f"{shipped.DEFAULT}.pkl"
    for result in (render_sh("--help", cwd=REPO), run_script("render.py", "--help")):
        assert result.returncode == 0
        assert f"default: the shipped brain {shipped.DEFAULT})" in " ".join(result.stdout.split())


# ---- the committed brains -------------------------------------------------------------------

@needs_shipped
def test_every_shipped_brain_is_there_compact_and_made_as_listed():
    total = 0
    for spec in shipped.BRAINS:
        path = shipped.brain_file(spec.name)
        assert path.is_file() and shipped.card_file(spec.name).is_file(), spec.name
        total += path.stat().st_size
        on_disk = load_pickle(path)
        assert {w.dtype for w in on_disk["weights"]} == {np.dtype(np.float16)}, spec.name
        record = on_disk["shipped"]
        assert record["name"] == spec.name and record["description"] == spec.description
        # made with today's options: editing BRAINS without `make brains` fails here
        assert " ".join((*spec.theanet, *shipped.HELD_OUT)) in record["commands"]["theanet"]
        assert record["commands"]["pickler"].endswith(" ".join((*spec.pickler, "-q")))
        assert [d["pattern"] for d in record["data"]] == [s.pattern for s in spec.data]
        assert all(not Path(c["source"]).is_absolute()  # portable: no path of this machine
                   for c in on_disk["training"]["holdout"]["clips"])
        render.load_brain(path)  # render accepts it
    assert total <= MAX_TOTAL_BYTES, f"shipped brains take {total / 1e6:.1f} MB"


@needs_shipped
@pytest.mark.parametrize("name", NAMES)
def test_every_card_agrees_with_its_brain(name):
    check_card(shipped.card_file(name).read_text(), brains.load(shipped.brain_file(name)))


@pytest.fixture(scope="module")
def short_video(tmp_path_factory) -> Path:
    """2 s at 25 fps with moving pictures and a sound track (which render replaces)."""
    return make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=2.0, fps="25",
                      size="96x64", sound="sine=f=330")


@needs_shipped
@needs_csound
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_brain_renders(name, short_video, tmp_path):
    # the default brain through render.sh's default, the others by name
    chosen = [] if name == shipped.DEFAULT else ["--brain", str(shipped.brain_file(name))]
    result = render_sh(*chosen, "-q", str(short_video), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sound = check_mkv(tmp_path / f"{name}-clip.mp4-deeplearn.mkv", short_video, grid.RATE_HZ)
    granular = check_mkv(tmp_path / f"{name}-clip.mp4-granular-deeplearn.mkv", short_video, 44100)
    for samples in (sound, granular):
        assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0
