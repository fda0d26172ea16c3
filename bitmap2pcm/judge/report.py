"""Reports of `evaluate` results: a text table, the same as Markdown, and a PNG to look at.

Columns (units): r within and r pooled, each beside its chance level (a value not above the
chance level reads "<="; a flat render reads "flat"); onset F1 and AP beside their chance
levels; best lag (s) with its r; loudness spread ratio; motion and brightness r (the render
against its pictures, no truth needed); level (dB, render minus truth); LSD (dB, log-spectral distance in
mel bands); onset lag (ms, positive = late) with the cross-correlation peak; buzz (dB at
multiples of 30 Hz over their neighbours); click ratio and edge dip; silence (dBFS of an
all-black / all-white picture); speed (multiple of real time).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core import grid
from . import metrics, onsets

HEADERS = ["set", "model", "r within (vs chance)", "r pooled (vs chance)", "onset F1 (vs chance)",
           "onset AP (vs chance)", "best lag s (r)", "spread", "motion r (vs chance)",
           "brightness r (vs chance)", "silent moving", "level dB", "LSD dB", "onset ms (peak)",
           "buzz dB", "click", "dip", "black/white dBFS", "speed xRT"]

LEGEND = """\
r within: Pearson r of per-slot loudness (dB) inside each scored segment, length-weighted mean;
r pooled: the same over all segments joined. Each beside its chance level, the 95th percentile
of |r| when the render is circularly shifted within its segments ("<=" marks a value not above
it); "flat": the render's loudness spreads less than 1 dB, so it gets no r. onset F1 / AP:
onsets (half-wave-rectified spectral flux, peak-picked) of render and truth matched within +-2
slots; F1 of the matches, AP = average precision over the render's onset strengths (a missed
true onset is never retrieved); each beside its chance level from circular shifts of the
render. best lag: the shift within +-2 s (+ = render late) that maximises the loudness r, with
that r. spread: the render's per-slot loudness spread (std, dB) over the truth's. motion r /
brightness r: r of the render's loudness with the pictures' motion energy (log mean absolute
frame difference) / brightness, beside chance: what the render does with the picture, no truth
needed. silent moving: the share of slots whose picture moves (a mean change of one gray level
or more) where the render is below -60 dBFS. level: render minus truth, dB. LSD: log-spectral
distance, 40 mel bands of a 1024-sample STFT per slot, dB. onset: lag (ms, + = render late)
maximising the onset-strength cross-correlation, and its peak. buzz: power at multiples of 30
Hz over neighbouring frequencies, dB (median over harmonics). click: edge step / inner step;
dip: edge / centre loudness. black/white: render level of an all-black / all-white picture,
dBFS. speed: seconds of video rendered per second. Baselines: constant = mean training row;
clip-mean spectrum = noise with the clip's mean training spectrum; retrieval = audio row of the
nearest training frame; motion = the clip-mean spectrum at a loudness predicted from the
pictures' motion energy (an affine fit on the training rows). truth: the true sound scored
against itself (reference values)."""


def _number(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _versus(r: Any, chance: Any) -> str:
    if r is None or chance is None or (isinstance(r, float) and math.isnan(r)):
        return _number(r, 2)
    if isinstance(chance, float) and math.isnan(chance):
        return _number(r, 2)
    # Only following the truth counts: an anticorrelated render (r below -chance) is not a gain.
    return f"{r:.2f} {'>' if r > chance else '<='} {chance:.2f}"


def cells(table: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """One table row's cells, as strings, in HEADERS order."""
    silence = "-"
    if "silence_black_dbfs" in row:
        silence = f"{_number(row['silence_black_dbfs'], 0)}/{_number(row['silence_white_dbfs'], 0)}"
    onset = "-"
    if row.get("onset_lag_ms") is not None:
        onset = f"{row['onset_lag_ms']:+.0f} ({_number(row.get('onset_peak'), 2)})"
    flat = bool(row.get("flat"))
    lag = "-"
    if row.get("best_lag_s") is not None:
        lag = f"{row['best_lag_s']:+.2f} ({_number(row.get('best_lag_r'), 2)})"
    return [
        table["set"], row["model"],
        "flat" if flat else _versus(row.get("r_within"), row.get("r_within_chance")),
        "flat" if flat else _versus(row.get("r_pooled"), row.get("r_pooled_chance")),
        _versus(row.get("onset_f1"), row.get("onset_f1_chance")),
        _versus(row.get("onset_ap"), row.get("onset_ap_chance")),
        "flat" if flat else lag, _number(row.get("spread_ratio"), 2),
        "flat" if flat else _versus(row.get("response_motion_r"), row.get("response_motion_chance")),
        "flat" if flat else _versus(row.get("response_brightness_r"),
                                    row.get("response_brightness_chance")),
        _number(row.get("response_silent_moving"), 2),
        _number(row.get("level_db"), 1), _number(row.get("lsd_db"), 1), onset,
        _number(row.get("buzz_db"), 1), _number(row.get("click_ratio"), 2),
        _number(row.get("edge_dip"), 2), silence,
        _number(row.get("speed_x_realtime"), 0) if "speed_x_realtime" in row else "-",
    ]


