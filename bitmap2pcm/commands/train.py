"""`bitmap2pcm train` / theanet.py: train a brain (a deep belief network from frames to PCM)
from frames.pkl and audio.pkl. The work is in bitmap2pcm/learn/ (`run.run_training`)."""

from __future__ import annotations

import argparse
from typing import Callable

from ..core import cli
from ..data import eigen, flow, layouts
from ..learn.brain import DEFAULT_BRAIN_FILE
from ..learn.run import run_training
from ..learn.settings import OPTIMIZER_RATES, OPTIMIZERS, PRESETS, Settings
from ..sound import registry
from ..sound.representation import MEAN_SQUARED_ERROR_TRAINING as OTHER_TRAINING

EXAMPLES = """
  {command}                                  # frames.pkl + audio.pkl -> theanet.py.net.pkl: the
                                             #   recommended cue brain, 1544-48-128-105, with a
                                             #   second of memory
  {command} --faithful                       # the 2015 network: 4096-1000-735, frame in, PCM out
  {command} --preset deeper -o deeper.pkl    # the original's deeper shape (PCM)
  {command} --layers 4096,2000,735 --epochs 50 --pretrain-epochs 5
  {command} --pretrain-epochs 0              # no RBM pretraining: a plain MLP
  {command} --resume brain-0040.pkl          # continue an interrupted run exactly
  {command} --keep-every 50                  # keep the checkpoints of epochs 50, 100, ... too
  {command} --holdout-tail 0.2               # keep each clip's last 20% for evaluate.py
  {command} --library-seconds 60             # a cue brain that keeps 1 min of example sound
  {command} --target stft                    # predict STFT magnitudes: 4096-1000-513
  {command} --target ola                     # overlapping windowed PCM: 4096-1000-1470
  {command} --history 2                      # frame + 2 frame differences: 12288-1000-735
  {command} --eigen-frames 256               # 256 PCA coefficients per frame: 256-1000-735
  {command} --input patches                  # one detector shared across the picture: 1544-48-128-105
  {command} --frames-ahead 2                 # sees two frames after each slot: live sound 33 ms sooner
  {command} --inbetweens motion              # held pictures moved along the flow: to render animation
  {command} --steady-camera                  # a shaking or panning camera is not motion everywhere
  {command} --augment mirror,shift,light,twos # also learn from changed copies of the pictures
  {command} --memory-seconds 0               # a cue brain without memory: each slot on its own
  {command} --backend jax --preset kungfury  # on an NVIDIA GPU (pip install '.[gpu]')
"""
MAX_MEMORY_S = 10.0  # spans double, so even 10 s is 10 spans


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, not {value}")
    return value


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        return value
    return parse


