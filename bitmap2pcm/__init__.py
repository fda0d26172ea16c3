"""bitmap2pcm: learn the sound of a video from its pictures.

A rebuild of the 2015 "Deep Learning Bitmaps to PCM" experiment: each 1/30 s slot of a
video pairs one 64x64 gray frame with the 735 PCM samples that play during it, a deep
belief network learns the mapping, and new videos get a sound track from their pictures.

The code sits in one folder per concern, in the order the pipeline uses them; a folder
imports only from itself and the folders before it (tests/test_layout.py checks this):

    core     the timeline, errors, atomic files, the command-line conventions
    media    videos and sound tracks onto the grid (ffmpeg), WAV out
    data     training pairs: pickler's data sets, loading and splitting, the held-out part;
             what a brain sees, one input layout per module (layout.py, layouts.py)
    sound    what a brain says, one sound representation per module (representation.py,
             registry.py), and how each becomes a waveform
    learn    the network (RBM, DBN), training, checkpoints, the brain file
    render   a video through a brain into a sound track, and into videos with that sound
    live     a camera, the screen or a stream through a brain as it happens
    judge    metrics, baselines, evaluation against the true sound, tables and plots
    shipped  the shipped brains: which they are, retraining them, their cards
    commands each command's arguments and help: the checkout's scripts and the installed
             `bitmap2pcm` (pickle, train, render, evaluate, live) share them

Data, not code, installed with the package so that an installed bitmap2pcm renders as a
checkout does: brains/ (the shipped brains and their cards) and sound/granular.csd (the Csound
grain orchestra).
"""

STAGES = ("core", "media", "data", "sound", "learn", "render", "live", "judge", "shipped", "commands")

__version__ = "0.1.0"
