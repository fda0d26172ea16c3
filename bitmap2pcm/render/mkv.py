"""The videos render.sh has always made (`bitmap2pcm render`): VIDEO with its sound track
replaced by the brain's sound, and by the granular render of that sound.

In the current folder, for brain NAME (brains/shallow.pkl -> shallow) and VIDEO's file name:

    NAME-VIDEO-deeplearn<SUFFIX>.mkv           the brain's sound (`stream.render`), raw or smooth
    NAME-VIDEO-granular-deeplearn<SUFFIX>.mkv  its granular render (Csound, 44.1 kHz)

and with `webm` a web copy of each (.webm: VP9 + Opus). Each MKV holds the source's first
picture stream, copied bit for bit, and one FLAC sound track (lossless). Picture and sound keep
the source's offset: the pictures keep their own timestamps, the new sound starts at the grid's
time zero, and both move back together so that the file starts at zero (`_mux`).

The work (out.wav, grain.sco, Csound's granular.wav) happens in a temporary folder that is
always removed. Each output is written beside its name and renamed only when complete
(`files.atomic_path`); ffmpeg's write failures, which ffmpeg 5 exits 0 on, are caught by its
log (`video.run_ffmpeg_writing`). Without Csound the first MKV is still made.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from pathlib import Path

from ..core.errors import UserError
from ..core.files import atomic_path, check_writable_dir
from ..learn import brain as brains
from ..media import video
from ..sound import granular
from . import stream

log = logging.getLogger("bitmap2pcm")


def render_videos(video_path: str, brain: str | None = None, mode: str = stream.DEFAULT_MODE,
                  reading: str = granular.DEFAULT_READING, seed: int = 0, suffix: str = "",
                  webm: bool = False, progress: bool = False) -> list[Path]:
    """Write the MKVs (and web copies) of `video_path` in the current folder (see the module
    notes); returns their paths. `brain` is what --brain says (`stream.resolve_brain`)."""
    video.require_tool("ffmpeg")
    check_writable_dir(Path.cwd())  # before the render: a folder that refuses outputs fails fast
    brain_file = stream.resolve_brain(brain)
    stem = f"{brains.name_of(brain_file)}-{Path(video_path).name}"
    sound_mkv = Path(f"{stem}-deeplearn{suffix}.mkv")
    granular_mkv = Path(f"{stem}-granular-deeplearn{suffix}.mkv")
    written = []
    with tempfile.TemporaryDirectory(prefix="render.sh.") as folder:
        work = Path(folder)
        summary = stream.render(video_path, work / "out.wav", brain_file, mode, progress=progress)
        granular.write_score(work / "grain.sco", summary.samples, seed, reading)
        written += _publish(sound_mkv, _mux(video_path, work / "out.wav", summary.origin_s), webm)
        try:
            video.require_tool("csound")
        except UserError as missing:
            raise UserError(f"{missing} ({sound_mkv} is done; the granular render is not)") from None
        log.info("rendering the granular sound with Csound")
        _csound(work)
        written += _publish(granular_mkv, _mux(video_path, work / "granular.wav", summary.origin_s),
                            webm)
    return written


def _mux(video_path: str, sound: Path, origin_s: float) -> list[str]:
    """ffmpeg's arguments, less the output, for the first picture stream of `video_path`,
    copied, with `sound` as its only sound track, starting at the grid's time zero `origin_s`.

    -copyts keeps the pictures' own timestamps (+genpts fills in those an MPEG program stream
    leaves out, which Matroska needs), -itsoffset starts the sound at time zero, and
    -output_ts_offset moves both back by it, so the file starts at zero with picture and sound
    as far apart as in the source.
    """
    origin = f"{origin_s:.6f}"
    back_to_zero = origin[1:] if origin.startswith("-") else f"-{origin}"
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-fflags", "+genpts",
            "-copyts", "-i", f"file:{video_path}", "-itsoffset", origin, "-i", f"file:{sound}",
            "-output_ts_offset", back_to_zero, "-map", "0:V:0", "-map", "1:a:0", "-c:v", "copy",
            "-c:a", "flac", "-sample_fmt", "s32", "-map_metadata", "0", "-map_chapters", "-1",
            "-f", "matroska", "-y"]


def _web_copy(mkv: Path) -> list[str]:
    """ffmpeg's arguments, less the output, for the web copy of a finished MKV."""
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", f"file:{mkv}",
            "-map", "0:v:0", "-map", "0:a:0", "-c:v", "libvpx-vp9", "-crf", "33", "-b:v", "0",
            "-row-mt", "1", "-deadline", "good", "-cpu-used", "4", "-c:a", "libopus", "-b:a", "128k",
            "-ar", "48000", "-f", "webm", "-y"]


def _publish(mkv: Path, mux: list[str], webm: bool) -> list[Path]:
    """Write `mkv` with the ffmpeg arguments `mux` (and its web copy with `webm`), each
    under its name only when complete; returns what was written."""
    written = [mkv]
    _write(mkv, mux)
    if webm:
        written.append(mkv.with_suffix(".webm"))
        _write(written[-1], _web_copy(mkv))
    return written


def _write(destination: Path, ffmpeg: list[str]) -> None:
    with atomic_path(destination) as temporary:
        video.run_ffmpeg_writing([*ffmpeg, f"file:{temporary}"], destination)
    log.info("wrote %s", destination)


def _csound(work: Path) -> None:
    """granular.csd over work/out.wav and work/grain.sco into work/granular.wav."""
    result = subprocess.run(["csound", "-f", "-o", "granular.wav", str(granular.ORCHESTRA)],
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace")
    if result.returncode != 0:
        lines = result.stdout.strip().splitlines() or ["no message"]
        reason = next((line for line in lines if re.search("error|fail", line, re.IGNORECASE)),
                      lines[-1])
        raise UserError(f"csound failed ({reason.strip()})")
