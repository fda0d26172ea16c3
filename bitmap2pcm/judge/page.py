"""The listening page: an evaluation to listen to, as a folder that opens in any browser.

`write(folder, results)` takes what `evaluate.evaluate` returned (one `SetResult` per brain)
and writes `folder/index.html` with everything it needs beside it: `media/` (WebM files) and
`images/` (PNG files). No network, no CDN, no library: the HTML is written here, the CSS and JS are
`page.css` and `page.js` beside this module, inlined into the page;
the page opens from the file system (file://) as well as from any static server.

Layout, for each set (one brain on a set of videos):

- a heading with the set, the brain, what was scored and the evaluation's notes;
- for each video of the set, one player: the video's *scored slots only* (its held-out
  ranges, or --from/--to), its ranges joined one after another in time order, exactly the
  slots and the segment order `evaluate` scored (a caption maps the player's time back to
  the video's own time). Beside it, every sound track to switch between: the truth (the
  real sound of those slots), each brain row (each join mode), each baseline; and the
  chosen track's image: `report.plot` of that track against the truth (true and rendered
  mel spectrograms, both loudness curves, both sets of onsets, the segment joins as dashed
  lines; the metric values in its title when the set is this one video, as they are the
  set's);
- the metric table (`report.HEADERS`, `report.cells`, chance levels beside each r, F1 and
  AP), whose rows also choose the track, and `report.LEGEND`;
- the brain's card: for a shipped brain its `NAME.md` beside `NAME.pkl`, otherwise its
  training record (`network.training`: data, options, epochs, training time).

Media: Chromium as Debian builds it plays VP9, VP8, H.264, Opus, Vorbis, AAC, FLAC and WAV
(tested: canPlayType "probably" and real playback for each); a Chromium built without the
proprietary codecs, and some other browsers, lack H.264 and AAC, so the page uses only the
royalty-free pair every one of them has: VP9 pictures and Opus sound, in WebM. The picture
is placed on the grid by the very filter the brain's frames come from (`video.frame_filter`,
slot i = the frame nearest i/30 s), in colour, at most `PICTURE_WIDTH` px wide, encoded by
libvpx's real-time mode; each track is the scored samples at 22050 Hz, Opus at
`AUDIO_BITRATE` (it keeps the 30 Hz buzz and the clicks that the metrics measure). Identical
tracks (the same truth or baseline under several brains) are stored once.

Why one muted <video> for the picture and one <audio> per track, rather than one <video>
per track: the picture is encoded and stored once however many tracks there are (a page of
eight tracks is eight small Opus files and one VP9 file, made in seconds), and switching a
track pauses one audio element and starts another at the picture's current time, which an
audio element does at once; a <video> per track would decode a second picture stream and
show its first frame late at every switch. The picture is the clock: its own controls play,
pause, seek and change speed, and the chosen track follows every one of those events; while
it plays, the track is put back on the picture's time whenever the two drift apart by more
than `DRIFT_S` (they come from different clocks).

The folder is made as a hidden temporary folder beside it and renamed into place when every
file is written, so a failure never leaves a half-made page; a page this function wrote
before is replaced whole, any other existing folder that is not empty is refused. Every
failure is a one-line `UserError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core import grid
from ..core.errors import UserError
from ..core.files import check_writable_dir
from ..learn import brain as brain_format
from ..media import video
from ..render import stream
from . import metrics, onsets, report
from .brain_card import card_html, esc
from .evaluate import Part, SetResult

GENERATOR = "bitmap2pcm listening page"  # marks a folder this module wrote (index.html)
PICTURE_WIDTH = 320  # px, at most; smaller videos keep their size
PICTURE_BITRATE = "250k"
AUDIO_BITRATE = "48k"
DRIFT_S = 0.04  # s: the chosen track is put back on the picture when this far off
PICTURE_ARGS = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
                "-b:v", PICTURE_BITRATE, "-g", str(2 * grid.SLOTS_PER_SECOND), "-pix_fmt", "yuv420p"]
AUDIO_ARGS = ["-c:a", "libopus", "-b:a", AUDIO_BITRATE, "-application", "audio"]
KIND_ORDER = {"truth": 0, "brain": 1, "baseline": 2}


@dataclass
class Track:
    """One sound track of one video on the page."""

    index: int  # the row's index in SetResult.rows (table rows choose tracks by it)
    label: str
    kind: str
    audio: str  # relative path of its media file
    image: str  # relative path of its PNG


@dataclass
class Player:
    """One video of a set on the page: its picture, its tracks, the time map."""

    part: Part
    picture: str
    tracks: list[Track]

    @property
    def seconds(self) -> float:
        return sum(b - a for a, b in self.part.ranges) / grid.SLOTS_PER_SECOND


def write(folder: str | os.PathLike, results: Sequence[SetResult], command: str | None = None,
          title: str = "Listening page") -> Path:
    """Write the listening page of `results` (as `evaluate.evaluate` returns them, one per
    brain) into `folder`, made or replaced atomically; returns the path of its index.html.
    `command` (the command line that made the results) is shown on the page."""
    folder = Path(folder)
    if not results:
        raise UserError(f"{folder}: no evaluation results to put on a listening page")
    parent = check_destination(folder)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=parent))
    except OSError as error:
        raise UserError(f"{folder}: cannot write the listening page ({error.strerror or error})") from None
    try:
        os.chmod(scratch, 0o755)
        _Writer(scratch, folder).write(results, command, title)
        _swap_into_place(scratch, folder)
    except BaseException as error:
        shutil.rmtree(scratch, ignore_errors=True)
        if isinstance(error, OSError):
            raise UserError(f"{folder}: cannot write the listening page "
                            f"({error.strerror or error})") from None
        raise
    return folder / "index.html"


def check_destination(folder: str | os.PathLike) -> Path:
    """Fail at once, before any long work, if a page cannot be written to `folder`: its
    parent must be a writable folder, `folder` new, empty or an earlier page, and matplotlib
    there to draw the images. Returns the parent. (`write` checks it again.)"""
    folder = Path(folder)
    parent = folder.parent if str(folder.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{folder}: its folder {parent} does not exist")
    check_writable_dir(parent)
    _check_replaceable(folder)
    _require_matplotlib()
    return parent


def _check_replaceable(folder: Path) -> None:
    """An existing `folder` may be replaced only if it is empty or a page written here."""
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir() or folder.is_symlink():
        raise UserError(f"{folder}: exists and is not a folder; choose another place for the page")
    if not any(folder.iterdir()):
        return
    try:
        with open(folder / "index.html", encoding="utf-8", errors="replace") as stream:
            head = stream.read(4096)
    except OSError:
        head = ""
    if GENERATOR not in head:
        raise UserError(f"{folder}: exists and is not a listening page; choose an empty or new folder")


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("the listening page draws its images with matplotlib: install it with "
                        "pip install 'bitmap2pcm[plot]' (or pip install matplotlib)") from None


def _swap_into_place(scratch: Path, folder: Path) -> None:
    """Rename the finished page into place; an earlier page is moved aside first and removed
    after, so `folder` is at every moment the whole old page or the whole new one."""
    if not folder.exists():
        os.rename(scratch, folder)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=scratch.parent))
    os.rename(folder, aside / "page")
    try:
        os.rename(scratch, folder)
    except OSError:
        os.rename(aside / "page", folder)
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


class _Writer:
    """Writes the files of one page into `root` (the temporary folder); `shown` is the
    folder the page will be, for messages."""

    def __init__(self, root: Path, shown: Path):
        self.root, self.shown = root, shown
        (root / "media").mkdir()
        (root / "images").mkdir()
        self.stored: dict[str, str] = {}  # content key -> relative path (each file once)
        self.names: set[str] = set()

    def write(self, results: Sequence[SetResult], command: str | None, title: str) -> None:
        sets = []
        for number, result in enumerate(results, 1):
            players = [self.player(result, number, position, part)
                       for position, part in enumerate(result.parts, 1)]
            sets.append((number, result, players))
        text = _page(title, command, sets)
        (self.root / "index.html").write_text(text, encoding="utf-8")

    def name(self, folder: str, stem: str, suffix: str) -> str:
        stem = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "track"
        name, count = f"{folder}/{stem}{suffix}", 1
        while name in self.names:
            count += 1
            name = f"{folder}/{stem}-{count}{suffix}"
        self.names.add(name)
        return name

    def player(self, result: SetResult, number: int, position: int, part: Part) -> Player:
        prefix = f"s{number}-v{position}"
        picture = self.picture(part, prefix)
        first = sum(len(p.ranges) for p in result.parts[: position - 1])
        count = len(part.ranges)
        truth = part.cut(part.truth) if part.truth is not None else None
        order = sorted(range(len(result.rows)), key=lambda i: KIND_ORDER.get(result.rows[i].kind, 3))
        tracks = []
        for index in order:
            row = result.rows[index]
            segments = row.segments[first: first + count]
            if [s.size for s in segments] != [(b - a) * grid.SAMPLES_PER_SLOT for a, b in part.ranges]:
                raise UserError(f"{result.name}: row {row.model} does not cover the scored slots "
                                f"of {part.path}")
            label = row.model
            audio = self.sound(segments, f"{prefix}-{label}")
            image = self.name("images", f"{prefix}-{label}", ".png")
            shown_metrics = row.metrics if len(result.parts) == 1 else {}
            heading = f"{result.name}: {part.path.name}, {label}"
            if truth is not None:
                if row.kind == "truth":
                    heading += " (the real sound; both panels show it)"
                report.plot(self.root / image, heading, truth, segments,
                            {"model": label, **shown_metrics})
            else:
                solo_plot(self.root / image, heading + " (no sound track to compare with)", segments)
            tracks.append(Track(index, label, row.kind, audio, image))
        return Player(part, picture, tracks)

    def picture(self, part: Part, prefix: str) -> str:
        """The scored slots' pictures, joined, as a small VP9 WebM."""
        source = Path(part.path)
        try:
            stat = source.stat()
        except OSError as error:
            raise UserError(f"{source}: cannot read it for the listening page ({error.strerror})") from None
        key = json.dumps(["picture", str(source.resolve()), stat.st_size, stat.st_mtime_ns,
                          [list(r) for r in part.ranges]])
        if key in self.stored:
            return self.stored[key]
        relative = self.name("media", f"{prefix}-picture", ".webm")
        info = video.probe(source)
        chain = video.frame_filter(interpolation=video.OPENCV_BILINEAR, origin_s=info.origin_s)
        # frame_filter places frames on the grid, then (for Python's resize) makes them gray;
        # the page keeps the grid placement and the colour.
        assert chain.endswith(",format=gray"), chain
        on_grid = chain[: -len(",format=gray")]
        chosen = "+".join(f"between(n,{a},{b - 1})" for a, b in part.ranges)
        filters = (f"{on_grid},select='{chosen}',setpts=N/({grid.SLOTS_PER_SECOND}*TB),"
                   f"scale='2*trunc(min({PICTURE_WIDTH},iw)/2)':-2:flags=area,format=yuv420p")
        command = [*video.ffmpeg_input_args(source), "-map", "0:v:0", "-an", "-sn", "-dn",
                   "-vf", filters, *PICTURE_ARGS, "-f", "webm", "-y", str(self.root / relative)]
        video.run_ffmpeg_writing(command, self.shown / relative)
        self.stored[key] = relative
        return relative

    def sound(self, segments: Sequence[np.ndarray], stem: str) -> str:
        """One track's scored samples, joined, as Opus in WebM (stored once per content)."""
        samples = np.concatenate([np.asarray(s, dtype="<f4") for s in segments]).tobytes()
        key = "sound:" + hashlib.sha256(samples).hexdigest()
        if key in self.stored:
            return self.stored[key]
        relative = self.name("media", stem, ".webm")
        command = [video.require_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
                   "-f", "f32le", "-ar", str(grid.RATE_HZ), "-ac", "1", "-i", "pipe:0",
                   *AUDIO_ARGS, "-f", "webm", "-y", str(self.root / relative)]
        video.run_ffmpeg_writing(command, self.shown / relative, stdin=samples)
        self.stored[key] = relative
        return relative


