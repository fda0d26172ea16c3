"""bitmap2pcm live: look-ahead rows, a file played live against render, a pipe source, a
source that stops, Ctrl-C with --record, the missing sound device, and sound and its latency
through a PulseAudio null sink where one can be started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, make_video

from bitmap2pcm.core import grid
from bitmap2pcm.data import movement, patches
from bitmap2pcm.learn import brain as brains
from bitmap2pcm.live import latency, lookahead, nullsink, output, source
from bitmap2pcm.media import audio, video
from bitmap2pcm.render import stream

LIVE = [sys.executable, "-m", "bitmap2pcm", "live"]
RNG = np.random.default_rng(0)


def live(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*LIVE, *args], capture_output=True, cwd=REPO, **kwargs)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """2 s of moving pictures at 25 fps (the grid's 30 slots a second duplicate some)."""
    return make_video(tmp_path_factory.mktemp("live") / "clip.mp4", seconds=2.0, fps="25",
                      size="96x64", sound=None)


# ---- look-ahead ---------------------------------------------------------------------------

@pytest.mark.parametrize("frames", [0, 1, 2, 3])
def test_lookahead_rows_come_n_frames_late_and_end_as_render_ends(frames):
    # a movement brain: its rows wait for exactly LOOK frames
    network = brains.make_brain([np.zeros((movement.input_size(grid.PIXELS_PER_FRAME), 735), np.float32)],
                                [np.zeros(735, np.float32)], ["linear"], {},
                                input_record=movement.Movement().convention(brains.picture_convention()))
    pictures = RNG.random((20, grid.PIXELS_PER_FRAME)).astype(np.float32)
    rows = lookahead.LookaheadRows(network, frames)
    given = []
    for k, picture in enumerate(pictures):
        new = rows.push(picture[None])
        assert len(new) == (1 if k >= frames else 0)  # frame k - frames gets its row now
        given += list(new)
    given += list(rows.finish())
    whole = movement.movement_rows(pictures)
    assert len(given) == len(pictures)
    if frames == movement.LOOK:
        assert np.array_equal(np.array(given), whole)
    else:  # an early row stands the newest frame in for the frames to come
        early = movement.movement_rows(pictures[:5 + frames + 1])[5]
        assert np.array_equal(given[5], early)
        assert not np.array_equal(given[5], whole[5])


def test_a_patch_brain_gives_a_row_every_frame_even_while_pictures_are_held():
    # held pictures (each shown twice, and a still stretch) make the patch layout wait up to
    # two more frames; live's default waits the steady three, so every frame gives one row
    layout = patches.Patches()
    network = brains.make_brain([np.zeros((patches.PATCH_BLOCKS ** 2 * patches.STEPS, 2), np.float32),
                                 np.zeros((4 + len(patches.places().direct), 3), np.float32)],
                                [np.zeros(2, np.float32), np.zeros(3, np.float32)], ["sigmoid", "linear"], {},
                                input_record=layout.convention(brains.picture_convention()),
                                input_units=patches.WIDTH)
    distinct = RNG.random((12, grid.PIXELS_PER_FRAME)).astype(np.float32)
    pictures = np.concatenate([np.repeat(distinct, 2, axis=0), np.repeat(distinct[-1:], 6, axis=0)])
    rows = lookahead.LookaheadRows(network)
    assert rows.frames == layout.steady_lookahead_slots == 3 < network.lookahead_slots
    counts = [len(rows.push(picture[None])) for picture in pictures]
    assert counts == [0, 0, 0] + [1] * (len(pictures) - 3)
    assert len(rows.finish()) == 3


def test_lookahead_beyond_the_brains_is_refused():
    shallow = stream.load_brain(stream.resolve_brain("shallow"))
    with pytest.raises(Exception, match="at most 0 frames"):
        lookahead.LookaheadRows(shallow, 1)


def test_device_ring_keeps_latency_bounded_and_counts_underruns():
    ring = output._Ring(100)
    out = np.zeros(128, np.float32)
    ring.take(out)
    assert ring.underruns == 0 and not out.any()  # silence before the first samples
    ring(np.ones(735, np.float32))
    ring.take(out)
    assert not out[:100].any() and out[100:].all()  # the margin first
    ring(np.ones(5 * 735, np.float32))
    assert ring.skipped_samples > 0  # beyond margin + two slots: the oldest go
    for _ in range(40):
        ring.take(out)
    assert ring.underruns == 1
    output.ending([ring])
    ring(np.ones(5 * 735, np.float32))  # the session's end: played whole
    assert len(ring._samples) == 100 + 5 * 735


class FakeServer:
    """A `pulse.Playback` whose latency the test sets: what the server holds, in ms."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.written: list[np.ndarray] = []

    def latency_ms(self) -> float:
        return self.latency

    def write(self, samples: np.ndarray) -> None:
        self.written.append(samples)


def test_device_server_writer_skips_piled_sound_plays_the_end_whole_and_counts_underruns():
    server = FakeServer()
    writer = output._ServerWriter(server, margin_ms=30.0)
    server.latency = 16.7  # pre-buffering: the server holds what it got, and a wait is no underrun
    writer(np.ones(735, np.float32))
    time.sleep(0.02)
    writer(np.ones(735, np.float32))
    assert writer.underruns == 0 and len(server.written[-1]) == 735
    server.latency = 90.0  # sound piled up: what exceeds margin + two slots is skipped, oldest first
    writer(np.ones(735, np.float32))
    kept = 735 - round((90.0 + 1000 * 735 / grid.RATE_HZ - 30.0 - 2000 / grid.SLOTS_PER_SECOND)
                       * grid.RATE_HZ / 1000)
    assert len(server.written[-1]) == kept and writer.skipped_samples == 735 - kept
    output.ending([writer])
    server.latency = 0.5  # it plays: it holds less than after the last write
    writer(np.full(3 * 735, 0.5, np.float32))  # the look-ahead's last slots: not late, played whole
    assert len(server.written[-1]) == 3 * 735 and writer.underruns == 0
    time.sleep(0.002)  # longer than the 0.5 ms the server held after that write: it ran dry
    server.latency = 0.0
    writer(np.ones(735, np.float32))
    assert writer.underruns == 1
    time.sleep(0.002)  # pre-buffering again: it holds what it got
    writer(np.ones(735, np.float32))
    assert writer.underruns == 1


# ---- the command ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("brain", ["cues", "shallow"])
def test_a_file_played_live_sounds_as_render_makes_it(clip, tmp_path, brain):
    rendered, played = tmp_path / "render.wav", tmp_path / "live.wav"
    stream.render(clip, rendered, brain)
    # the brain's most look-ahead (a patch brain waits for held pictures as render does; by
    # default live waits its steady look-ahead instead, and stands in for held pictures)
    most = stream.load_brain(stream.resolve_brain(brain)).lookahead_slots
    result = live(str(clip), "--brain", brain, "--lookahead", str(most), "-o", str(played))
    assert result.returncode == 0, result.stderr.decode()
    expected, _ = audio.read_wav(rendered)
    heard, rate_hz = audio.read_wav(played)
    assert rate_hz == grid.RATE_HZ
    assert heard.shape == expected.shape
    # the same frames, rows and synthesis; a PCM brain's blocks differ by BLAS rounding alone
    # (render multiplies 256 rows at a time, live one), a cue brain's choices not at all
    assert np.array_equal(heard, expected) if brain == "cues" else np.allclose(heard, expected, atol=1e-5)


@pytest.mark.slow  # the clip is made and probed with ffmpeg
def test_a_real_time_source_is_placed_on_the_grid_as_it_comes_a_file_as_render_places_it(clip):
    # render's grid filter holds each picture until the next has come (a frame interval of
    # latency); a camera, a pipe or a stream has no render to agree with
    picture = source.Picture(grid.FRAME_SIDE, video.DEFAULT_INTERPOLATION, 1)
    for real_time in ("-", "/dev/video0", ":0.0", "rtsp://camera/stream"):
        command = source.decoder_command(source.input_args(real_time), picture)
        assert command[command.index("-fps_mode") + 1] == "cfr"
        assert not any(f"fps={grid.SLOTS_PER_SECOND}" in part for part in command)
    for played in (str(clip), "lavfi:testsrc2"):
        command = source.decoder_command(source.input_args(played), picture)
        assert "-fps_mode" not in command
        assert video.frame_filter(picture.side, picture.interpolation, source.input_args(played).origin_s) in command


@pytest.mark.slow
def test_pictures_on_a_pipe_with_lookahead_0_give_a_slot_per_picture(clip, tmp_path):
    pictures = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(clip),
                               "-f", "yuv4mpegpipe", "-pix_fmt", "gray", "-"], capture_output=True).stdout
    played = tmp_path / "pipe.wav"
    result = live("-", "--lookahead", "0", "-o", str(played), "-o", "-", input=pictures)
    assert result.returncode == 0, result.stderr.decode()
    heard, _ = audio.read_wav(played)
    assert len(heard) == 60 * grid.SAMPLES_PER_SLOT  # 2 s on the grid
    assert np.array_equal(np.frombuffer(result.stdout, "<f4"), heard)  # -o - is the same sound, raw
    assert np.abs(heard).max() > 0


@pytest.mark.slow
def test_a_source_that_fails_or_is_missing_is_one_line(tmp_path):
    missing = live(str(tmp_path / "nothere.mp4"), "-o", str(tmp_path / "x.wav"))
    assert missing.returncode == 1
    assert missing.stderr.decode().strip().count("\n") == 0 and "no such file" in missing.stderr.decode()
    broken = live("-", "-o", str(tmp_path / "y.wav"), input=b"not a video at all")
    assert broken.returncode == 1 and b"Traceback" not in broken.stderr
    assert not (tmp_path / "y.wav").exists()


@pytest.mark.slow
def test_ctrl_c_with_record_leaves_a_complete_playable_recording(tmp_path):
    recording, played = tmp_path / "take.mkv", tmp_path / "take.wav"
    process = subprocess.Popen([*LIVE, "lavfi:testsrc2=size=160x120:rate=30", "--record", str(recording),
                                "-o", str(played)], cwd=REPO, stderr=subprocess.PIPE)
    time.sleep(3.0)  # a source that never ends: only Ctrl-C stops it
    process.send_signal(signal.SIGINT)
    _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log.decode()
    info = video.probe(recording)
    assert info.has_video and info.has_audio
    decoded = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(recording), "-f", "null", "-"],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and decoded.stderr == ""  # every packet decodes
    heard, _ = audio.read_wav(played)
    assert audio.read_sound(recording).size == heard.size  # the recording has all the sound
    assert heard.size > 0 and heard.size % grid.SAMPLES_PER_SLOT == 0
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no scratch left


@pytest.mark.slow
def test_no_sound_device_names_the_package_and_the_file_alternative(clip):
    env = dict(os.environ, PULSE_SERVER="unix:/nonexistent", AUDIODEV="null")
    result = live(str(clip), env=env)
    message = result.stderr.decode().strip().splitlines()[-1]
    if result.returncode == 0:
        pytest.skip("this machine has a sound device")
    assert result.returncode == 1 and "sounddevice" in message and "-o" in message


def test_help_has_examples_for_a_camera_the_screen_and_a_file():
    result = live("--help")
    text = result.stdout.decode()
    assert result.returncode == 0
    for example in ("/dev/video0", ":0.0", ".mp4 -o", "--lookahead"):
        assert example in text


@pytest.mark.slow
def test_sound_reaches_a_null_sink_monitor(clip, tmp_path):
    if reason := nullsink.unavailable():
        pytest.skip(reason)
    try:
        with nullsink.server(tmp_path / "pulse") as env:
            monitor = nullsink.Monitor(env)
            time.sleep(0.3)
            played = tmp_path / "played.wav"
            result = live(str(clip), "--play", "-o", str(played), env=env)
            time.sleep(0.5)
            monitor.stop()
    except RuntimeError as error:
        pytest.skip(str(error))
    assert result.returncode == 0, result.stderr.decode()
    sound, _ = audio.read_wav(played)
    heard = monitor.samples
    assert np.abs(heard).max() > 0
    # the sink received the played sound's level (its exact alignment is bench/live's work:
    # the device may skip or pad a little at the start)
    loud = heard[np.abs(heard) > 0]
    assert 0.5 < np.sqrt(np.mean(loud ** 2)) / np.sqrt(np.mean(sound ** 2)) < 2.0
    assert len(loud) > 0.75 * len(sound)


@pytest.mark.slow
def test_latency_end_to_end_through_a_null_sink(tmp_path):
    # bench/live's measurement, short: every flash's sound is found where it was played, after
    # its picture, and waiting fewer frames gives it sooner (timings are bench/live's to report)
    if reason := nullsink.unavailable():
        pytest.skip(reason)
    try:
        with nullsink.server(tmp_path / "pulse") as env:
            steady = latency.measure(LIVE, env, tmp_path, seconds=3.0, cwd=REPO)
            soonest = latency.measure([*LIVE, "--lookahead", "0"], env, tmp_path, seconds=3.0, cwd=REPO)
    except RuntimeError as error:
        pytest.skip(str(error))
    for flashes in (steady, soonest):
        assert flashes.not_found == 0 and len(flashes.latencies_ms) >= 3, flashes.log
        assert min(flashes.latencies_ms) > 0
    # three frames of look-ahead are 100 ms; where the server's pre-buffer filled at the start
    # may move each run's latency by up to a slot
    assert np.median(steady.latencies_ms) - np.median(soonest.latencies_ms) > 1000 / grid.SLOTS_PER_SECOND


@pytest.mark.slow
def test_a_sound_server_that_goes_away_ends_the_session_with_one_line_and_the_wav(tmp_path):
    if reason := nullsink.unavailable():
        pytest.skip(reason)
    played = tmp_path / "played.wav"
    try:
        with nullsink.server(tmp_path / "pulse") as env:
            session = subprocess.Popen([*LIVE, "lavfi:testsrc2=size=64x64:rate=30", "--play", "-o",
                                        str(played)], cwd=REPO, env=env, stderr=subprocess.PIPE)
            time.sleep(3)  # the brain is loaded and the sound is playing
            server = subprocess.run(["pactl", "info"], env=env, capture_output=True)
            assert server.returncode == 0
            subprocess.run(["pactl", "exit"], env=env, capture_output=True)
            _, stderr = session.communicate(timeout=30)
    except RuntimeError as error:
        pytest.skip(str(error))
    assert session.returncode == 1
    errors = [line for line in stderr.decode().splitlines() if "ERROR" in line or "error" in line]
    assert len(errors) == 1 and "sound server stopped playing" in errors[0]
    assert "Traceback" not in stderr.decode()
    sound, _ = audio.read_wav(played)  # complete: the other outputs are finished
    assert len(sound) >= 10 * grid.SAMPLES_PER_SLOT and len(sound) % grid.SAMPLES_PER_SLOT == 0
