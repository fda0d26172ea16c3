"""evaluate.py and its package parts: baselines, held-out slots, the scored table, the CLI."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, make_video, run_script

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.data import holdout
from bitmap2pcm.judge import baselines, metrics
from bitmap2pcm.judge import evaluate as evaluation
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.media import audio, video

W = grid.SAMPLES_PER_SLOT
SECONDS = 6.0  # 180 or 181 slots (the AAC sound track may run a few ms longer)
TONE = 0.2 * np.sin(2 * np.pi * 440 * np.arange(W) / grid.RATE_HZ)
# Brightness swings slowly and the true sound's loudness with it (a 440 Hz tone).
PICTURE = "lum:128+110*sin(5*T)"
SOUND = "aevalsrc=(0.05+0.15*(1+sin(5*t)))*sin(2*PI*440*t)"


def brightness_brain(training: dict) -> brains.Brain:
    """A 4096-1-735 brain that hears brightness: one sigmoid unit of the mean pixel value,
    h = sigmoid(8 mean - 4), times a 440 Hz block: PCM = 2 (0.5 + h * TONE / 2) - 1 = h * TONE.
    Its loudness follows the picture, so its envelope must correlate with the truth's."""
    weights = [np.full((grid.PIXELS_PER_FRAME, 1), 8.0 / grid.PIXELS_PER_FRAME, np.float32),
               (TONE / 2.0)[None, :].astype(np.float32)]
    biases = [np.array([-4.0], np.float32), np.full(W, 0.5, np.float32)]
    return brains.make_brain(weights, biases, ["sigmoid", "linear"], training)


def expected_still_dbfs(pixel: float) -> float:
    """Level of the brightness brain's render of a still picture (raw join: its one block)."""
    h = 1.0 / (1.0 + np.exp(-(8.0 * pixel - 4.0)))
    return metrics.level_dbfs(h * TONE)


@pytest.fixture(scope="module")
def data_set(tmp_path_factory) -> dict[str, Path]:
    """A video with sound, its training pairs and sidecar (one clip), and a brain that held
    out the last 20% of it, recording both as theanet.py --holdout-tail does."""
    folder = tmp_path_factory.mktemp("evaluate")
    clip = make_video(folder / "swing.mkv", seconds=SECONDS, size="64x48", picture=PICTURE, sound=SOUND)
    frames = np.concatenate(list(video.FrameStream(clip)))
    slots = len(frames)
    held_out = (int(0.8 * slots), slots)  # the last 20%
    rows = audio.to_slots(audio.read_sound(clip), slots)
    paths = {"video": clip, "frames": folder / "frames.pkl", "audio": folder / "audio.pkl",
             "sidecar": folder / "dataset.json", "brain": folder / "swing.pkl",
             "bare": folder / "bare.pkl", "slots": slots, "held_out": held_out}
    paths["frames"].write_bytes(pickle.dumps(video.frames_to_unit(frames)))
    paths["audio"].write_bytes(pickle.dumps(rows))
    paths["sidecar"].write_text(json.dumps(
        {"clips": [{"source": str(clip.resolve()), "first_row": 0, "slots": slots}]}))
    training = {
        "data": {k: str(paths[k].resolve()) for k in ("frames", "audio", "sidecar")},
        "holdout": {"fraction": 0.2, "clips": [{"source": str(clip.resolve()),
                                                "from_slot": held_out[0], "to_slot": held_out[1]}]},
    }
    brains.save(brightness_brain(training), paths["brain"])
    brains.save(brightness_brain({}), paths["bare"])  # records no data and no holdout
    return paths


@pytest.fixture(scope="module")
def result(data_set) -> evaluation.SetResult:
    return evaluation.evaluate([data_set["video"]], data_set["brain"], modes=["raw", "smooth"])


# ---- baselines ---------------------------------------------------------------------------

def test_retrieval_reproduces_training_rows_on_training_frames():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (40, grid.PIXELS_PER_FRAME), dtype=np.uint8)
    pixels[1::2] = pixels[0::2]
    pixels[1::2, 7] ^= 1  # near twins: one pixel one level apart, where float32 would tie
    stored = video.frames_to_unit(pixels)  # as frames.pkl holds them
    rows = rng.random((40, W)).astype(np.float32)
    assert np.array_equal(baselines.nearest_rows(stored, pixels), np.arange(40))
    assert np.array_equal(baselines.retrieval_blocks(stored, rows, pixels), grid.unit_to_pcm(rows))


