"""The ``lstm-symbolic`` command (reference: docs/cli.md).

Sub-commands::

    demo      the built-in character LSTM over every one-hot sequence: table, report, plot
    bounds    bounds of every signal of a model over an input set, per step
    certify   certify / falsify argmax y⟨T⟩ = label on L∞ balls around a batch of inputs (or a dataset)
    constants, prove   (registered by :mod:`lstm_symbolic.cli_math`)

Bad input — a file that is not a model, wrong shapes, a malformed option — prints one line
``lstm-symbolic: error: …`` on stderr and exits with status 2 (no traceback). Every library
bad-input error is an :class:`~lstm_symbolic.errors.InputError`; the option parsers here raise
the same type, naming the option.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import InputError
from .methods import METHODS
from .inputs import MAX_STEPS

__all__ = ["main", "parse_input_spec", "load_model_arg", "Progress"]


# --- errors and progress -------------------------------------------------------------------------


class _UsageError(Exception):
    """An argparse usage error, turned into one line and exit status 2 by :func:`main`."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's default prints the usage and exits
        raise _UsageError(f"{message} (see '{self.prog} --help')")


class Progress:
    """A tiny progress bar on stderr: drawn only when stderr is a terminal and the work has
    already taken ``delay`` seconds (so short runs, pipes and CI logs never see it), redrawn at
    most every ``interval`` seconds. :meth:`update` has the signature of ``ls.propagate``'s
    ``progress`` callback, ``(done, total)``; the bar never touches the input sets, so it
    cannot change a result. (Built in rather than tqdm: thirty lines, no dependency.)"""

    def __init__(self, total: int, label: str, delay: float = 0.5, stream: Any = None, interval: float = 0.1) -> None:
        self.total, self.label, self.delay, self.interval = max(int(total), 1), label, delay, interval
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last_draw = -float("inf")
        self.done = 0
        self.drawn = False

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` of ``total`` units finished (``total`` may grow, e.g. chunked runs)."""
        if total is not None:
            self.total = max(int(total), 1)
        self.done = min(int(done), self.total)
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.start < self.delay or (now - self.last_draw < self.interval and self.done < self.total):
            return
        width = 30
        full = width * self.done // self.total
        self.stream.write(f"\r{self.label} [{'#' * full}{'.' * (width - full)}] {self.done}/{self.total}  {now - self.start:.1f} s")
        self.stream.flush()
        self.last_draw, self.drawn = now, True

    def tick(self, n: int = 1) -> None:
        self.update(self.done + n)

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * (len(self.label) + 60) + "\r")
            self.stream.flush()


# --- models and option parsing --------------------------------------------------------------------


def load_model_arg(model: str, head: str | None = None, vocab: str | None = None) -> Any:
    """``MODEL``: a file (.npz, .pt/.pth, .onnx, .keras, .h5; read by :func:`lstm_symbolic.load`)
    or the word ``demo`` for the built-in model (when no file of that name exists). ``head``: the
    ``--head NAME`` option (``none``: no output layer; default: only an unambiguous one);
    ``vocab``: the ``--vocab FILE`` option (:func:`read_vocab`)."""
    from .importers import LoadedModel, load_model

    symbols = None if vocab is None else read_vocab(vocab)
    try:
        if model == "demo" and not os.path.exists(model):
            from . import demo_model
            from .io import load_as

            return LoadedModel.of(load_as(demo_model.DEMO_MODEL_PATH, head, "MODEL", vocab=symbols), source="built-in demo model")
        return load_model(model, head, "MODEL", vocab=symbols)
    except InputError as exc:
        if exc.argument == "vocab":
            raise InputError("--vocab", exc.expected, got=exc.got) from None
        raise


def read_vocab(path: str) -> list[str]:
    """``--vocab FILE``: the input symbols in index order — a JSON list of strings, or a text
    file with one symbol per line (the line without its newline, so a space is a symbol)."""
    if not os.path.isfile(path):
        raise InputError("--vocab", "an existing vocabulary file (one symbol per line, or a JSON list)", got=path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("--vocab", "a UTF-8 text file", got=path, detail=str(exc)[:80]) from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError("--vocab", "a JSON list of strings", got=path, detail=str(exc)[:80]) from None
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise InputError("--vocab", "a JSON list of strings", got=path)
        return items
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _float(text: str, option: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(option, what, got=repr(text)) from None
    if not np.isfinite(value):
        raise InputError(option, what, got=text)
    return value


def _npy(path: str, option: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise InputError(option, "an existing .npy file", got=path)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(option, "a .npy array file (no pickles)", got=path, detail=str(exc).splitlines()[0][:120]) from None


def _token(item: str, vocab: list[str] | None, n_x: int, option: str) -> int:
    if vocab is not None and item in vocab:
        return vocab.index(item)
    try:
        k = int(item)
    except ValueError:
        hint = "a symbol of the model's vocabulary or an integer index" if vocab else "an integer index (this model has no vocabulary)"
        raise InputError(option, f"tokens as {hint}", got=repr(item)) from None
    if not 0 <= k < n_x:
        raise InputError(option, f"token indices in [0, {n_x})", got=k)
    return k


def _text_onehot(text: str, vocab: list[str] | None, n_x: int, option: str) -> np.ndarray:
    if vocab is None:
        raise InputError(option, "text=… only for a model that carries a vocabulary")
    if not text:
        raise InputError(option, "a non-empty text after text=")
    idx = [_token(ch, vocab, n_x, option) for ch in text]
    return np.eye(n_x)[idx]


def parse_input_spec(spec: str, n_x: int, vocab: list[str] | None = None, steps: int | None = None,
                     batch_first: bool = False) -> tuple[Any, int, str]:
    """Parse ``--input`` into ``(input set, steps, description)``.

    - ``onehot`` — every one-hot vector at each step; ``onehot:TOKENS`` — only the listed
      tokens: a comma list of indices, or of symbols when the model has a vocabulary
      (``onehot:t,h,e``; a comma itself by its index);
    - ``linf:EPS`` — the L∞ ball of radius EPS around 0; ``linf:EPS:CENTER.npy`` — around a
      centre of shape (n_x,), (T, n_x) or (T, B, n_x) — (B, T, n_x) with ``batch_first``;
      ``linf:EPS:text=…`` — around the one-hot encoding of a text (models with a vocabulary);
    - ``box:LO:HI`` — each a number (every coordinate) or a ``.npy`` file, shaped like a centre.

    ``steps`` is required unless the set carries a time axis, and must then agree with it.
    """
    from .inputs import Box, LinfBall, OneHot

    opt = "--input"
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    try:
        if kind == "onehot":
            if not _ and not rest:
                inputs, desc = OneHot(n_x), f"one-hot, all {n_x} tokens at each step"
            else:
                items = rest.split(",")
                if not rest or any(i == "" for i in items):
                    raise InputError(opt, "onehot:TOKENS with a non-empty comma list (e.g. onehot:0,3,7)", got=spec)
                idx = [_token(i, vocab, n_x, opt) for i in items]
                inputs = OneHot(n_x, idx)
                shown = ",".join(repr(vocab[k]) if vocab else str(k) for k in inputs.allowed)
                desc = f"one-hot over {{{shown}}} at each step"
        elif kind == "linf":
            eps_text, _, center_text = rest.partition(":")
            eps = _float(eps_text, opt, "linf:EPS with a finite number EPS >= 0")
            if eps < 0:
                raise InputError(opt, "linf:EPS with EPS >= 0", got=eps)
            if not center_text:
                center, where = np.zeros(n_x), "0"
            elif center_text.startswith("text="):
                center, where = _text_onehot(center_text[5:], vocab, n_x, opt), f"the text {center_text[5:]!r}"
            else:
                center, where = _npy(center_text, opt), center_text
            inputs = LinfBall(center, eps, batch_first=batch_first)  # validates: no complex, bool, rounded ints
            desc = f"L∞ ball of radius {eps:g} around {where}"
        elif kind == "box":
            parts = rest.split(":")
            if len(parts) != 2 or not all(parts):
                raise InputError(opt, "box:LO:HI (numbers or .npy files)", got=spec)
            ends = []
            for text in parts:
                if text.endswith(".npy"):
                    ends.append(_npy(text, opt))
                else:
                    ends.append(np.full(n_x, _float(text, opt, "box:LO:HI with finite numbers or .npy files")))
            inputs, desc = Box(ends[0], ends[1], batch_first=batch_first), f"box [{parts[0]}, {parts[1]}]"
        else:
            raise InputError(opt, "onehot[:TOKENS], linf:EPS[:CENTER.npy] or box:LO:HI", got=repr(spec))
    except InputError as exc:
        if exc.argument == opt:
            raise
        raise InputError(opt, "a valid input set", got=repr(spec), detail=str(exc)) from None
    if inputs.n_x != n_x:
        raise InputError(opt, f"inputs of size n_x = {n_x} (the model's)", got=f"size {inputs.n_x}")
    if inputs.steps is not None and inputs.steps > 1:
        if steps is not None and steps != inputs.steps:
            axis = "axis 1 of the array, as --batch-first says" if batch_first else \
                "axis 0 of the array, time first; pass --batch-first for (B, T, n_x)"
            raise InputError("--steps", f"{inputs.steps} (the time axis of the input: {axis}) or omitted", got=steps)
        steps = inputs.steps
    if steps is None:
        raise InputError("--steps", "a positive integer T (required unless the input has a time axis)")
    if not 1 <= steps <= MAX_STEPS:
        raise InputError("--steps", f"a positive integer, at most {MAX_STEPS:,}", got=steps)
    return inputs, steps, desc


def _int_in(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


#: ``demo --samples``: random sequences for the sampled column, all in memory at once.
MAX_SAMPLES = 100_000


def _samples_arg(text: str) -> int:
    return _int_in(text, 1, MAX_SAMPLES, f"a positive integer, at most {MAX_SAMPLES:,}")


def _steps_arg(text: str) -> int:
    return _int_in(text, 1, MAX_STEPS, f"a positive integer number of steps, at most {MAX_STEPS:,}")


def _digits_arg(text: str) -> int:
    from .report import MAX_DIGITS

    return _int_in(text, 0, MAX_DIGITS, f"an integer from 0 to {MAX_DIGITS}")


def _signals_arg(text: str) -> list[str]:
    from .report import CELL_LABELS as SIGNAL_LABELS

    aliases = {"f": "f", "u": "u", "o": "o", "c_tilde": "c_tilde", "ct": "c_tilde", "c": "c", "a": "a", "y": "y", "r": "r", "z": "z", "n": "n"}
    out: list[str] = []
    for item in text.split(","):
        if item.strip() not in aliases:
            raise argparse.ArgumentTypeError(f"expected a comma list of {', '.join(SIGNAL_LABELS)}, got {item!r}")
        if aliases[item.strip()] not in out:  # a signal asked twice is shown once, in first-asked order
            out.append(aliases[item.strip()])
    return out


def _plot(summaries: Any, path: Path, title: str) -> str:
    from .report import PlotUnavailable, plot_summary

    try:
        plot_summary(summaries, path, title)
    except PlotUnavailable as exc:
        return f"note: no plot: {exc}"
    except OSError as exc:
        raise InputError("--plot", "a writable path", got=str(path), detail=exc.strerror or str(exc)) from None
    return f"wrote {path}"


# --- demo ------------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import demo
    from .report import write_json

    out = Path(args.out)
    try:  # fail before the work, not after it
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError("--out", "a writable directory", got=str(out), detail=exc.strerror or str(exc)) from None
    story = demo.run(args.steps, samples=args.samples)
    sys.stdout.write(demo.console(story))
    try:
        plot_line = None
        plot_name = None
        if not args.no_plot:
            plot_line = demo.plot(story, out / "bounds.png")
            plot_name = "bounds.png" if plot_line.startswith("wrote") else None
        report = out / "report.md"
        report.write_text(demo.markdown(story, plot_name=plot_name), encoding="utf-8")
        write_json(demo.to_json(story), out / "bounds.json")
    except OSError as exc:
        raise InputError("--out", "a writable directory", got=str(out), detail=exc.strerror or str(exc)) from None
    print(f"wrote {report} (the tables), {out / 'bounds.json'}" + (f", {out / 'bounds.png'}" if plot_name else ""))
    if plot_line and not plot_name:
        print(plot_line)
    return 0


# --- bounds ----------------------------------------------------------------------------------------


def _cmd_bounds(args: argparse.Namespace) -> int:
    from . import report as R
    from .propagate import propagate

    model = load_model_arg(args.model, args.head, args.vocab)
    w = model.weights
    inputs, steps, desc = parse_input_spec(args.input, w.n_x, model.vocab, args.steps, args.batch_first)
    if args.signals and "y" in args.signals and w.n_y is None:
        raise InputError("--signals", "y only for a model with an output layer (W_y, b_y)")
    progress = Progress(steps, f"{args.method} bounds")
    start = time.perf_counter()
    try:  # propagate reports once per unrolled step (every batch chunk included)
        trace = propagate(w, inputs, steps=steps, method=args.method, mode=args.mode, progress=progress.update)
    finally:
        progress.close()
    elapsed = time.perf_counter() - start
    names = [n for n in (args.signals or list(R.CELL_LABELS)) if getattr(trace, n) is not None]
    summaries = [R.SignalSummary(n, [R.summarize(getattr(trace, n), args.method)]) for n in names]
    classes = _class_names(model) if "y" in names else None
    n_y = "none" if w.n_y is None else str(w.n_y)
    head = [
        f"model: {model.source}: n_x = {w.n_x}, n_a = {w.n_a}, n_y = {n_y}" + (f" ({w.describe()})" if hasattr(w, "describe") else ""),
        f"input: {desc}, T = {steps}; a⟨0⟩ = c⟨0⟩ = 0",
        f"method: {args.method} (mode {args.mode}), {elapsed:.3f} s",
    ] + [f"note: {n}" for n in model.notes]
    if args.format == "json":
        data = {
            "model": model.source,
            "notes": model.notes,
            "n_x": w.n_x,
            "n_a": w.n_a,
            "n_y": w.n_y,
            "input": args.input,
            "input_description": desc,
            **R.trace_json(trace),
        }
        data["signals"] = {k: v for k, v in data["signals"].items() if k in names}
        json.dump(R._jsonable(data), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        per_class = "; y: one row per class" if "y" in names else ""
        blocks = []
        for s in summaries:
            if s.name == "y":
                table = R.class_rows(trace.y, args.method, classes)
                blocks.append(R.render_classes_markdown(table, args.digits) if args.format == "markdown"
                              else R.render_classes_text(table, args.digits))
            else:
                blocks.append(R.render_markdown([s], args.digits) if args.format == "markdown" else R.render_text([s], args.digits))
        if args.format == "markdown":
            sys.stdout.write("# Bounds\n\n" + "".join(f"- {h}\n" for h in head) + "\n")
            sys.stdout.write(f"Each cell: `[min lo, max hi]` across units, rounded outward; then the mean width{per_class}.\n\n")
            sys.stdout.write("\n".join(blocks))
        else:
            sys.stdout.write("\n".join(head) + f"\neach cell: [min lo, max hi] across units, rounded outward, then the mean width{per_class}\n\n")
            sys.stdout.write("\n".join(blocks))
    if args.plot:
        print(_plot(summaries, Path(args.plot), f"{args.method} bounds, {desc}"), file=sys.stderr)
    return 0


def _class_names(model: Any) -> list[str] | None:
    """The vocabulary's symbols as class names, when the output layer predicts the vocabulary."""
    vocab, n_y = model.vocab, model.weights.n_y
    return list(vocab) if vocab is not None and n_y == len(vocab) else None


# --- certify ---------------------------------------------------------------------------------------


def _layout_hint(batch_first: bool) -> str:
    return "batch first, as --batch-first says" if batch_first else "time first; pass --batch-first for (B, T, …)"


def _load_batch(path: str, n_x: int, batch_first: bool) -> tuple[np.ndarray, bool]:
    """``--inputs``: floats (T, n_x) / (T, B, n_x), or token indices (T,) / (T, B) one-hot
    encoded; ``batch_first`` swaps the first two axes (B, T, …). Returns ``(xs, batched)``,
    time-major."""
    from ._validate import finite_array

    X = _npy(path, "--inputs")
    if X.dtype.kind in "iu":
        if X.ndim not in (1, 2):
            shapes = "(B, T)" if batch_first else "(T, B)"
            raise InputError("--inputs", f"token indices of shape (T,) or {shapes} ({_layout_hint(batch_first)})", got=f"shape {X.shape}")
        if X.size and (X.min() < 0 or X.max() >= n_x):
            raise InputError("--inputs", f"token indices in [0, {n_x})", got=f"range [{X.min()}, {X.max()}]")
        if batch_first and X.ndim == 2:
            X = X.T
        X = np.eye(n_x)[X]
    elif X.dtype.kind == "f":
        X = finite_array(X, "--inputs")  # float16/32/64 exactly; wider floats only when exact
        if batch_first and X.ndim == 3:
            X = X.transpose(1, 0, 2)
    else:
        raise InputError("--inputs", "a float or integer array", got=str(X.dtype))
    if X.ndim not in (2, 3) or X.shape[-1] != n_x or 0 in X.shape:
        batched = f"(B, T, {n_x})" if batch_first else f"(T, B, {n_x})"
        tokens = "(B, T)" if batch_first else "(T, B)"
        given = X.transpose(1, 0, 2).shape if batch_first and X.ndim == 3 else X.shape
        raise InputError("--inputs", f"shape (T, {n_x}) or {batched} (or token indices (T,) / {tokens}; {_layout_hint(batch_first)})",
                         got=f"shape {given}")
    return X, X.ndim == 3


def _eps_list(text: str) -> list[float]:
    """``--eps``: one radius or a comma-separated list (dataset mode)."""
    out = []
    for part in str(text).split(","):
        e = _float(part.strip(), "--eps", "a finite number >= 0 (or a comma-separated list of them)")
        if e < 0:
            raise InputError("--eps", "numbers >= 0", got=e)
        out.append(e)
    return out


def _clip_arg(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = str(text).split(",")
    if len(parts) != 2:
        raise InputError("--clip", "LO,HI (e.g. 0,1 for pixels)", got=text)
    lo, hi = (_float(p.strip(), "--clip", "two finite numbers LO,HI") for p in parts)
    if lo > hi:
        raise InputError("--clip", "LO <= HI", got=text)
    return lo, hi


def _cmd_certify(args: argparse.Namespace) -> int:
    from .certification.datasets import certify_dataset
    from .certification.verdicts import certify
    from .lstm import forward
    from .report import _jsonable, fmt_down

    model = load_model_arg(args.model, args.head, args.vocab)
    w = model.weights
    if w.W_y is None:
        raise InputError("MODEL", "a model with an output layer (W_y, b_y) to certify labels")
    xs, batched = _load_batch(args.inputs, w.n_x, args.batch_first)
    if not batched:
        xs = xs[:, None, :]
    T, B = xs.shape[0], xs.shape[1]
    eps_all = _eps_list(args.eps)
    clip = _clip_arg(args.clip)
    if args.budget is not None:
        budget = _float(args.budget, "--budget", "a number of seconds >= 0")
        if budget < 0:
            raise InputError("--budget", "a number of seconds >= 0", got=budget)
    else:
        budget = None
    if args.optimise is not None and args.optimise < 0:
        raise InputError("--optimise", "a number of iterations >= 0", got=args.optimise)
    if args.optimise and args.method not in ("linear", "best"):
        raise InputError("--optimise", "--method linear or best (slope optimisation is a backward-pass option)", got=args.optimise)
    predicted = forward(w, xs).y[-1].argmax(axis=-1)
    if args.labels == "predicted":
        labels = predicted.copy()
    else:
        lab = _npy(args.labels, "--labels")
        if lab.dtype.kind not in "iu":
            raise InputError("--labels", "integer class indices", got=str(lab.dtype))
        lab = lab.reshape(-1)
        if lab.size == 1:
            lab = np.repeat(lab, B)
        if lab.shape != (B,):
            raise InputError("--labels", f"one label per sample ({B}: the batch axis of --inputs, {_layout_hint(args.batch_first)})",
                             got=f"{lab.size} labels")
        if lab.min() < 0 or lab.max() >= w.n_y:
            raise InputError("--labels", f"class indices in [0, {w.n_y})", got=f"range [{lab.min()}, {lab.max()}]")
        labels = lab.astype(np.int64)
    options = {"method": args.method, "mode": args.mode, "budget": budget, "optimise": args.optimise, "clip": clip, "seed": args.seed}
    if args.results is not None or len(eps_all) > 1:  # dataset mode
        summary = certify_dataset(w, xs, labels, eps_all, results=args.results, batch_first=False, **options)
        if args.format == "json":
            json.dump(_jsonable(summary.to_dict()), sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            print(f"model: {model.source}: n_x = {w.n_x}, n_a = {w.n_a}, n_y = {w.n_y}")
            print(f"dataset: {B} sample(s) of T = {T} steps; method {args.method}; budget {budget or 0:g} s per sample"
                  + (f"; results {args.results} ({summary.resumed} resumed)" if args.results else ""))
            print(summary.table())
        if args.plot:
            try:
                summary.plot(args.plot)
            except ImportError:
                print("note: matplotlib is not installed; no plot (pip install 'lstm_symbolic[plot]')", file=sys.stderr)
        if args.require_all and any(r["status"] != "certified" for r in summary.records):
            return 1
        return 0
    eps = eps_all[0]
    chunk = 16  # fixed, so results never depend on whether a progress bar is shown
    progress = Progress(B, "certify")
    margins = np.zeros((B, w.n_y))
    status = np.empty(B, dtype=object)
    ces: list = [None] * B
    start = time.perf_counter()
    try:
        for s in range(0, B, chunk):
            cert = certify(w, xs[:, s : s + chunk], eps, labels[s : s + chunk], **options)
            margins[s : s + chunk] = cert.margins
            status[s : s + chunk] = cert.status
            ces[s : s + chunk] = cert.counterexamples
            progress.update(min(s + chunk, B))
    finally:
        progress.close()
    elapsed = time.perf_counter() - start
    certified = status == "certified"
    min_margin = margins.min(axis=1)
    rival = np.where(np.isinf(margins), np.nan, margins)
    rival_idx = [int(np.nanargmin(r)) if np.isfinite(r).any() else -1 for r in rival]

    vocab = _class_names(model)

    def show(k: int) -> str:
        """A class index, with its symbol when the output layer predicts the vocabulary."""
        return f"{k} {vocab[k]!r}" if vocab is not None else str(k)
    counts = {k: int((status == k).sum()) for k in ("certified", "falsified", "unknown")}
    if args.format == "json":
        data = {
            "model": model.source,
            "notes": model.notes,
            "eps": eps,
            "clip": clip,
            "method": args.method,
            "mode": args.mode,
            "budget": budget,
            "steps": T,
            "certified_count": counts["certified"],
            "falsified_count": counts["falsified"],
            "unknown_count": counts["unknown"],
            "total": B,
            "seconds": elapsed,
            "samples": [
                {
                    "index": i,
                    "label": int(labels[i]),
                    "predicted": int(predicted[i]),
                    "status": str(status[i]),
                    "certified": bool(certified[i]),
                    "falsified": status[i] == "falsified",
                    "min_margin": float(min_margin[i]),
                    "closest_rival": rival_idx[i] if rival_idx[i] >= 0 else None,
                    "margins": [None if j == labels[i] else float(m) for j, m in enumerate(margins[i])],
                    "counterexample": None if ces[i] is None else {"xs": ces[i].xs.tolist(), "predicted": ces[i].predicted,
                                                                    "exact_margin": ces[i].margin},
                }
                for i in range(B)
            ],
        }
        json.dump(_jsonable(data), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(f"model: {model.source}: n_x = {w.n_x}, n_a = {w.n_a}, n_y = {w.n_y}")
        for n in model.notes:
            print(f"note: {n}")
        where = f"L∞ ball of radius {eps:g} per step and coordinate" + (f", clipped to [{clip[0]:g}, {clip[1]:g}]" if clip else "")
        print(f"inputs: {B} sample(s) of T = {T} steps; {where}; method {args.method} (mode {args.mode})"
              + (f"; branch and bound {budget:g} s per sample" if budget else ""))
        print("margin = proven lower bound of z_label − z_j (logits) over the ball; certified iff every margin > 0; "
              "falsified = a member whose exact logits put another class first")
        rows = [("#", "label", "predicted", "verdict", "min margin", "closest rival")]
        for i in range(B):
            verdict = str(status[i]) if ces[i] is None else f"falsified ({show(ces[i].predicted)})"
            rows.append((str(i), show(int(labels[i])), show(int(predicted[i])), verdict,
                         fmt_down(float(min_margin[i])), show(rival_idx[i]) if rival_idx[i] >= 0 else "-"))
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        for r in rows:
            print("  " + "   ".join(f"{c:<{widths[j]}}" if j else f"{c:>{widths[j]}}" for j, c in enumerate(r)).rstrip())
        print(f"certified: {counts['certified']} / {B}, falsified: {counts['falsified']}, unknown: {counts['unknown']}  ({elapsed:.2f} s)")
    if args.require_all and not certified.all():
        return 1
    return 0


# --- the parser ------------------------------------------------------------------------------------


_HEAD_HELP = ("the output layer: a module name of a PyTorch state dict (e.g. fc), an ONNX MatMul/Gemm node or weight "
              "name, or 'none'; default: only one the file leaves no doubt about")


_VOCAB_HELP = ("the model's input symbols in index order (one per line, or a JSON list), for onehot:t,h,e and "
               "text=… inputs; replaces the file's own vocabulary")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lstm-symbolic", description="Sound (outward-rounded) bounds on every signal inside an LSTM.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="what can be proved about the built-in character LSTM: questions and answers, a report",
                       description="Questions about the built-in character LSTM (n_x = 30, n_a = 16, trained on the Gettysburg "
                       "Address), answered with proofs: robustness to a one-character typo (certified, or falsified with an "
                       "exact counterexample, beside the exact answer by enumeration), a small L∞ ball where the tight method "
                       "meets the attack, and a counting unit that no all-horizon bound can hold. Writes report.md (every table, "
                       "including every method over every one-hot sequence of length --steps), bounds.json and bounds.png "
                       "(matplotlib) to --out.")
    d.add_argument("--steps", type=_steps_arg, default=8, help="sequence length of the report's all-sequences tables (default 8)")
    d.add_argument("--out", default="lstm_symbolic_demo", help="output directory (default ./lstm_symbolic_demo/)")
    d.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")
    d.add_argument("--samples", type=_samples_arg, default=2000, help="random sequences for those tables' sampled column (default 2000)")
    d.set_defaults(func=_cmd_demo)

    b = sub.add_parser("bounds", help="bounds of every signal of a model over an input set",
                       description="Bounds of Γ_f, Γ_u, Γ_o, c̃, c, a, y at every step for every input sequence in the set.")
    b.add_argument("model", metavar="MODEL", help="model file: .npz (seed or PyTorch naming), .pt/.pth (PyTorch state_dict), "
                   ".onnx, .keras / .h5 (Keras); or 'demo' for the built-in model")
    b.add_argument("--head", metavar="NAME", default=None, help=_HEAD_HELP)
    b.add_argument("--vocab", metavar="FILE", default=None, help=_VOCAB_HELP)
    b.add_argument("--steps", type=_steps_arg, default=None, help="number of steps T (default: the input's time axis)")
    b.add_argument("--input", required=True, metavar="SPEC",
                   help="onehot[:TOKENS] | linf:EPS[:CENTER.npy|:text=TEXT] | box:LO:HI (LO, HI numbers or .npy)")
    b.add_argument("--method", choices=METHODS, default="best", help="default best (every method, sharing bounds)")
    b.add_argument("--mode", choices=("fast", "rigorous"), default="fast",
                   help="fast: numpy exp/tanh widened by a tested ulp budget; rigorous: no libm trusted")
    b.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    b.add_argument("--signals", type=_signals_arg, default=None,
                   help="comma list among f,u,o,c_tilde,c,a,y (an LSTM) or r,z,n,a,y (a GRU) (default all of the last layer)")
    b.add_argument("--digits", type=_digits_arg, default=4, help="decimals in tables, 0 to 50 (rounded outward; default 4)")
    b.add_argument("--plot", metavar="PNG", default=None, help="also write a plot (needs matplotlib)")
    b.add_argument("--batch-first", action="store_true", help="CENTER / LO / HI .npy arrays are (B, T, n_x) instead of (T, B, n_x)")
    b.set_defaults(func=_cmd_bounds)

    c = sub.add_parser("certify", help="certify or falsify argmax y⟨T⟩ = label on L∞ balls around a batch of inputs",
                       description="For each sample, prove that argmax y⟨T⟩ = label for every input sequence within "
                       "--eps (L∞, every step and coordinate) of it, or find a counterexample replayed exactly; print "
                       "certified / falsified / unknown and the margins. With --results or several --eps: dataset mode "
                       "(JSON lines, resumable, a summary table).")
    c.add_argument("model", metavar="MODEL", help="model file (as for bounds) or 'demo'")
    c.add_argument("--head", metavar="NAME", default=None, help=_HEAD_HELP)
    c.add_argument("--vocab", metavar="FILE", default=None, help=_VOCAB_HELP)
    c.add_argument("--inputs", required=True, metavar="X.npy",
                   help="floats (T, n_x) or (T, B, n_x), or integer tokens (T,) or (T, B) (one-hot encoded)")
    c.add_argument("--labels", required=True, metavar="Y.npy", help="integer labels (B,) (or one), or the word 'predicted'")
    c.add_argument("--eps", required=True, help="L∞ radius (>= 0); a comma-separated list runs dataset mode")
    c.add_argument("--clip", metavar="LO,HI", default=None, help="intersect each ball with the box [LO, HI] (e.g. 0,1 for pixels)")
    c.add_argument("--budget", metavar="S", default=None, help="seconds of branch and bound per sample left open (default none)")
    c.add_argument("--optimise", metavar="N", type=int, default=None, help="slope-optimisation iterations for open samples "
                   "(linear, best; default 8, 0 disables)")
    c.add_argument("--seed", type=int, default=0, help="seed of the attacks and branch and bound (default 0)")
    c.add_argument("--results", metavar="FILE", default=None, help="dataset mode: append one JSON line per sample to FILE, "
                   "resuming a run that was interrupted")
    c.add_argument("--plot", metavar="PNG", default=None, help="dataset mode: plot certified / falsified / unknown against eps")
    c.add_argument("--method", choices=METHODS, default="best", help="default best (every method, sharing bounds)")
    c.add_argument("--mode", choices=("fast", "rigorous"), default="fast")
    c.add_argument("--format", choices=("table", "json"), default="table")
    c.add_argument("--batch-first", action="store_true", help="--inputs is (B, T, …) instead of (T, B, …)")
    c.add_argument("--require-all", action="store_true", help="exit with status 1 unless every sample is certified")
    c.set_defaults(func=_cmd_certify)

    try:
        from . import cli_math
    except ImportError:  # pragma: no cover - cli_math ships with the package
        pass
    else:
        cli_math.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, with one line on stderr)."""
    try:
        args = _parser().parse_args(argv)
        return int(args.func(args))
    except (InputError, _UsageError) as exc:
        print(f"lstm-symbolic: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if isinstance(exc.code, (int, type(None))) else 2
    except KeyboardInterrupt:
        print("lstm-symbolic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `lstm-symbolic bounds … | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
