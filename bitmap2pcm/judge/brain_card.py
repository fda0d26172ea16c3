"""A brain's card as HTML, for the listening page: a shipped brain's `NAME.md` (beside its
`NAME.pkl`) through a small Markdown converter that escapes any HTML, otherwise the brain's
own training record (data, options, epochs, training time) as a table."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from ..learn import brain as brain_format
from ..learn.brain import Brain


def card_html(brain_path: Path) -> str:
    """The brain's card as HTML: a shipped brain's NAME.md beside it, otherwise the training
    record the brain carries; a brain that cannot be read any more says so."""
    name = brain_format.name_of(brain_path)
    try:
        network = brain_format.load(brain_path)
    except UserError as reason:
        return f"<p>The brain file cannot be read now: {esc(reason)}</p>"
    card = Path(str(brain_path)[: -len(".pkl")] + ".md") if str(brain_path).endswith(".pkl") else None
    if network.shipped is not None and card is not None and card.is_file():
        try:
            text = card.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            text = f"(its card {card} cannot be read: {getattr(error, 'strerror', None) or error})"
        return (f'<p class="source">The shipped brain\'s card, <code>{esc(card.name)}</code>:</p>'
                + markdown_html(text, top_level=4))
    return (f"<p class=\"source\">{esc(name)} is not a shipped brain with a card: its training "
            f"record, as the brain file <code>{esc(brain_path)}</code> carries it.</p>"
            + record_table(network))


def record_table(network: Brain) -> str:
    """The brain's shape and its training record as a two-column table."""
    rows = [("shape", "-".join(map(str, network.layer_sizes))),
            ("activations", ", ".join(network.activations)),
            ("output", network.representation.kind),
            ("input layout", network.layout.name)]
    training = dict(network.training or {})
    losses = training.pop("losses", None) or {}
    holdout = training.pop("holdout", None)
    rows += _flatten(training)
    if holdout:
        clips = holdout.get("clips") or []
        rows.append(("holdout", f"fraction {holdout.get('fraction')}, {len(clips)} clip(s): "
                     + "; ".join(f"{Path(str(c.get('source'))).name} slots {c.get('from_slot')}-"
                                 f"{c.get('to_slot')}" for c in clips[:8])
                     + (" ..." if len(clips) > 8 else "")))
    for key in ("finetune_train", "finetune_validation"):
        if losses.get(key):
            rows.append((f"last {key.replace('_', ' ')} loss", f"{losses[key][-1]:.6g}"))
    if set(training) <= {"software"}:
        rows.append(("training", "none recorded (a brain made by hand or by a test)"))
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="record"><tbody>{body}</tbody></table>'


def _flatten(record: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, f"{name}.") if value else [(name, "-")]
        elif isinstance(value, (list, tuple)):
            items = [_scalar(v) for v in value[:12]]
            rows.append((name, ", ".join(items) + (f", ... ({len(value)} in all)" if len(value) > 12 else "")
                         if items else "-"))
        else:
            rows.append((name, _scalar(value)))
    return rows


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)[:200]
    return "-" if value is None else str(value)


def markdown_html(text: str, top_level: int = 1) -> str:
    """The Markdown a card uses, as HTML: headings (shifted so '#' is <h`top_level`>),
    paragraphs, '- ' lists, pipe tables, fenced code, `code` and **bold**."""
    out: list[str] = []
    paragraph: list[str] = []
    lines = text.splitlines()

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            out.append(f"<pre><code>{esc(chr(10).join(block))}</code></pre>")
        elif re.match(r"#{1,6} ", stripped):
            flush()
            level = min(6, stripped.index(" ") + top_level - 1)
            out.append(f"<h{level}>{_inline(stripped.lstrip('#').strip())}</h{level}>")
        elif stripped.startswith("|"):
            flush()
            table = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                table.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            i -= 1
            head, body = table[0], [r for r in table[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            cells = ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body]
            out.append('<div class="scroll"><table><thead><tr>'
                       + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join(cells) + "</tbody></table></div>")
        elif stripped.startswith("- "):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(lines[i].strip()[2:])
                i += 1
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() \
                        and not lines[i].strip().startswith("- "):
                    items[-1] += " " + lines[i].strip()
                    i += 1
            i -= 1
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
        elif not stripped:
            flush()
        else:
            paragraph.append(stripped)
        i += 1
    flush()
    return "\n".join(out)


def _inline(text: str) -> str:
    parts = re.split(r"(`[^`]*`)", text)
    done = []
    for part in parts:
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            done.append(f"<code>{esc(part[1:-1])}</code>")
        else:
            done.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", esc(part)))
    return "".join(done)


def esc(value: Any) -> str:
    """Any value as text safe inside HTML, attributes included."""
    return html.escape(str(value), quote=True)