def test_pixels_survive_the_trip_through_frames_pkl():
    pixels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(baselines.as_pixels(video.frames_to_unit(pixels)), pixels)


def test_constant_baseline_is_the_mean_training_row():
    rows = np.stack([np.full(W, 0.25), np.full(W, 0.75), np.full(W, 1.0)]).astype(np.float32)
    blocks = baselines.constant_blocks(rows, 4)
    assert blocks.shape == (4, W) and blocks.dtype == np.float32
    assert blocks == pytest.approx(np.full((4, W), 2 * (2.0 / 3.0) - 1))


def test_spectrum_noise_has_the_spectrum_and_level_it_was_given():
    rng = np.random.default_rng(1)
    source = np.convolve(rng.normal(0, 0.2, 200 * W), np.ones(8) / 8, mode="same")  # low-passed
    made = baselines.spectrum_noise(baselines.mean_spectrum(source), 100 * W, rng)
    assert made.shape == (100 * W,) and made.dtype == np.float32
    assert metrics.level_difference_db(made, source[: 100 * W]) == pytest.approx(0.0, abs=0.5)
    mean_bands = metrics.to_db(metrics.slot_spectra(made).mean(axis=0) @ metrics.mel_filterbank().T)
    true_bands = metrics.to_db(metrics.slot_spectra(source).mean(axis=0) @ metrics.mel_filterbank().T)
    assert mean_bands == pytest.approx(true_bands, abs=1.0)


# ---- which slots, which rows -------------------------------------------------------------

def test_videos_match_by_path_then_by_name(tmp_path):
    here, elsewhere = tmp_path / "a" / "clip.mkv", tmp_path / "b" / "clip.mkv"
    entries = [{"source": str(elsewhere)}, {"source": str(here)}, {"source": "/x/other.mkv"}]
    assert holdout.matching(entries, here) == [entries[1]]
    assert holdout.matching(entries, tmp_path / "c" / "clip.mkv") == entries[:2]
    assert holdout.matching(entries, tmp_path / "none.mkv") == []


def test_seconds_become_the_slots_they_overlap():
    assert holdout.seconds_to_slots(1.0, 2.0, 180, "v") == (30, 60)
    assert holdout.seconds_to_slots(1.01, None, 180, "v") == (30, 180)
    assert holdout.seconds_to_slots(None, 0.01, 180, "v") == (0, 1)
    for start, stop in ((0, 7), (-1, 2), (3, 2), (2, 2)):
        with pytest.raises(UserError, match="outside the video"):
            holdout.seconds_to_slots(start, stop, 180, "v")


@pytest.mark.slow
def test_scored_ranges_follow_the_holdout_unless_told(data_set):
    network = brains.load(data_set["brain"])
    clip, slots, held_out = data_set["video"], data_set["slots"], data_set["held_out"]
    assert holdout.scored_ranges(network.training, clip, slots) == ([held_out], "held out in training")
    assert holdout.scored_ranges(network.training, clip, slots, 1.0, 2.0) == ([(30, 60)], "--from/--to")
    assert holdout.scored_ranges(network.training, "/else/where.mkv", 90) == ([(0, 90)], "whole video")
    with pytest.raises(UserError, match="brain/video mismatch"):
        holdout.scored_ranges(network.training, clip, slots - 10)


@pytest.mark.slow
def test_training_rows_exclude_the_held_out_slots(data_set):
    data = holdout.load_training_data(brains.load(data_set["brain"]).training, 4096)
    first = data_set["held_out"][0]
    assert data.trained.sum() == first and not data.trained[first:].any()
    assert np.array_equal(data.clip_rows(data_set["video"]), np.arange(first))
    assert data.clip_rows("/else/where.mkv") is None
    with pytest.raises(UserError, match="records no training data"):
        holdout.load_training_data(brains.load(data_set["bare"]).training, 4096)
    bare = holdout.load_training_data(brains.load(data_set["bare"]).training, 4096, data_set["frames"], data_set["audio"])
    assert bare.trained.all()  # no holdout recorded: every row is a training row


