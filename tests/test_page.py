"""The listening page (bitmap2pcm/judge/page.py): what it writes, and that it plays.

The results come from `evaluate.evaluate` on a small generated video, as in
tests/test_evaluate.py: a brain that hears brightness, with two held-out ranges of one video
(so the page joins them). The browser tests drive Debian's Chromium headless through
Playwright's driver (tests/browser.py) and are skipped, with the reason, where either is
missing.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import os
import pickle
import re
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path

import browser
import numpy as np
import pytest
from conftest import make_video

from bitmap2pcm.core import grid
from bitmap2pcm.core.errors import UserError
from bitmap2pcm.judge import evaluate as evaluation
from bitmap2pcm.judge import metrics, page, report
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.media import audio, video
from bitmap2pcm.render import stream

W = grid.SAMPLES_PER_SLOT
SECONDS = 6.0
TONE = 0.2 * np.sin(2 * np.pi * 440 * np.arange(W) / grid.RATE_HZ)
SOUND = "aevalsrc=(0.05+0.15*(1+sin(5*t)))*sin(2*PI*440*t)"
HELD_OUT = [(30, 75), (135, 180)]  # two ranges of one video: 1.5 s + 1.5 s, joined on the page
NEEDS_BROWSER = pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))


def brightness_brain(training: dict) -> brains.Brain:
    """A 4096-1-735 brain whose 440 Hz tone grows with the picture's mean brightness."""
    weights = [np.full((grid.PIXELS_PER_FRAME, 1), 8.0 / grid.PIXELS_PER_FRAME, np.float32),
               (TONE / 2.0)[None, :].astype(np.float32)]
    biases = [np.array([-4.0], np.float32), np.full(W, 0.5, np.float32)]
    return brains.make_brain(weights, biases, ["sigmoid", "linear"], training)


@pytest.fixture(scope="module")
def data_set(tmp_path_factory) -> dict:
    """A video with sound, its training pairs, and a brain that held two ranges of it out."""
    folder = tmp_path_factory.mktemp("page-data")
    clip = make_video(folder / "swing.mkv", seconds=SECONDS, size="160x120", picture="testsrc2",
                      sound=SOUND)
    frames = np.concatenate(list(video.FrameStream(clip)))
    slots = len(frames)
    (folder / "frames.pkl").write_bytes(pickle.dumps(video.frames_to_unit(frames)))
    (folder / "audio.pkl").write_bytes(pickle.dumps(audio.to_slots(audio.read_sound(clip), slots)))
    (folder / "dataset.json").write_text(json.dumps(
        {"clips": [{"source": str(clip.resolve()), "first_row": 0, "slots": slots}]}))
    training = {"data": {name: str((folder / f"{name}.{ext}").resolve())
                         for name, ext in (("frames", "pkl"), ("audio", "pkl"))}
                | {"sidecar": str((folder / "dataset.json").resolve())},
                "holdout": {"fraction": 0.5, "clips": [{"source": str(clip.resolve()), "from_slot": a,
                                                        "to_slot": b} for a, b in HELD_OUT]},
                "seconds": 1.5, "epochs": {"pretrain": [2], "finetune": 7}, "seed": 3,
                "settings": {"learning_rate": 0.1, "batch": 64}}
    brains.save(brightness_brain(training), folder / "swing.pkl")
    return {"folder": folder, "video": clip, "brain": folder / "swing.pkl", "frames": frames}


@pytest.fixture(scope="module")
def result(data_set) -> evaluation.SetResult:
    return evaluation.evaluate([data_set["video"]], data_set["brain"], modes=["raw", "smooth"])


@pytest.fixture(scope="module")
def small(result) -> evaluation.SetResult:
    """The result with two rows only (the raw brain and the truth): a quicker page to write."""
    return dataclasses.replace(result, rows=[result.rows[0], result.rows[-1]])


