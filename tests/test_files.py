"""Atomic writes and the restricted unpickler."""

import os
import pickle

import numpy as np
import pytest

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.core.files import atomic_open, load_pickle, save_pickle


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_failed_write_leaves_the_old_file_and_no_debris(tmp_path, failure):
    target = tmp_path / "brain.pkl"
    save_pickle({"old": 1}, target)
    with pytest.raises(failure), atomic_open(target) as stream:
        stream.write(b"half a pickle")
        raise failure()
    assert load_pickle(target) == {"old": 1}
    assert os.listdir(tmp_path) == ["brain.pkl"]


def test_round_trip_of_arrays_and_plain_data(tmp_path):
    data = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "f16": np.ones(3, np.float16),
            "scalar": np.float32(2.5), "names": ["a", ("b", 1)], "none": None, "ok": True}
    save_pickle(data, tmp_path / "d.pkl")
    loaded = load_pickle(tmp_path / "d.pkl")
    np.testing.assert_array_equal(loaded["w"], data["w"])
    assert loaded["f16"].dtype == np.float16 and loaded["scalar"] == 2.5
    assert loaded["names"] == ["a", ("b", 1)] and loaded["none"] is None


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    with open(tmp_path / "evil.pkl", "wb") as stream:
        pickle.dump({"weights": Exploit(marker)}, stream)
    with pytest.raises(UserError, match="not a safe pickle.*system"):
        load_pickle(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_other_python_objects_are_refused(tmp_path):
    with open(tmp_path / "obj.pkl", "wb") as stream:
        pickle.dump(pytest.approx(1.0), stream)
    with pytest.raises(UserError, match="refusing"):
        load_pickle(tmp_path / "obj.pkl")


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"\x80\x05garbage", "not a")])
def test_unreadable_pickles_get_one_line_errors(tmp_path, content, message):
    (tmp_path / "bad.pkl").write_bytes(content)
    with pytest.raises(UserError, match=message) as error:
        load_pickle(tmp_path / "bad.pkl")
    assert "\n" not in str(error.value)


def test_missing_pickle(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_pickle(tmp_path / "missing.pkl")