@pytest.mark.slow
def test_a_holdout_of_an_unrecorded_video_is_explained_not_a_crash(data_set, tmp_path):
    """theanet.py without a matching dataset.json holds out the tail of all rows as one clip
    of unknown source ("source": None). evaluate must neither crash on it (it raised
    TypeError) nor read a sidecar that describes other data, and must not silently call a
    whole video held out."""
    (tmp_path / "dataset.json").write_text(json.dumps(  # another data set's sidecar
        {"slots": data_set["slots"] + 50, "clips": [{"source": str(data_set["video"].resolve()),
                                                     "first_row": 0, "slots": data_set["slots"] + 50}]}))
    for name in ("frames", "audio"):
        (tmp_path / f"{name}.pkl").write_bytes(data_set[name].read_bytes())
    start, stop = data_set["held_out"]
    network = brightness_brain({
        "data": {"frames": str(tmp_path / "frames.pkl"), "audio": str(tmp_path / "audio.pkl"),
                 "sidecar": str(tmp_path / "dataset.json")},
        "holdout": {"fraction": 0.2, "clips": [{"source": None, "from_slot": start, "to_slot": stop}]}})
    with pytest.raises(UserError, match="recorded no source video.*--from/--to"):
        holdout.held_out_videos(network.training)
    data = holdout.load_training_data(network.training, network.pixels)
    assert data.clips == [holdout.Clip(None, 0, data_set["slots"])]  # the sidecar is not this data's
    assert data.trained.sum() == start and not data.trained[start:].any()
    assert data.clip_rows(data_set["video"]) is None
    ranges, why = holdout.scored_ranges(network.training, data_set["video"], data_set["slots"])
    assert ranges == [(0, data_set["slots"])] and "--from/--to" in why


# ---- the evaluation ----------------------------------------------------------------------

@pytest.mark.slow
def test_evaluation_scores_the_held_out_slots_of_every_row(data_set, result):
    table = result.table()
    start, stop = data_set["held_out"]
    assert table["scored"]["videos"][0]["ranges"] == [[start, stop]]
    assert table["scored"]["slots"] == stop - start
    models = [row["model"] for row in table["rows"]]
    assert models == ["swing (raw)", "swing (smooth)", "constant", "clip-mean spectrum",
                      "retrieval", "motion", "flow onsets", "truth"]
    for row in result.rows:
        assert [s.size for s in row.segments] == [(stop - start) * W]
    json.dumps(table, allow_nan=False)  # nan became null: plain JSON


@pytest.mark.slow
def test_a_brain_that_hears_brightness_follows_the_truth(result):
    rows = {row.model: row.metrics for row in result.rows}
    raw = rows["swing (raw)"]
    assert raw["r_within"] > 0.9 and raw["r_within"] > raw["r_within_chance"]
    assert raw["buzz_db"] > 10  # a 440 Hz block restarting every slot is 30 Hz-periodic
    truth = rows["truth"]
    assert truth["r_within"] == pytest.approx(1.0) and truth["lsd_db"] == 0.0
    assert truth["level_db"] == 0.0 and truth["onset_lag_ms"] == 0.0
    assert np.isnan(rows["constant"]["r_within"])  # one block repeated: no envelope at all
    assert rows["constant"]["flat"] and not raw["flat"]  # so it is called flat, not given an r
    # Without the truth: its loudness answers the picture's brightness (that is all it hears).
    assert raw["response_brightness_r"] > 0.9
    assert raw["response_brightness_r"] > raw["response_brightness_chance"]
    # Its sigmoid swings from 2% to 98% where the true tone swings from 0.05 to 0.35: the
    # render's loudness spreads wider than the truth's, which spreads exactly like itself.
    assert truth["spread_ratio"] == pytest.approx(1.0) and raw["spread_ratio"] > 1.5


