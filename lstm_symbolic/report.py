"""Summaries of traces for people: tables (text and Markdown), the demo report, plots.

Every printed bound is rounded **outward** to the shown number of decimals (lower ends down,
upper ends up, from the exact value of the float), so a printed interval still contains the
true one: a table is as sound as the trace it shows. Mean widths and sampled values are
statistics, not bounds, and are rounded to nearest.

matplotlib (the ``plot`` extra) is imported only by :func:`plot_summary`; without it
:func:`plot_summary` raises :class:`PlotUnavailable` and callers print a one-line note.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, Inexact, localcontext
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .interval import Interval

__all__ = [
    "SIGNAL_LABELS",
    "MAX_DIGITS",
    "fmt_down",
    "fmt_up",
    "fmt_interval",
    "Column",
    "SignalSummary",
    "summarize",
    "apriori_columns",
    "render_text",
    "render_markdown",
    "ClassRows",
    "class_rows",
    "render_classes_text",
    "render_classes_markdown",
    "ALL_CLASSES_MAX",
    "TOP_CLASSES",
    "PlotUnavailable",
    "plot_summary",
    "DemoResult",
    "run_demo",
    "demo_console",
    "demo_markdown",
    "trace_json",
    "demo_json",
    "write_json",
]

#: Display names of the trace's signals, in the seed's notation.
SIGNAL_LABELS = {
    "f": ("Γ_f", "forget gate"),
    "u": ("Γ_u", "update gate"),
    "o": ("Γ_o", "output gate"),
    "c_tilde": ("c̃", "candidate cell"),
    "c": ("c", "cell"),
    "a": ("a", "hidden state"),
    "y": ("y", "softmax output"),
}
#: Every cell's signals (the LSTM's above, a GRU's too), for tables of any model's trace.
CELL_LABELS = {
    **SIGNAL_LABELS,
    "r": ("r", "reset gate (GRU)"),
    "z": ("z", "update gate (GRU)"),
    "n": ("n", "candidate (GRU)"),
}


# --- outward decimal formatting ---------------------------------------------------------------


#: The most decimals a table prints: a float64 is identified by 17 significant digits, and
#: every printed end is still exact-then-rounded up to here (no precision limit applies).
MAX_DIGITS = 50


def _check_digits(digits: Any) -> int:
    from .errors import InputError

    if isinstance(digits, (bool, np.bool_)) or not isinstance(digits, (int, np.integer)) or not 0 <= digits <= MAX_DIGITS:
        raise InputError("digits", f"an integer from 0 to {MAX_DIGITS}", got=digits)
    return int(digits)


def _quantize(d: Decimal, digits: int, rounding: str) -> Decimal:
    """``d`` rounded to ``digits`` decimals in direction ``rounding``, exactly: the context
    precision is raised to the digits the result needs (a float64 has up to 309 integer
    digits; the default 28 would raise ``InvalidOperation`` for wide tables)."""
    need = max(d.adjusted() + 1, 1) + digits + 2 if d.is_finite() and d else digits + 2
    with localcontext() as ctx:
        ctx.prec = max(need, 28)
        return d.quantize(Decimal(1).scaleb(-digits), rounding=rounding)


def _fmt(x: float, digits: int, rounding: str) -> str:
    digits = _check_digits(digits)
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    q = _quantize(Decimal(float(x)), digits, rounding)  # from the exact float value
    if q == 0:
        q = abs(q)
    return f"{q:+.{digits}f}"


def fmt_down(x: float, digits: int = 4) -> str:
    """``x`` with ``digits`` decimals, rounded towards −∞ (the printed number is ≤ ``x``).

    >>> fmt_down(0.123456), fmt_down(-0.123456), fmt_down(1e-300)
    ('+0.1234', '-0.1235', '+0.0000')
    """
    return _fmt(x, digits, ROUND_FLOOR)


def fmt_up(x: float, digits: int = 4) -> str:
    """``x`` with ``digits`` decimals, rounded towards +∞ (the printed number is ≥ ``x``).

    >>> fmt_up(0.123401), fmt_up(-0.123456), fmt_up(1e-300)
    ('+0.1235', '-0.1234', '+0.0001')
    """
    return _fmt(x, digits, ROUND_CEILING)


def fmt_interval(lo: float, hi: float, digits: int = 4, left_open: bool = False, right_open: bool = False) -> str:
    """``[lo, hi]`` rounded outward (``(`` / ``)`` for an open end, whose end is then kept
    open only when it printed exactly)."""
    lo_s, hi_s = fmt_down(lo, digits), fmt_up(hi, digits)
    left = "(" if left_open and Decimal(lo_s) == Decimal(float(lo)) else "["
    right = ")" if right_open and Decimal(hi_s) == Decimal(float(hi)) else "]"
    return f"{left}{lo_s}, {hi_s}{right}"


def _stat(x: float, digits: int = 4) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{_quantize(Decimal(float(x)), _check_digits(digits), ROUND_HALF_EVEN):.{digits}f}"


# --- summaries ----------------------------------------------------------------------------------


@dataclass
class Column:
    """One column of a per-step summary of one signal: ``lo``/``hi`` (T,) — the bound's
    ``[min lo, max hi]`` across units (and batch), ``width`` (T,) the mean width (None for
    sampled values), open ends for a priori domains, and whether the values are bounds."""

    label: str
    lo: np.ndarray
    hi: np.ndarray
    width: np.ndarray | None = None
    left_open: bool = False
    right_open: bool = False
    is_bound: bool = True
    texts: list[str] | None = None  # preformatted cells (a priori domains: exact ends printed exactly)


@dataclass
class SignalSummary:
    """Per-step columns for one signal (``name`` in :data:`SIGNAL_LABELS`)."""

    name: str
    columns: list[Column] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.columns[0].lo)


def summarize(iv: Interval, label: str) -> Column:
    """``[min lo, max hi]`` across every axis but time, and the mean width, per step."""
    T = iv.shape[0]
    lo = iv.lo.reshape(T, -1)
    hi = iv.hi.reshape(T, -1)
    with np.errstate(invalid="ignore", over="ignore"):
        width = (hi - lo).mean(axis=1)
    return Column(label, lo.min(axis=1), hi.max(axis=1), width)


def _domain_text(d: Any, ends: tuple[float, float], digits: int) -> str:
    """A sympy domain as text: an end that is a rational with at most ``digits`` decimals is
    printed exactly (its bracket kept open if open); any other end is rounded outward from its
    float64 enclosure (and the bracket closed: the printed number is then not the end)."""
    import sympy as sp

    out = []
    for end, enc, is_open, rounding, fallback in (
        (d.lo, ends[0], d.left_open, ROUND_FLOOR, fmt_down),
        (d.hi, ends[1], d.right_open, ROUND_CEILING, fmt_up),
    ):
        e = sp.nsimplify(end) if not isinstance(end, sp.Basic) else end
        if e.is_Rational:
            with localcontext() as ctx:  # p/q rounded in the printing direction, so still outward
                ctx.prec, ctx.rounding = 400 + digits, rounding
                exact = Decimal(int(e.p)) / Decimal(int(e.q))
                inexact = ctx.flags[Inexact]
            q = _quantize(exact, digits, rounding)
            out.append((f"{abs(q) if q == 0 else q:+.{digits}f}", is_open and not inexact and q == exact))
        else:
            out.append((fallback(enc, digits), False))
    (lo_s, lo_open), (hi_s, hi_open) = out
    return f"{'(' if lo_open else '['}{lo_s}, {hi_s}{')' if hi_open else ']'}"


def apriori_columns(
    steps: int, n_y: int | None, c0: tuple[float, float] = (0.0, 0.0), digits: int = 4
) -> dict[str, Column]:
    """The weight-free domains of :mod:`lstm_symbolic.domains` at t = 1..steps, enclosed in
    float64 (open ends kept open): gates (0, 1), c̃ (−1, 1), c⟨t⟩ (min(c_min, 0) − t,
    max(c_max, 0) + t), a⟨t⟩ = tanh of that, y (0, 1)."""
    import sympy as sp

    from . import domains as D

    out: dict[str, Column] = {}

    def column(doms: list[Any]) -> Column:
        ends = [d.enclose() for d in doms]
        lo = np.array([e[0] for e in ends])
        hi = np.array([e[1] for e in ends])
        texts = [_domain_text(d, e, digits) for d, e in zip(doms, ends)]
        return Column("a priori", lo, hi, hi - lo, doms[0].left_open, doms[0].right_open, texts=texts)

    for name in ("f", "u", "o"):
        out[name] = column([D.gate_apriori()] * steps)
    out["c_tilde"] = column([D.candidate_apriori()] * steps)
    lo0, hi0 = sp.Rational(c0[0]), sp.Rational(c0[1])
    out["c"] = column([D.cell_apriori(t, lo0, hi0) for t in range(1, steps + 1)])
    out["a"] = column([D.hidden_apriori(t, lo0, hi0) for t in range(1, steps + 1)])
    if n_y is not None:
        out["y"] = column([D.output_apriori(n_y)] * steps)
    return out


def _cell(col: Column, t: int, digits: int) -> tuple[str, str]:
    if col.texts is not None:
        iv = col.texts[t]
    elif col.is_bound:
        iv = fmt_interval(col.lo[t], col.hi[t], digits, col.left_open, col.right_open)
    else:
        iv = f"[{col.lo[t]:+.{digits}f}, {col.hi[t]:+.{digits}f}]"  # values, not bounds: nearest
    w = "" if col.width is None else _stat(col.width[t], digits)
    return iv, w


def render_text(summaries: Sequence[SignalSummary], digits: int = 4) -> str:
    """Plain-text table: one block per signal, one row per step, each column
    ``[min lo, max hi]`` (outward) and the mean width."""
    lines: list[str] = []
    for s in summaries:
        sym, desc = CELL_LABELS[s.name]
        lines.append(f"{sym}  {desc}")
        cells = [[_cell(c, t, digits) for c in s.columns] for t in range(s.steps)]
        widths = []
        for j, c in enumerate(s.columns):
            iv_w = max(len(row[j][0]) for row in cells)
            w_w = max(len(row[j][1]) for row in cells)
            widths.append((iv_w, w_w))
        head = "  " + f"{'t':>3}"
        for (iv_w, w_w), c in zip(widths, s.columns):
            title = c.label if c.width is None else f"{c.label} (mean {'width' if c.is_bound else 'range'})"
            head += "   " + f"{title:<{iv_w + (w_w + 1 if w_w else 0)}}"
        lines.append(head.rstrip())
        for t, row in enumerate(cells):
            line = "  " + f"{t + 1:>3}"
            for (iv_w, w_w), (iv, w) in zip(widths, row):
                line += "   " + f"{iv:<{iv_w}}" + (f" {w:>{w_w}}" if w_w else "")
            lines.append(line.rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(summaries: Sequence[SignalSummary], digits: int = 4, heading: str = "###") -> str:
    """The same tables in Markdown (one per signal)."""
    lines: list[str] = []
    for s in summaries:
        sym, desc = CELL_LABELS[s.name]
        lines += [f"{heading} {sym} — {desc}", ""]
        head = ["t"]
        for c in s.columns:
            head.append(c.label)
            if c.width is not None:
                head.append("mean width" if c.is_bound else "mean range")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for t in range(s.steps):
            row = [str(t + 1)]
            for c in s.columns:
                iv, w = _cell(c, t, digits)
                row.append(f"`{iv}`")
                if c.width is not None:
                    row.append(w)
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


#: Up to this many classes, the per-class table of y shows every class; above it the top
#: :data:`TOP_CLASSES` by upper bound at each step and one row for all the others.
ALL_CLASSES_MAX = 10
TOP_CLASSES = 5


@dataclass
class ClassRows:
    """Per-class bounds of the softmax output, step by step, for people.

    ``rows[t]``: ``(class text, lo, hi)`` for the classes shown at step ``t + 1`` — every class
    in index order when ``n_y <= ALL_CLASSES_MAX``, else the ``top`` classes with the highest
    upper bound (highest first), then one row ``"(K others)"`` whose bound is the hull of the
    remaining classes' bounds (so every class stays covered). Batched bounds are hulled over
    the batch, per class."""

    label: str
    n_y: int
    top: int | None
    rows: list[list[tuple[str, float, float]]]

    @property
    def steps(self) -> int:
        return len(self.rows)


def class_rows(iv: Interval, label: str, names: Sequence[str] | None = None, top: int | None = None) -> ClassRows:
    """The per-class table of ``y`` (an Interval (T, [B,] n_y)); ``names``: one symbol per
    class (shown after the index), or None."""
    T, n_y = iv.shape[0], iv.shape[-1]
    lo = iv.lo.reshape(T, -1, n_y).min(axis=1)
    hi = iv.hi.reshape(T, -1, n_y).max(axis=1)
    if top is None:
        top = None if n_y <= ALL_CLASSES_MAX else TOP_CLASSES
    if top is not None and top >= n_y:
        top = None

    def text(k: int) -> str:
        return f"{k} {names[k]!r}" if names is not None else str(k)

    rows = []
    for t in range(T):
        if top is None:
            rows.append([(text(k), float(lo[t, k]), float(hi[t, k])) for k in range(n_y)])
            continue
        order = np.argsort(-hi[t], kind="stable")  # highest upper bound first, ties by index
        shown, rest = order[:top], order[top:]
        step = [(text(int(k)), float(lo[t, k]), float(hi[t, k])) for k in shown]
        step.append((f"({rest.size} others)", float(lo[t, rest].min()), float(hi[t, rest].max())))
        rows.append(step)
    return ClassRows(label, n_y, top, rows)


def _class_title(c: ClassRows) -> str:
    if c.top is None:
        return f"per class (all {c.n_y})"
    return f"per class: the {c.top} with the highest upper bound at each step, then the other {c.n_y - c.top} as one row"


def render_classes_text(c: ClassRows, digits: int = 4) -> str:
    """Plain-text per-class table of y: one row per shown class and step, outward-rounded."""
    sym, desc = SIGNAL_LABELS["y"]
    cells = [[(name, fmt_interval(lo, hi, digits)) for name, lo, hi in step] for step in c.rows]
    name_w = max([len("class")] + [len(n) for step in cells for n, _ in step])
    lines = [f"{sym}  {desc}, {_class_title(c)}", f"  {'t':>3}   {'class':<{name_w}}   {c.label}"]
    for t, step in enumerate(cells):
        for j, (name, iv) in enumerate(step):
            lines.append(f"  {(str(t + 1) if j == 0 else ''):>3}   {name:<{name_w}}   {iv}".rstrip())
    return "\n".join(lines) + "\n"


def render_classes_markdown(c: ClassRows, digits: int = 4, heading: str = "###") -> str:
    """The per-class table of y in Markdown."""
    sym, desc = SIGNAL_LABELS["y"]
    lines = [f"{heading} {sym} — {desc}, {_class_title(c)}", "", f"| t | class | {c.label} |", "|---|---|---|"]
    for t, step in enumerate(c.rows):
        for j, (name, lo, hi) in enumerate(step):
            lines.append(f"| {t + 1 if j == 0 else ''} | {name.replace('|', '&#124;')} | `{fmt_interval(lo, hi, digits)}` |")
    lines.append("")
    return "\n".join(lines)


def trace_json(trace: Any) -> dict[str, Any]:
    """Every bound of a trace as plain lists (floats print exactly as Python's ``repr``:
    reading them back gives the same float64, so JSON bounds stay sound)."""
    out: dict[str, Any] = {"method": trace.method, "mode": trace.mode, "steps": trace.steps, "signals": {}}
    for name, iv in trace.signals().items():
        out["signals"][name] = {"lo": iv.lo.tolist(), "hi": iv.hi.tolist(), "mean_width": trace.mean_width(name).tolist()}
    return out


# --- plots --------------------------------------------------------------------------------------


class PlotUnavailable(RuntimeError):
    """matplotlib (the ``plot`` extra) is not installed."""


_STYLE = {
    "a priori": dict(color="0.55", linestyle=":", marker="", linewidth=2.0),
    "interval": dict(color="tab:blue", linestyle="-", marker="o", linewidth=1.5),
    "symbolic": dict(color="tab:orange", linestyle="--", marker="s", linewidth=1.5),
}


def plot_summary(summaries: Sequence[SignalSummary], path: str | Path, title: str = "") -> Path:
    """One panel per signal: the mean width (across units) of each bound column against t,
    and the mean sampled range (black dots: an inner estimate — the exact mean range lies
    between the dots and the lowest bound line). Writes a PNG (``path``)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise PlotUnavailable("matplotlib is not installed (pip install 'lstm_symbolic[plot]')") from exc
    n = len(summaries)
    cols = min(4, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.6 * cols, 2.9 * rows), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, s in zip(axes, summaries):
        t = np.arange(1, s.steps + 1)
        sym, desc = CELL_LABELS[s.name]
        for c in s.columns:
            if c.width is None:
                continue
            if c.is_bound:
                st = _STYLE.get(c.label, dict(color="tab:green", linestyle="-", marker="^", linewidth=1.5))
                ax.plot(t, c.width, label=c.label, ms=3, **st)
            else:
                ax.plot(t, c.width, "k.", ms=5, label=c.label, zorder=4)
        ax.set_title(f"{sym}  ({desc})", fontsize=10)
        ax.set_xlabel("step t", fontsize=8)
        ax.set_ylabel("mean width", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    if n < len(axes):
        axes[n].legend(handles, labels, loc="center", fontsize=9, frameon=False)
        axes[n].axis("off")
    else:
        axes[0].legend(fontsize=7, loc="best")
    for ax in axes[n + 1 :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def write_json(data: Any, path: str | Path) -> Path:
    """JSON with exact float reprs; ±inf (never NaN in a trace) as the strings "inf"/"-inf"."""
    path = Path(path)
    path.write_text(json.dumps(_jsonable(data), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x