def _summary(table: dict[str, Any]) -> str:
    scored = table["scored"]
    whys = sorted({v["why"] for v in scored["videos"]})
    line = (f"{table['set']}: {table['brain']} on {len(scored['videos'])} video(s), "
            f"{scored['slots']} slots ({scored['seconds']:.1f} s) scored ({', '.join(whys)})")
    return "\n".join([line] + [f"  note: {note}" for note in table["notes"]])


def text(tables: Sequence[dict[str, Any]]) -> str:
    """All sets as one aligned plain-text table, each set's scope and notes above it."""
    body = [cells(t, row) for t in tables for row in t["rows"]]
    widths = [max(len(r[i]) for r in body + [HEADERS]) for i in range(len(HEADERS))]
    lines = [_summary(t) for t in tables] + [""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(HEADERS, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
    return "\n".join(lines) + "\n"


def markdown(tables: Sequence[dict[str, Any]], command: str) -> str:
    """All sets as a Markdown page: the command that made it, the table, scopes, legend."""
    lines = ["# Evaluation results", "",
             f"Generated by `{command}`; do not edit by hand.", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in cells(t, row)) + " |"
              for t in tables for row in t["rows"]]
    lines += ["", "Scope:", ""] + [f"- {_summary(t).replace(chr(10) + '  note:', ' Note:')}" for t in tables]
    lines += ["", "Legend:", "", LEGEND, ""]
    return "\n".join(lines)


TITLE_LINE_FRACTION = 0.026


def plot(path: str | Path, title: str, truth: Sequence[np.ndarray], render: Sequence[np.ndarray],
         row: dict[str, Any]) -> None:
    """A PNG a person reads at a glance, written to `path` (the caller makes it atomic): the
    true and rendered mel spectrograms (the very bands the log-spectral distance compares),
    one above the other on the same colour scale, both loudness envelopes (dB per slot),
    segment boundaries as dashed lines, and the metric values in the title."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    truth_signal, render_signal = np.concatenate(truth), np.concatenate(render)
    seconds = truth_signal.size / grid.RATE_HZ
    boundaries = np.cumsum([s.size for s in truth])[:-1] / grid.RATE_HZ
    heading = f"{title}\n" + _metric_line(row)
    # the axes start below the heading, however many lines of metrics it has (a line of
    # 10 pt text is about TITLE_LINE_FRACTION of the figure's height)
    top = 0.975 - TITLE_LINE_FRACTION * (heading.count("\n") + 1)
    figure, axes = pyplot.subplots(3, 1, figsize=(12, 8.5), sharex=True,
                                   gridspec_kw={"height_ratios": [2, 2, 1.4], "top": top})
    extent = (0.0, seconds, 0.0, metrics.MEL_BANDS)
    for axis, signal, label in ((axes[0], truth_signal, "true"), (axes[1], render_signal, "rendered")):
        image = axis.imshow(metrics.slot_band_db(signal).T, origin="lower", aspect="auto",
                            extent=extent, vmin=metrics.FLOOR_DB, vmax=0.0, cmap="magma",
                            interpolation="nearest")
        axis.set_ylabel(f"{label}\nmel band")
    figure.colorbar(image, ax=axes.tolist(), label="dB re full scale (spectrograms)", pad=0.01)
    slot_times = (np.arange(metrics.loudness_db(truth_signal).size) + 0.5) / grid.SLOTS_PER_SECOND
    axes[2].plot(slot_times, metrics.loudness_db(truth_signal), label="true", color="black", lw=1)
    axes[2].plot(slot_times, metrics.loudness_db(render_signal), label="rendered", color="tab:red", lw=1)
    # Onsets (`onsets.onset_slots`, per segment) as ticks along the top of the loudness axis.
    offsets = np.concatenate([[0], np.cumsum([x.size for x in truth])])[:-1]
    for signal_segments, colour, height in ((truth, "black", 0.97), (render, "tab:red", 0.92)):
        times = [(offset + slot * grid.SAMPLES_PER_SLOT) / grid.RATE_HZ
                 for offset, segment in zip(offsets, signal_segments)
                 for slot in onsets.onset_slots(segment)]
        axes[2].plot(times, [height] * len(times), "|", color=colour, markersize=8,
                     transform=axes[2].get_xaxis_transform())
    axes[2].set_ylabel("loudness\ndBFS per slot\n| onsets")
    axes[2].set_xlabel("scored time, s (segments joined)")
    axes[2].legend(loc="lower right", fontsize=8)
    for axis in axes:
        for boundary in boundaries:
            axis.axvline(boundary, color="white" if axis is not axes[2] else "gray", ls="--", lw=0.8)
    figure.suptitle(heading, fontsize=10)
    try:
        figure.savefig(path, dpi=100, format="png")
    finally:
        pyplot.close(figure)


def _metric_line(row: dict[str, Any], per_line: int = 4) -> str:
    """The row's metric cells as "name: value", a few to a line (the title must fit)."""
    values = dict(zip(HEADERS[2:], cells({"set": ""}, row)[2:]))
    items = [f"{key}: {value}" for key, value in values.items() if value != "-"]
    return "\n".join("   ".join(items[i: i + per_line]) for i in range(0, len(items), per_line))