@pytest.mark.slow
def test_a_video_without_sound_gets_the_response_to_its_pictures(data_set, tmp_path):
    mute = make_video(tmp_path / "mute.mkv", seconds=SECONDS, size="64x48", picture=PICTURE,
                      sound=None)
    result = evaluation.evaluate([mute], data_set["bare"], modes=["raw"])
    assert [row.model for row in result.rows] == ["bare (raw)"]  # no baselines, no truth
    measured = result.rows[0].metrics
    assert measured["response_brightness_r"] > 0.9  # it hears brightness, all of it
    assert measured["response_brightness_r"] > measured["response_brightness_chance"]
    assert "r_within" not in measured and measured["silence_black_dbfs"] < measured["silence_white_dbfs"]
    shown = run_script("evaluate.py", str(mute), "--brain", str(data_set["bare"]), "-q")
    assert shown.returncode == 0, shown.stderr
    assert "no sound track: only the response to the picture is scored" in shown.stdout


# A grating whose drift speeds up and slows down (phase 9 (T + sin 2T / 2): speed 9 (1 + cos 2T)),
# and a tone whose amplitude follows that speed: the true loudness follows the motion.
DRIFTING = "lum:128+100*sin(X/3-9*(T+sin(2*T)/2))"
DRIFT_SOUND = "aevalsrc=(0.01+0.1*(1+cos(2*t)))*sin(2*PI*440*t)"


@pytest.mark.slow
def test_the_motion_baseline_follows_loudness_that_follows_motion(tmp_path):
    clip = make_video(tmp_path / "drift.mkv", seconds=12.0, size="64x48", picture=DRIFTING,
                      sound=DRIFT_SOUND, video_codec=("-c:v", "ffv1"), audio_codec=("-c:a", "flac"))
    frames = np.concatenate(list(video.FrameStream(clip)))
    slots = len(frames)
    rows = audio.to_slots(audio.read_sound(clip), slots)
    (tmp_path / "frames.pkl").write_bytes(pickle.dumps(video.frames_to_unit(frames)))
    (tmp_path / "audio.pkl").write_bytes(pickle.dumps(rows))
    (tmp_path / "dataset.json").write_text(json.dumps(
        {"clips": [{"source": str(clip.resolve()), "first_row": 0, "slots": slots}]}))
    training = {"data": {k: str((tmp_path / f"{k}.pkl").resolve()) for k in ("frames", "audio")},
                "holdout": {"fraction": 0.3, "clips": [{"source": str(clip.resolve()),
                                                        "from_slot": int(0.7 * slots), "to_slot": slots}]}}
    training["data"]["sidecar"] = str((tmp_path / "dataset.json").resolve())
    brains.save(brightness_brain(training), tmp_path / "b.pkl")
    rows = {row.model: row.metrics for row in evaluation.evaluate([clip], tmp_path / "b.pkl").rows}
    motion = rows["motion"]
    assert motion["r_within"] > 0.8 and motion["r_within"] > motion["r_within_chance"]
    assert motion["response_motion_r"] > 0.8  # it answers the picture's motion, by construction
    spectrum = rows["clip-mean spectrum"]
    assert spectrum["r_within"] <= spectrum["r_within_chance"] or spectrum["flat"]


@pytest.mark.slow
def test_silence_is_the_level_of_a_black_and_a_white_picture(result):
    raw = result.rows[0].metrics
    assert raw["silence_black_dbfs"] == pytest.approx(expected_still_dbfs(0.0), abs=0.1)
    assert raw["silence_white_dbfs"] == pytest.approx(expected_still_dbfs(1.0), abs=0.1)
    assert raw["speed_x_realtime"] > 0


@pytest.mark.slow
def test_another_video_is_scored_whole_and_says_which_spectrum_it_got(data_set, tmp_path):
    other = make_video(tmp_path / "other.mkv", seconds=2.0, size="64x48", picture=PICTURE, sound=SOUND)
    other_result = evaluation.evaluate([other], data_set["brain"], modes=["raw"])
    part = other_result.parts[0]
    assert part.ranges == [(0, part.slots)] and part.why == "whole video"
    assert any("mean spectrum of all training rows" in note for note in other_result.notes)


# ---- the command line --------------------------------------------------------------------