def _memory_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value <= MAX_MEMORY_S:
        raise argparse.ArgumentTypeError(f"must be 0 (no memory) to {MAX_MEMORY_S:g} seconds, not {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def _layers(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.replace("-", ",").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of sizes like 4096,1000,735") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': need at least two layer sizes, each >= 1")
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()  # the recommended mode
    parser.add_argument("--frames", default="frames.pkl",
                        help="frames pickle, N x 4096 (N x 12288 in colour) (default %(default)s)")
    parser.add_argument("--audio", default="audio.pkl",
                        help="audio pickle, N x 735 (default %(default)s)")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--layers", type=_layers, help="layer sizes, input first: e.g. 4096,1000,735")
    shape.add_argument("--preset", choices=sorted(PRESETS),
                       help="an original shape: " + "; ".join(
                           f"{name} {'-'.join(map(str, sizes))}" for name, sizes in PRESETS.items())
                       + " (default shallow)")
    parser.add_argument("--target", choices=registry.NAMES,
                        help="what the network predicts per slot: pcm, the 735 samples (the "
                             "original); stft, the 513-bin log-magnitude spectrum of a 1024-sample "
                             "Hann frame centred on the slot, which render turns into sound with "
                             "continuous phase, at a level calibrated on the validation rows; "
                             "ola, the 1470 samples around the slot (367 before to 368 after) "
                             "under a window, which render overlap-adds into sound without "
                             "clicks; cues, 105 sound cues (40 mel bands, the loudness as one of 64 "
                             "mu-law classes, an onset probability), which render turns into "
                             "copies of the training sound the brain keeps, placed on the "
                             "predicted events. A preset's last layer becomes 513, 1470 or 105 "
                             "and --layers must end in it (default: cues; pcm with --faithful "
                             "or --preset; with --layers, the target its last size implies)")
    parser.add_argument("--history", type=_count(0), metavar="K",
                        help="also show the network K frame differences (f_t - f_t-1, ..., "
                             "f_t-K+1 - f_t-K, each mapped to [0, 1] as (d + 1) / 2), so it sees "
                             "motion; at a clip's start the first frame stands for the missing "
                             "ones. The input becomes 4096 * (K + 1): a preset's first layer "
                             "adapts and --layers must start with it; render applies it from the "
                             "brain (default 0, the frame alone)")
    parser.add_argument("--input", choices=layouts.CHOSEN_BY_NAME, dest="inputs",
                        help="what the network sees per slot: frame, the 64x64 picture (the "
                             "original; with --history also its previous differences, with "
                             "--eigen-frames its principal components); movement, the motion in a centred "
                             "window of seven frames on a 16x16 grid (the coarse picture, motion "
                             "in and out and its change, six motion energies, the turn), 1032 "
                             "inputs, fully connected (the recommended mode before patches); "
                             "patches, the frame differences of six steps around the slot in 49 "
                             "patches of the picture, for one detector shared across them and "
                             "pooled after it (1544 inputs, a 1544-48-128-105 network with Adam "
                             "unless --layers or --optimizer say otherwise). A preset's first layer "
                             "adapts and --layers must start with it; render applies it from the "
                             "brain (default: patches for a cue brain, else frame)")
    parser.add_argument("--frames-ahead", type=_count(0), metavar="N",
                        help="patches: how many frames after a slot its inputs see, 0 to 3 (the "
                             "same six frame steps, ending N frames after the slot): a live "
                             "camera's sound then comes N frames (N x 33 ms) after its picture "
                             "instead of 3 (default 3, a window centred on the slot)")
    parser.add_argument("--inbetweens", choices=flow.INBETWEENS,
                        help="patches: how the slots of a held picture (animation on twos or "
                             "threes, 24 fps on the 30 fps grid) are filled between the pictures "
                             "around them: blend mixes the two; motion moves them along the "
                             "optical flow, as video at the full rate shows a moving thing. A "
                             "brain of 30 fps event scenes found more onsets on twos, threes and "
                             "24 fps with motion (one of 8 minutes fewer on twos and threes, "
                             "more at 24 fps); "
                             "on Planet Blupi clips no brain trained on it was even "
                             "(docs/training.md). Default blend")
    parser.add_argument("--steady-camera", action="store_true", default=None,
                        help="patches: take the camera's own motion (the median motion of the "
                             "picture's corners) out of every frame step, so a shaking or panning "
                             "camera is not motion everywhere: for hand-held video. Measured on "
                             "unseen event scenes, two seeds: through a shaking camera onset F1 "
                             "0.43 -> 0.71; through a still one 0.885 -> 0.855, on animation "
                             "on threes 0.575 -> 0.45; render 1.13 times as long "
                             "(docs/evaluation.md)")
    parser.add_argument("--memory-seconds", type=_memory_seconds, metavar="S",
                        help="the output layer also reads what the network saw over the last S "
                             "seconds (the top hidden layer averaged over spans of past slots that "
                             "double going back; fitted after fine-tuning, kept only where "
                             "validation improves; no wait for later frames, so no latency live); "
                             f"0 = none (default {defaults.memory_seconds:g} for a cue brain, 0 for "
                             "other targets: the 2015 network had no memory)")
    parser.add_argument("--augment", type=_augmentations, metavar="NAME[,NAME]",
                        help="also train on changed copies of the training pictures, one per name, "
                             "with the same sound: mirror (left and right swapped), shift (moved "
                             "up to a quarter of the picture), light (brightness, contrast and "
                             "gamma drifting), twos (every other picture held), so the brain learns "
                             "what happens rather than where or how bright; validation stays the "
                             "original pictures (default: none)")
    parser.add_argument("--eigen-frames", type=_count(0), metavar="K",
                        help="show the network each frame's first K principal components (the "
                             "author's eigen-faces idea) instead of its pixels: fitted on the "
                             f"training rows only ({eigen.SUBSET_ROWS} of them drawn at random, or "
                             "K if more; never the held-out or validation rows), each coefficient mapped "
                             f"linearly from +-{eigen.CLIP_SIGMAS:g} standard deviations onto [0, 1] "
                             "and clipped. A preset's first layer adapts and "
                             "--layers must start with it; the brain stores the fit and render "
                             "applies it (default: the pixels)")
    parser.add_argument("--faithful", action="store_true",
                        help="the 2015 network: the frame in, its 735 PCM samples out, the "
                             "shallow shape unless --preset or --layers say otherwise")
    parser.add_argument("--library-seconds", type=_positive_float, metavar="SECONDS",
                        dest="library_seconds",
                        help="a cue brain keeps at most this much of its training sound to "
                             "copy from, as 16-bit samples (5.3 MB for the default "
                             f"{defaults.library_seconds:g} s); clips with onsets first")
    parser.add_argument("-o", "--output", default=DEFAULT_BRAIN_FILE,
                        help="brain to write; checkpoints go beside it (default %(default)s)")
    parser.add_argument("--epochs", type=_count(0),
                        help=f"most fine-tuning epochs (default {defaults.epochs}, "
                             f"{OTHER_TRAINING['epochs']} for other targets than cues; early "
                             f"stopping usually ends sooner)")
    parser.add_argument("--pretrain-epochs", type=_count(0),
                        help=f"CD epochs per hidden layer, 0 = none (default {defaults.pretrain_epochs})")
    parser.add_argument("--patience", type=_count(1),
                        help=f"fine-tuning epochs without improvement before stopping "
                             f"(default {defaults.patience}, {OTHER_TRAINING['patience']} for other targets)")
    parser.add_argument("--batch", type=_count(1), help=f"minibatch rows (default {defaults.batch}, "
                                                        f"{OTHER_TRAINING['batch']} for other targets)")
    parser.add_argument("--lr", type=_positive_float, dest="learning_rate",
                        help=f"fine-tuning learning rate (default {defaults.learning_rate:g}; "
                             f"{OPTIMIZER_RATES['nesterov']:g} for a movement cue brain, "
                             f"{OTHER_TRAINING['learning_rate']:g} for other targets)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS,
                        help="fine-tuning's: adam, a step per weight scaled by its recent "
                             "gradients (Kingma & Ba 2015), which a cue brain on patches needs to "
                             "leave the \"predict the prior\" start; nesterov, Nesterov momentum "
                             "(the original's momentum, corrected). Chosen without --lr, it comes "
                             "with its own rate: " + ", ".join(f"{name} {rate:g}" for name, rate in
                                                              OPTIMIZER_RATES.items())
                             + f" (default {defaults.optimizer}; nesterov for a movement cue brain "
                             "and for other targets)")
    parser.add_argument("--pretrain-lr", type=_positive_float, dest="pretrain_learning_rate",
                        help=f"RBM learning rate (default {defaults.pretrain_learning_rate})")
    parser.add_argument("--cd-steps", type=_count(1), help=f"k of CD-k (default {defaults.cd_steps})")
    parser.add_argument("--seed", type=_count(0), help=f"random seed (default {defaults.seed})")
    parser.add_argument("--save-every", type=_count(0), metavar="N",
                        help=f"write a checkpoint brain-EPOCH.pkl every N epochs, 0 = only on "
                             f"Ctrl-C (default {defaults.save_every}). Each checkpoint replaces the "
                             f"one before (written first, then the old one removed), so one is "
                             f"left, with the brain, to continue from with --resume")
    parser.add_argument("--keep-every", type=_count(0), metavar="N",
                        help="also write and keep every N-th epoch's checkpoint (of pretraining "
                             "and of fine-tuning), to go back to; 0 = keep only the latest "
                             f"(default {defaults.keep_every})")
    parser.add_argument("--holdout-tail", type=_fraction, metavar="FRACTION",
                        help="never train on the last FRACTION of every clip (per dataset.json), "
                             "so evaluate.py can score the brain there (default 0)")
    parser.add_argument("--resume", metavar="CKPT",
                        help="continue from a checkpoint brain-EPOCH.pkl; once a newer one is "
                             "written it is removed like the run's own, unless it lies elsewhere "
                             "than beside the brain or was renamed, or --keep-every keeps it")
    parser.add_argument("--backend", choices=("auto", "cpu", "jax"), default="auto",
                        help="cpu: PyTensor's C backend; jax: PyTensor's JAX backend, for an "
                             "NVIDIA GPU (needs pip install '.[gpu]'), or on the CPU (pip install "
                             "'.[jax]'), where it fine-tunes the default patch model 3-4 times as "
                             "fast; auto: jax when JAX sees a GPU, else cpu (default %(default)s). "
                             "Both write the same brain.")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _augmentations(text: str) -> list[str]:
    """--augment's names; "none" for no changed copies."""
    names = _names(text)
    return [] if names == ["none"] else names