@pytest.fixture(scope="module")
def written(result, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pages") / "listen"
    index = page.write(folder, [result], command="evaluate.py swing.mkv --brain swing.pkl --html listen")
    assert index == folder / "index.html"
    return folder


class Links(HTMLParser):
    """Every src and href of a page, and its media elements by tag."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.media: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[key] for key in ("src", "href") if attrs.get(key)]
        if tag in ("video", "audio", "img"):
            self.media.append((tag, attrs))


def links_of(folder: Path) -> Links:
    parser = Links()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    return parser


def probe_streams(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-print_format", "json",
                          "-show_format", "-show_streams", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


SCORED_S = sum(b - a for a, b in HELD_OUT) / grid.SLOTS_PER_SECOND


# ---- what the folder holds ---------------------------------------------------------------

@pytest.mark.slow
def test_the_page_needs_nothing_outside_its_folder(written):
    links = links_of(written)
    text = (written / "index.html").read_text(encoding="utf-8")
    assert page.GENERATOR in text
    assert not re.search(r"(?i)(https?:)?//[a-z]", " ".join(links.links)), links.links
    assert not re.search(r"(?i)\b(src|href)\s*=\s*['\"]?(https?:|//)", text)
    assert "@import" not in text and "url(" not in text  # no fetched style sheets or fonts
    for link in links.links:
        if link.startswith(("#", "data:")):
            continue
        target = (written / link).resolve()
        assert target.is_file() and written.resolve() in target.parents, link
    on_disk = {str(p.relative_to(written)) for p in written.rglob("*") if p.is_file()}
    used = {link for link in links.links if not link.startswith(("#", "data:"))}
    assert on_disk == used | {"index.html"}  # nothing missing, nothing stray
    assert not [p for p in written.parent.iterdir() if p.name.startswith(".")]  # no temporaries


@pytest.mark.slow
def test_every_track_of_every_row_is_on_the_page(written, result):
    links = links_of(written)
    sounds = [attrs for tag, attrs in links.media if tag == "audio"]
    assert len(sounds) == len(result.rows)  # truth, two brain modes, four baselines
    labels = (written / "index.html").read_text(encoding="utf-8")
    for row in result.rows:
        assert f"> {row.model} <span class=\"kind\">{row.kind}</span>" in labels
    pictures = [attrs for tag, attrs in links.media if tag == "video"]
    assert len(pictures) == 1 and "muted" in pictures[0]
    images = [attrs["src"] for tag, attrs in links.media if tag == "img"]
    assert len(images) == len(result.rows)
    for image in images:
        assert (written / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the metric table: every row's cells with their chance levels, and the legend
    table = result.table()
    for row in table["rows"]:
        for cell in report.cells(table, row)[1:]:
            assert f"<td>{cell.replace('>', '&gt;').replace('<', '&lt;')}</td>" in labels
    assert "&lt;= " in labels or "&gt; " in labels
    assert report.LEGEND.splitlines()[0].replace('"', "&quot;") in labels


@pytest.mark.slow
def test_media_are_small_webm_of_the_scored_length(written):
    links = links_of(written)
    for tag, attrs in links.media:
        if tag == "img":
            continue
        info = probe_streams(written / attrs["src"])
        assert info["format"]["format_name"].startswith("matroska,webm")
        (stream,) = info["streams"]
        assert float(info["format"]["duration"]) == pytest.approx(SCORED_S, abs=0.1)
        if tag == "video":
            assert stream["codec_name"] == "vp9" and int(stream["width"]) <= page.PICTURE_WIDTH
            assert int(stream["nb_read_frames"]) == sum(b - a for a, b in HELD_OUT)
        else:
            assert stream["codec_name"] == "opus"
        assert (written / attrs["src"]).stat().st_size < 200_000


@pytest.mark.slow
def test_the_picture_shows_the_scored_slots_joined(written, data_set):
    """Frame k of the page's picture is the k-th scored slot, as the brain saw it: a
    one-frame shift would be several times further off."""
    (picture,) = (attrs["src"] for tag, attrs in links_of(written).media if tag == "video")
    shown = np.concatenate(list(video.FrameStream(written / picture))).astype(int)
    wanted = np.concatenate([data_set["frames"][a:b] for a, b in HELD_OUT]).astype(int)
    assert shown.shape == wanted.shape
    error = np.abs(shown - wanted).mean()
    shifted = np.abs(shown[1:] - wanted[:-1]).mean()
    assert error < 2.0 and shifted > 2 * error, (error, shifted)


@pytest.mark.slow
def test_each_track_is_its_rows_scored_sound(written, result):
    """Each audio file decodes to its row's scored sound, segment joins included (per-slot
    loudness within 1.5 dB, median over the slots within 30 dB of its loudest: Opus at
    AUDIO_BITRATE gave the flow-onset baseline's sharp fades 1.02 dB here, on 2026-12-07; a
    segment out of place is off by far more)."""
    for tag, attrs in links_of(written).media:
        if tag != "audio":
            continue
        row = result.rows[int(attrs["data-row"])]
        decoded = audio.read_sound(written / attrs["src"])[: sum(s.size for s in row.segments)]
        want = metrics.loudness_db(np.concatenate(row.segments))
        got = metrics.loudness_db(decoded)
        audible = want > want.max() - 30
        assert got.shape == want.shape
        assert np.median(np.abs(got[audible] - want[audible])) < 1.5, row.model


@pytest.mark.slow
def test_a_shared_track_is_stored_once_and_the_sets_each_get_a_section(small, tmp_path):
    folder = tmp_path / "twice"
    page.write(folder, [small, small])
    text = (folder / "index.html").read_text(encoding="utf-8")
    assert text.count('<section class="set"') == 2
    sounds = [attrs["src"] for tag, attrs in links_of(folder).media if tag == "audio"]
    assert len(sounds) == 2 * len(small.rows) and len(set(sounds)) == len(small.rows)
    assert len(list((folder / "media").glob("*picture*"))) == 1


@pytest.mark.slow
def test_each_video_of_a_set_gets_its_own_player_and_its_own_part_of_each_row(small, tmp_path):
    """A set of two videos: each row's segments run over both videos' ranges in order; the
    second player must get the second video's segments (here the same sound at -6 dB)."""
    part = small.parts[0]
    rows = [evaluation.Row(row.model, row.kind, row.metrics,
                           row.segments + [segment * 0.5 for segment in row.segments], row.mode)
            for row in small.rows]
    two = dataclasses.replace(small, parts=[part, part], rows=rows)
    folder = tmp_path / "two"
    page.write(folder, [two])
    sounds = {}
    for tag, attrs in links_of(folder).media:
        if tag == "audio":
            sounds.setdefault(attrs["data-row"], []).append(folder / attrs["src"])
    text = (folder / "index.html").read_text(encoding="utf-8")
    assert 'id="s1-v1"' in text and 'id="s1-v2"' in text
    for row, (first, second) in sounds.items():
        level = [metrics.level_dbfs(audio.read_sound(path)) for path in (first, second)]
        assert level[0] - level[1] == pytest.approx(20 * np.log10(2), abs=0.5), (row, level)