def solo_plot(path: str | Path, title: str, segments: Sequence[np.ndarray]) -> None:
    """A render's own picture when there is no truth to set it against: its mel spectrogram
    (the bands of `report.plot`, same colour scale) and its loudness with its onsets."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    signal = np.concatenate(segments)
    seconds = signal.size / grid.RATE_HZ
    figure, axes = pyplot.subplots(2, 1, figsize=(12, 5.5), sharex=True,
                                   gridspec_kw={"height_ratios": [2, 1.4]})
    image = axes[0].imshow(metrics.slot_band_db(signal).T, origin="lower", aspect="auto",
                           extent=(0.0, seconds, 0.0, metrics.MEL_BANDS), vmin=metrics.FLOOR_DB,
                           vmax=0.0, cmap="magma", interpolation="nearest")
    axes[0].set_ylabel("rendered\nmel band")
    figure.colorbar(image, ax=axes.tolist(), label="dB re full scale", pad=0.01)
    level = metrics.loudness_db(signal)
    axes[1].plot((np.arange(level.size) + 0.5) / grid.SLOTS_PER_SECOND, level, color="tab:red", lw=1)
    offsets = np.concatenate([[0], np.cumsum([s.size for s in segments])])[:-1]
    times = [(offset + slot * grid.SAMPLES_PER_SLOT) / grid.RATE_HZ
             for offset, segment in zip(offsets, segments) for slot in onsets.onset_slots(segment)]
    axes[1].plot(times, [0.95] * len(times), "|", color="tab:red", markersize=8,
                 transform=axes[1].get_xaxis_transform())
    axes[1].set_ylabel("loudness\ndBFS per slot\n| onsets")
    axes[1].set_xlabel("scored time, s (segments joined)")
    for boundary in offsets[1:] / grid.RATE_HZ:
        for axis in axes:
            axis.axvline(boundary, color="white" if axis is axes[0] else "gray", ls="--", lw=0.8)
    figure.suptitle(title, fontsize=10)
    try:
        figure.savefig(path, dpi=100, format="png")
    finally:
        pyplot.close(figure)


# ---- the page ----------------------------------------------------------------------------

def _asset(name: str) -> str:
    """The page's stylesheet or script, kept beside this module (package data) so that each
    is a file of its own language, inlined into index.html so the page stays one file."""
    return (Path(__file__).parent / name).read_text()


def _seconds(slots: int) -> str:
    return f"{slots / grid.SLOTS_PER_SECOND:.2f}"


def _scope(result: SetResult) -> str:
    table = result.table()
    scored = table["scored"]
    whys = ", ".join(sorted({v["why"] for v in scored["videos"]}))
    line = (f"{_brain_shown(Path(result.brain))} on {len(scored['videos'])} video(s): "
            f"{scored['slots']} slots ({scored['seconds']:.1f} s) scored ({esc(whys)}).")
    if result.training_data:  # where they lie is this machine's business (the JSON says it)
        line += " Baselines learned from the brain's training data, its held-out slots left out."
    notes = "".join(f"<li>{esc(note)}</li>" for note in result.notes)
    return f'<p class="scope">{line}</p>' + (f'<ul class="notes">{notes}</ul>' if notes else "")


def _brain_shown(path: Path) -> str:
    """The brain as the page names it: a shipped one by its name (its file lies wherever the
    package was installed), another as the command gave it."""
    if path.resolve().parent == stream.BRAINS_DIR:
        return f"The shipped brain <code>{esc(brain_format.name_of(path))}</code>"
    return f"<code>{esc(path)}</code>"


def _player_html(set_number: int, position: int, player: Player) -> str:
    part = player.part
    ident = f"s{set_number}-v{position}"
    ranges = [[a / grid.SLOTS_PER_SECOND, b / grid.SLOTS_PER_SECOND] for a, b in part.ranges]
    spans = ", ".join(f"{_seconds(a)}&ndash;{_seconds(b)} s" for a, b in part.ranges)
    joined = ", joined" if len(ranges) > 1 else ""
    default = next((t for t in player.tracks if t.kind == "truth"), player.tracks[0])
    choices, sounds, images = [], [], []
    for key, track in enumerate(player.tracks, 1):
        chosen = track is default
        choices.append(
            f'<label class="track {track.kind}"><input type="radio" name="{ident}" value="{track.index}"'
            f'{" checked" if chosen else ""}><kbd>{key if key < 10 else ""}</kbd> {esc(track.label)}'
            f' <span class="kind">{track.kind}</span></label>')
        sounds.append(f'<audio preload="auto" data-row="{track.index}" src="{esc(track.audio)}"></audio>')
        images.append(f'<a href="{esc(track.image)}" data-row="{track.index}"'
                      f'{"" if chosen else " hidden"}><img class="plot" src="{esc(track.image)}" '
                      f'alt="{esc(track.label)}: spectrograms, loudness and onsets against the truth"></a>')
    return f"""
