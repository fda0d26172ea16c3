"""Rendering (render.py's work): a video streamed through a brain into a sound track, the
way the brain was trained (stream)."""