@pytest.mark.slow
def test_a_set_without_sound_track_gets_the_renders_alone(data_set, tmp_path):
    mute = make_video(tmp_path / "mute.mkv", seconds=2.0, size="64x48", picture="testsrc2", sound=None)
    silent = evaluation.evaluate([mute], data_set["brain"], modes=["smooth"])
    folder = tmp_path / "mute-page"
    page.write(folder, [silent])
    media = links_of(folder).media
    assert [tag for tag, _ in media].count("audio") == len(silent.rows) == 1
    assert [tag for tag, _ in media].count("img") == 1
    assert "no sound track" in (folder / "index.html").read_text(encoding="utf-8")


# ---- the brain's card --------------------------------------------------------------------

@pytest.mark.slow
def test_a_brain_without_a_card_shows_its_training_record(data_set):
    html = page.card_html(data_set["brain"])
    assert "not a shipped brain" in html
    for fragment in ("4096-1-735", "data.frames", "frames.pkl", "epochs.finetune", "<td>7</td>",
                     "seconds", "settings.learning_rate", "fraction 0.5, 2 clip(s)"):
        assert fragment in html, fragment


def test_a_shipped_brain_shows_its_card(tmp_path):
    brain = brightness_brain({"seconds": 2.0})
    brain.shipped = {"name": "tiny"}
    brains.save(brain, tmp_path / "tiny.pkl")
    (tmp_path / "tiny.md").write_text("# Brain `tiny`\n\nIt hears **brightness** <b>only</b>.\n\n"
                                      "## Training data\n\n- a list item\n  continued\n- two\n\n"
                                      "| what | value |\n|---|---|\n| shape | 4096-1-735 |\n\n"
                                      "```sh\npython theanet.py --x <y>\n```\n")
    html = page.card_html(tmp_path / "tiny.pkl")
    assert "<h4>Brain <code>tiny</code></h4>" in html and "<h5>Training data</h5>" in html
    assert "<strong>brightness</strong> &lt;b&gt;only&lt;/b&gt;" in html  # the card's HTML is text
    assert "<li>a list item continued</li><li>two</li>" in html
    assert "<th>what</th>" in html and "<td>4096-1-735</td>" in html and "---" not in html
    assert "<pre><code>python theanet.py --x &lt;y&gt;</code></pre>" in html
    (tmp_path / "tiny.md").unlink()
    assert "not a shipped brain" in page.card_html(tmp_path / "tiny.pkl")


