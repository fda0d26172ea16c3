"""Which optimizer and learning rate a run gets (learn/settings.py): the recommended mode's
Adam, the movement cue brain's and the other targets' Nesterov, and a rate that comes with an
optimizer chosen without --lr."""

from __future__ import annotations

import pytest

from bitmap2pcm.core.errors import UserError
from bitmap2pcm.learn import settings as run_settings


def chosen(**options) -> run_settings.Settings:
    return run_settings.settings_for(None, run_settings.mode_defaults(options, None, None, False), None, None)


@pytest.mark.parametrize("options, optimizer, rate", [
    ({}, "adam", 1e-3),                                         # the recommended mode
    ({"inputs": "movement"}, "nesterov", 0.3),                  # as it was measured
    ({"target": "stft"}, "nesterov", 3.0),                      # the other targets' own
    ({"optimizer": "nesterov"}, "nesterov", 0.3),               # a rate comes with its optimizer
    ({"inputs": "movement", "optimizer": "adam"}, "adam", 1e-3),
    ({"target": "stft", "optimizer": "adam"}, "adam", 1e-3),
    ({"optimizer": "nesterov", "learning_rate": 0.05}, "nesterov", 0.05),  # --lr wins
])
def test_each_mode_gets_its_optimizer_and_rate(options, optimizer, rate):
    settings = chosen(**options)
    assert (settings.optimizer, settings.learning_rate) == (optimizer, rate)


def test_the_recommended_mode_is_a_patch_cue_brain_and_settings_say_so():
    assert chosen().layer_sizes == run_settings.Settings().layer_sizes == [1544, 48, 128, 105]
    assert (run_settings.Settings().optimizer, run_settings.Settings().learning_rate) == ("adam", 1e-3)


def test_an_unknown_optimizer_is_refused_and_old_runs_resume_with_nesterov():
    with pytest.raises(UserError, match="unknown optimizer"):
        run_settings.settings_for(None, {"optimizer": "sgd"}, None, None)
    record = run_settings.Settings().to_record()
    del record["optimizer"]  # a checkpoint written before the choice existed
    assert run_settings.Settings.from_record(record).optimizer == "nesterov"
