"""Judging a brain (evaluate.py's work): metrics, event timing (onsets) and loudness measures
on known signals, baselines, the evaluation against the true sound, its tables and plots."""
