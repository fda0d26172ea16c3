"""render.sh end to end: both MKVs, the copied picture stream, the new sound, and failures."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, make_video
from render_helpers import (
    brightness_video,
    check_mkv,
    ffprobe_streams,
    packet_hashes,
    pcm_blocks,
    render_sh,
    trained_brain,
)

from bitmap2pcm.core import grid
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.render import stream as render

pytestmark = [pytest.mark.skipif(shutil.which("csound") is None, reason="csound not installed"),
              pytest.mark.slow]


@pytest.fixture(scope="session")
def tiny_brain(tmp_path_factory) -> Path:
    return trained_brain(tmp_path_factory)


def outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_both_mkvs_for_an_awkward_name_from_another_folder(tiny_brain, tmp_path):
    media = tmp_path / "média dir"
    media.mkdir()
    clip = brightness_video(media / "it's a \"clip\" – ünïcode.mp4", sound="sine=f=220")
    here = tmp_path / "elsewhere"
    here.mkdir()
    result = render_sh("--brain", str(tiny_brain), "--mode", "raw", str(clip), "-v1", cwd=here)
    assert result.returncode == 0, result.stderr
    raw_name = f"tiny-{clip.name}-deeplearn-v1.mkv"
    granular_name = f"tiny-{clip.name}-granular-deeplearn-v1.mkv"
    assert outputs(here) == sorted([raw_name, granular_name])  # nothing else left behind

    sound = check_mkv(here / raw_name, clip, grid.RATE_HZ)
    # The raw sound track is the brain's 2y - 1, stored losslessly (24-bit FLAC).
    network = brains.load(tiny_brain)
    frames = np.concatenate(list(render.frame_stream(network, clip)))
    expected = pcm_blocks(network, frames).reshape(-1)
    assert sound.size == expected.size
    assert np.max(np.abs(sound - expected)) < 1e-6
    granular = check_mkv(here / granular_name, clip, 44100)
    assert np.abs(granular).max() > 0.01  # it is not silent


def test_video_without_sound_and_the_same_seed_twice(tiny_brain, tmp_path):
    clip = make_video(tmp_path / "mute.mkv", seconds=2.0, fps="60", sound=None, video_codec=("-c:v", "ffv1"))
    runs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        result = render_sh("--brain", str(tiny_brain), "--seed", "3", "-q", str(clip), cwd=folder)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        runs.append(folder)
    granular_name = "tiny-mute.mkv-granular-deeplearn.mkv"
    for folder in runs:
        assert outputs(folder) == sorted(["tiny-mute.mkv-deeplearn.mkv", granular_name])
        check_mkv(folder / "tiny-mute.mkv-deeplearn.mkv", clip, grid.RATE_HZ)
    assert packet_hashes(runs[0] / granular_name, "a:0") == packet_hashes(runs[1] / granular_name, "a:0")


def test_webm_copies(tiny_brain, tmp_path):
    clip = brightness_video(tmp_path / "clip.mp4", seconds=1.0, sound="sine=f=330")
    out = tmp_path / "out"
    out.mkdir()
    result = render_sh("--brain", str(tiny_brain), "--webm", "-q", str(clip), cwd=out)
    assert result.returncode == 0, result.stderr
    names = [f"tiny-clip.mp4-{kind}deeplearn.{ext}" for kind in ("", "granular-") for ext in ("mkv", "webm")]
    assert outputs(out) == sorted(names)
    for webm in (out / n for n in names if n.endswith(".webm")):
        codecs = sorted(s["codec_name"] for s in ffprobe_streams(webm))
        assert codecs == ["opus", "vp9"]


def path_without(tmp_path: Path, *tools: str) -> str:
    """A PATH with every program of the current one except `tools`."""
    folder = tmp_path / f"bin-without-{'-'.join(tools)}"
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = folder / entry.name
            if entry.name not in tools and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return str(folder)


def test_without_csound_the_raw_render_still_completes(tiny_brain, tmp_path):
    clip = brightness_video(tmp_path / "clip.mp4", seconds=1.0)
    out = tmp_path / "out"
    out.mkdir()
    result = render_sh("--brain", str(tiny_brain), str(clip), cwd=out, path=path_without(tmp_path, "csound"))
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "apt-get install -y csound" in lines[0] and "Traceback" not in result.stderr
    assert outputs(out) == ["tiny-clip.mp4-deeplearn.mkv"]


def test_without_ffmpeg_nothing_is_written(tiny_brain, tmp_path):
    clip = brightness_video(tmp_path / "clip.mp4", seconds=1.0)
    out = tmp_path / "out"
    out.mkdir()
    result = render_sh("--brain", str(tiny_brain), str(clip), cwd=out,
                       path=path_without(tmp_path, "ffmpeg", "ffprobe"))
    assert_one_line_error(result, 1, "apt-get install -y ffmpeg")
    assert outputs(out) == []


@pytest.mark.parametrize("case", ["missing video", "corrupt video", "missing brain", "future brain"])
def test_bad_input_one_line_and_nothing_written(case, tiny_brain, tmp_path):
    clip = brightness_video(tmp_path / "clip.mp4", seconds=1.0)
    brain = tiny_brain
    if case == "missing video":
        clip = tmp_path / "gone.mp4"
    elif case == "corrupt video":
        clip = tmp_path / "corrupt.mp4"
        clip.write_bytes(os.urandom(2048))
    elif case == "missing brain":
        brain = tmp_path / "nowhere.pkl"
    else:
        network = brains.load(tiny_brain)
        network.version = 7
        brain = tmp_path / "future.pkl"
        with open(brain, "wb") as stream:
            pickle.dump(network.to_record(), stream)
    out = tmp_path / "out"
    out.mkdir()
    result = render_sh("--brain", str(brain), str(clip), cwd=out)
    assert_one_line_error(result, 1, {"missing video": "gone.mp4", "corrupt video": "corrupt.mp4",
                                      "missing brain": "nowhere.pkl", "future brain": "version 7"}[case])
    assert outputs(out) == []


def test_unwritable_output_folder(tiny_brain, tmp_path):
    clip = brightness_video(tmp_path / "clip.mp4", seconds=1.0)
    if os.geteuid() == 0:
        folder = Path("/proc/self")  # root may write anywhere a file system allows, not here
        if os.access(folder, os.W_OK):
            pytest.skip("no folder this user cannot write")
    else:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o555)
    result = render_sh("--brain", str(tiny_brain), str(clip), cwd=folder)
    assert_one_line_error(result, 1, "not writable")


def test_help_and_usage():
    result = render_sh("--help", cwd=REPO)
    assert result.returncode == 0 and "examples:" in result.stdout and "--webm" in result.stdout
    assert render_sh(cwd=REPO).returncode == 2
    assert render_sh("--loud", "clip.mp4", cwd=REPO).returncode == 2
    assert render_sh("a.mp4", "b", "c", cwd=REPO).returncode == 2