<article class="video" id="{ident}" data-seconds="{player.seconds:.3f}" data-ranges='{json.dumps(ranges)}'>
<h3>{esc(part.path.name)} <small>scored {spans} ({player.seconds:.2f} s{joined}; {esc(part.why)})</small></h3>
<div class="stage">
<div class="player">
<video class="picture" muted playsinline preload="auto" controls src="{esc(player.picture)}"></video>
<p class="where">video time <span class="clock">{_seconds(part.ranges[0][0])}</span> s</p>
<fieldset class="tracks"><legend>Sound track (keys 1&ndash;9)</legend>
{"".join(choices)}
</fieldset>
<label class="volume">volume <input type="range" min="0" max="1" step="0.05" value="1"></label>
{"".join(sounds)}
</div>
<figure class="plots">{"".join(images)}
<figcaption>The chosen track (red) against the truth (black): mel spectrograms, loudness per
slot, onsets. Click to open it full size.</figcaption></figure>
</div>
</article>"""


def _set_html(number: int, result: SetResult, players: list[Player]) -> str:
    table = result.table()
    head = "".join(f"<th>{esc(h)}</th>" for h in report.HEADERS[1:])
    body = "".join(f'<tr data-row="{index}" class="{esc(row["kind"])}">'
                   + "".join(f"<td>{esc(c)}</td>" for c in report.cells(table, row)[1:]) + "</tr>"
                   for index, row in enumerate(table["rows"]))
    videos = "".join(_player_html(number, position, player) for position, player in enumerate(players, 1))
    return f"""
