"""Rendering: a video streamed through a brain into a sound track, the way the brain was
trained (stream, render.py's work), and the videos with that sound and its granular render
(mkv, render.sh's work)."""