@pytest.mark.slow
def test_without_its_training_data_here_the_page_says_so_in_words_and_names_no_path(
        data_set, small, tmp_path, caplog):
    """A shipped brain's training data is never on the listener's machine: the evaluation
    notes it in plain words, warns of nothing, and the page shows neither that note's nor
    the brain's place on the machine that made it."""
    brain = brains.load(data_set["brain"])
    brain.training["data"] = {name: str(tmp_path / "made-elsewhere" / f"{name}.pkl")
                                 for name in ("frames", "audio")} | {"sidecar": None}
    brains.save(brain, tmp_path / "moved.pkl")
    with caplog.at_level("WARNING", logger="bitmap2pcm"):
        moved = evaluation.evaluate([data_set["video"]], tmp_path / "moved.pkl", modes=["raw"])
    assert not caplog.records
    assert [row.kind for row in moved.rows] == ["brain", "truth"]  # no baselines
    assert moved.notes == ["no baselines to compare with: this brain's training data is not on "
                           "this machine (the baselines are learned from it)"]
    shipped = dataclasses.replace(small, brain=stream.DEFAULT_BRAIN, notes=moved.notes,
                                  training_data=None)
    html = (page.write(tmp_path / "listen", [shipped]).read_text(encoding="utf-8"))
    assert f"The shipped brain <code>{stream.DEFAULT_BRAIN.stem}</code>" in html
    assert "not on this machine" in html
    assert str(tmp_path) not in html and str(stream.BRAINS_DIR) not in html


def test_a_brain_gone_since_the_evaluation_is_said_not_fatal(tmp_path):
    assert "cannot be read now" in page.card_html(tmp_path / "gone.pkl")


# ---- written atomically, one-line errors -------------------------------------------------

@pytest.mark.slow
def test_an_earlier_page_is_replaced_whole(small, tmp_path):
    folder = tmp_path / "again"
    page.write(folder, [small])
    (folder / "media" / "stray.webm").write_bytes(b"old")
    page.write(folder, [small])
    assert not (folder / "media" / "stray.webm").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]


@pytest.mark.slow
def test_a_folder_that_is_not_a_page_is_refused_and_left_alone(small, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="mine: exists and is not a listening page") as error:
        page.check_destination(folder)  # what evaluate.py --html checks before its long work
    with pytest.raises(UserError, match="mine: exists and is not a listening page") as error:
        page.write(folder, [small])
    assert "\n" not in str(error.value)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is not a folder"):
        page.write(tmp_path / "file", [small])
    with pytest.raises(UserError, match="does not exist"):
        page.write(tmp_path / "no" / "such" / "page", [small])
    with pytest.raises(UserError, match="no evaluation results"):
        page.write(tmp_path / "empty", [])


@pytest.mark.slow
def test_an_interrupted_write_leaves_the_old_page_and_no_temporary(small, tmp_path, monkeypatch):
    folder = tmp_path / "page"
    page.write(folder, [small])
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return plot(*args, **kwargs)

    plot = report.plot
    monkeypatch.setattr(report, "plot", interrupted)
    with pytest.raises(KeyboardInterrupt):
        page.write(folder, [small])
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
@pytest.mark.slow
def test_a_full_disk_is_one_line_naming_the_page(small, tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with pytest.raises(UserError) as error:
            page.write(mount / "page", [small])
        message = str(error.value)
        assert "\n" not in message and str(mount / "page") in message, message
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=True)


# ---- in the browser ----------------------------------------------------------------------

STATE = """() => Array.from(document.querySelectorAll("article.video")).map(box => ({
  id: box.id, seconds: Number(box.dataset.seconds),
  picture: (v => ({ready: v.readyState, duration: v.duration, time: v.currentTime, paused: v.paused}))(
    box.querySelector("video.picture")),
  sounds: Array.from(box.querySelectorAll("audio")).map(a => ({
    row: a.dataset.row, ready: a.readyState, duration: a.duration, time: a.currentTime, paused: a.paused,
    error: a.error && a.error.message})),
  shown: Array.from(box.querySelectorAll(".plots a")).filter(a => !a.hidden).map(a => a.dataset.row),
  checked: (box.querySelector(".tracks input:checked") || {}).value}))"""