<section class="set" id="s{number}">
<h2>{esc(result.name)} <small>brain {esc(brain_format.name_of(result.brain))}</small></h2>
{_scope(result)}
{videos}
<h3>Metrics <small>(on all scored slots of the set; click a row to hear it)</small></h3>
<div class="scroll"><table class="metrics"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>
<details class="legend"><summary>What the columns mean</summary><p>{esc(report.LEGEND)}</p></details>
<details class="card" open><summary>The brain: {esc(brain_format.name_of(result.brain))}</summary>
{card_html(Path(result.brain))}
</details>
</section>"""


def _page(title: str, command: str | None, sets: list[tuple[int, SetResult, list[Player]]]) -> str:
    made = f"Made by <code>{esc(command)}</code>. " if command else ""
    contents = "".join(f'<li><a href="#s{n}">{esc(r.name)}: {esc(brain_format.name_of(r.brain))}</a></li>'
                       for n, r, _ in sets)
    body = "".join(_set_html(n, r, p) for n, r, p in sets)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{GENERATOR}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{esc(title)}</title>
<style>{_asset('page.css')}</style>
</head>
<body>
<header>
<h1>{esc(title)}</h1>
<p>{made}Each player shows only the slots that were scored (the part the brain never trained
on, unless the command chose others), joined one after another. Play the picture and pick a
sound track: it takes over at the same moment. The truth is the video's real sound.</p>
<ul class="contents">{contents}</ul>
</header>
<main>{body}</main>
<script>const DRIFT_S = {DRIFT_S};
{_asset('page.js')}</script>
</body>
</html>
"""