@pytest.mark.slow
def test_cli_writes_table_json_markdown_and_plot(data_set, tmp_path):
    outputs = {"json": tmp_path / "m.json", "markdown": tmp_path / "r.md", "plot": tmp_path / "r.png"}
    result = run_script("evaluate.py", str(data_set["video"]), "--brain", str(data_set["brain"]),
                        "--mode", "raw", "-q", *[a for k, p in outputs.items() for a in (f"--{k}", str(p))])
    assert result.returncode == 0, result.stderr
    assert "r within (vs chance)" in result.stdout and "retrieval" in result.stdout
    tables = json.loads(outputs["json"].read_text())
    assert tables[0]["rows"][0]["model"] == "swing (raw)"
    page = outputs["markdown"].read_text()
    assert page.startswith("# Evaluation results") and "| swing | retrieval |" in page
    assert outputs["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_cli_without_videos_takes_the_held_out_ones_and_says_when_baselines_are_missing(data_set):
    result = run_script("evaluate.py", "--brain", str(data_set["brain"]), "--no-baselines",
                        "--mode", "raw", "-q")
    assert result.returncode == 0, result.stderr
    assert "held out in training" in result.stdout
    bare = run_script("evaluate.py", str(data_set["video"]), "--brain", str(data_set["bare"]),
                      "--mode", "raw", "-q")
    assert bare.returncode == 0, bare.stderr
    assert "no baselines to compare with: the brain records no training data" in bare.stdout
    assert "retrieval" not in bare.stdout


@pytest.mark.slow
def test_cli_bad_inputs_get_one_line_errors(data_set, tmp_path):
    brain, clip = str(data_set["brain"]), str(data_set["video"])
    mute = make_video(tmp_path / "mute.mkv", seconds=1.0, sound=None)
    assert_one_line_error(run_script("evaluate.py", str(mute), clip, "--brain", brain),
                          1, "mute.mkv", "no sound track", "separately")
    assert_one_line_error(run_script("evaluate.py", str(mute), "--brain", brain, "-q", "--plot",
                                     str(tmp_path / "p.png")), 1, "no true sound to show")
    (tmp_path / "cut").mkdir()  # same name, another cut: shorter than the held-out slots
    shorter = make_video(tmp_path / "cut" / data_set["video"].name, seconds=2.0, size="64x48",
                         picture=PICTURE, sound=SOUND)
    start, stop = data_set["held_out"]
    assert_one_line_error(run_script("evaluate.py", str(shorter), "--brain", brain, "--mode", "raw"),
                          1, "brain/video mismatch", f"{start}-{stop}")
    assert_one_line_error(run_script("evaluate.py", clip, "--brain", brain, "--from", "5", "--to", "9"),
                          1, "outside the video")
    assert_one_line_error(run_script("evaluate.py", clip, "--brain", str(tmp_path / "none.pkl")),
                          1, "no such file")
    # Usage errors: argparse's exit code 2, its usage lines, and the reason last.
    for args, reason in (((clip, "--brain", brain, "--mode", "raw", "--mode", "smooth", "--plot",
                           str(tmp_path / "p.png")), "--plot takes one --brain and one --mode"),
                         ((clip, "--brain", brain, "--mode", "loud"), "invalid choice"),
                         ((clip, "--brain", brain, "--train-frames", "f.pkl"), "go together")):
        result = run_script("evaluate.py", *args)
        assert result.returncode == 2 and reason in result.stderr.splitlines()[-1]


@pytest.mark.slow
def test_cli_help_has_examples():
    result = run_script("evaluate.py", "--help")
    assert result.returncode == 0 and "examples:" in result.stdout and "--markdown" in result.stdout


def test_an_anticorrelated_render_is_not_reported_above_chance():
    from bitmap2pcm.judge.report import _versus

    assert _versus(0.5, 0.2) == "0.50 > 0.20"
    assert _versus(-0.5, 0.2) == "-0.50 <= 0.20"


@pytest.mark.slow
def test_cli_writes_the_listening_page(data_set, tmp_path):
    made = run_script("evaluate.py", str(data_set["video"]), "--brain", str(data_set["brain"]),
                      "--mode", "raw", "-q", "--html", str(tmp_path / "page"))
    assert made.returncode == 0, made.stderr
    index = (tmp_path / "page" / "index.html").read_text()
    assert "swing (raw)" in index and "clip-mean spectrum" in index and "motion" in index
    assert all((tmp_path / "page" / "media" / name).stat().st_size > 0
               for name in os.listdir(tmp_path / "page" / "media"))