@NEEDS_BROWSER
@pytest.mark.slow
def test_the_page_loads_in_chromium_with_every_medium_and_image(written, result, tmp_path):
    with browser.open_page((written / "index.html").as_uri()) as (tab, problems):
        browser.wait_until_ready(tab)
        (box,) = tab.evaluate(STATE)
        assert box["seconds"] == pytest.approx(SCORED_S)
        assert box["picture"]["ready"] >= 2
        assert box["picture"]["duration"] == pytest.approx(SCORED_S, abs=0.1)
        assert len(box["sounds"]) == len(result.rows)
        for sound in box["sounds"]:
            assert sound["ready"] >= 2 and not sound["error"], sound
            assert sound["duration"] == pytest.approx(SCORED_S, abs=0.1), sound
        widths = tab.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
        assert len(widths) == len(result.rows) and all(w > 0 for w in widths)
        truth = str(next(i for i, row in enumerate(result.rows) if row.kind == "truth"))
        assert box["checked"] == truth and box["shown"] == [truth]  # the truth is heard first
        shot = tmp_path / "listening-page.png"
        tab.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert problems == []


def check_switching(url: str, result: evaluation.SetResult, screenshot: Path) -> None:
    """Play, switch by a track's label, a metric row and a key, seek while playing and while
    paused: the chosen track alone plays, at the picture's time, and its plot alone shows."""
    rows = {row.model: str(i) for i, row in enumerate(result.rows)}
    with browser.open_page(url) as (tab, problems):
        browser.wait_until_ready(tab)
        box = tab.locator("article.video")
        box.locator("label.track", has_text="swing (raw)").click()  # a user's gesture first
        tab.evaluate("document.querySelector('video.picture').play()")
        tab.wait_for_function("document.querySelector('video.picture').currentTime > 0.8")

        def playing_only(row: str) -> dict:
            tab.wait_for_timeout(400)
            (state,) = tab.evaluate(STATE)
            assert not state["picture"]["paused"]
            for sound in state["sounds"]:
                assert sound["paused"] == (sound["row"] != row), (row, state["sounds"])
            (heard,) = (s for s in state["sounds"] if s["row"] == row)
            assert heard["time"] == pytest.approx(state["picture"]["time"], abs=0.15), state
            assert state["checked"] == row and state["shown"] == [row]
            return state

        at_switch = tab.evaluate("document.querySelector('video.picture').currentTime")
        box.locator("label.track", has_text="retrieval").click()
        state = playing_only(rows["retrieval"])
        assert state["picture"]["time"] > at_switch  # it went on from where it was, not from 0
        tab.locator("table.metrics tr", has_text="clip-mean spectrum").click()  # a metric row
        playing_only(rows["clip-mean spectrum"])
        tab.keyboard.press("1")  # keys choose the n-th track: the truth comes first
        playing_only(rows["truth"])
        tab.evaluate("document.querySelector('video.picture').currentTime = 0.2")  # seek, playing
        state = playing_only(rows["truth"])
        assert state["picture"]["time"] < at_switch
        tab.screenshot(path=str(screenshot))
        # paused and moved, the chosen track waits at the picture's new place
        tab.evaluate("(v => { v.pause(); v.currentTime = 2.5; })(document.querySelector('video.picture'))")
        tab.wait_for_function("document.querySelector('video.picture').readyState >= 2")
        tab.wait_for_timeout(200)
        (state,) = tab.evaluate(STATE)
        assert all(sound["paused"] for sound in state["sounds"])
        (heard,) = (s for s in state["sounds"] if s["row"] == rows["truth"])
        assert heard["time"] == pytest.approx(2.5, abs=0.01)
        assert problems == []


@NEEDS_BROWSER
@pytest.mark.slow
def test_switching_tracks_keeps_the_playing_position(written, result, tmp_path):
    check_switching((written / "index.html").as_uri(), result, tmp_path / "switched.png")


@pytest.fixture
def served(written):
    """The page from a static server on the loopback address that, like Python's own
    http.server, ignores byte ranges (the page must still seek); stopped after the test."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(written))
    handler.log_message = lambda *args: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
        finally:
            server.shutdown()
            thread.join(timeout=10)


@NEEDS_BROWSER
@pytest.mark.slow
def test_a_static_server_without_ranges_plays_it_too(served, result, tmp_path):
    check_switching(served, result, tmp_path / "served.png")