# options that map one-to-one onto Settings fields; only those given are passed on
SETTING_OPTIONS = ("epochs", "pretrain_epochs", "patience", "batch", "learning_rate",
                   "pretrain_learning_rate", "cd_steps", "seed", "save_every", "keep_every",
                   "holdout_tail", "target", "history", "inputs", "eigen_frames", "frames_ahead",
                   "inbetweens", "steady_camera", "library_seconds", "memory_seconds",
                   "augment", "optimizer")


def act(args: argparse.Namespace, call: cli.Call) -> int:
    options = {name: getattr(args, name) for name in SETTING_OPTIONS if getattr(args, name) is not None}
    return run_training(args.frames, args.audio, args.output, args.layers, options, args.resume,
                        args.quiet, backend=args.backend, preset=args.preset,
                        faithful=args.faithful)


COMMAND = cli.Command(
    script=cli.Door("theanet.py", "python theanet.py"),
    description="Train a deep belief network from each 1/30 s slot's pictures to its sound: by "
                "default the recommended cue brain (the frame differences around the slot, seen "
                "in 49 patches by one shared detector, in; its mel bands, loudness class and "
                "onset out, on their own losses; the training sound kept in the brain, for "
                "render to copy), with --faithful the 2015 network (the "
                "64x64 frame in, the slot's 735 PCM samples out, mean squared error). Greedy "
                "RBM pretraining (CD-k), then fine-tuning (Adam, or Nesterov momentum) with early "
                "stopping on a held-out set of contiguous chunks.",
    examples=EXAMPLES,
    add_arguments=add_arguments,
    act=act,
)
