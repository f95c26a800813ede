"""Certifying a dataset: chunks of samples on an executor, results as JSON lines that survive an
interruption, a summary table and a plot against eps.

:func:`certify_dataset` cuts the work into *units* (a chunk of samples at one eps), runs each
unit with :func:`~lstm_symbolic.certify` — in this process, or on a ``concurrent.futures``
executor, or on a Dask ``distributed.Client`` — and, with ``results=path``, appends one JSON
line per sample as soon as its unit is done. The file starts with one ``{"meta": …}`` line that
fixes the run (samples, labels, eps values, method, options); reopening the same path with the
same run resumes it: lines already there are kept, their samples are not run again, and a last
line cut short by a crash (``kill -9`` in the middle of a write) is dropped before anything is
appended, so no sample is lost or counted twice. A different run on the same path is refused
(:class:`~lstm_symbolic.errors.InputError` naming ``results``).

Only the process that called :func:`certify_dataset` writes the file (workers return their
records), each line with one ``write`` followed by ``flush`` and ``fsync``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .._validate import finite_array
from ..errors import InputError, ShapeError
from ..model import as_model
from .verdicts import STATUSES

__all__ = ["certify_dataset", "Summary", "read_results"]


@dataclass
class Summary:
    """What :func:`certify_dataset` found. ``records``: one dict per (sample, eps) — keys
    ``index``, ``eps``, ``label``, ``status``, ``min_margin``, ``seconds``, ``branches``,
    ``predicted`` and ``counterexample`` (the member (T, n_x) as lists) for falsified
    samples; ``eps``: the radii, in the order given; ``resumed``: records read back from the
    results file instead of computed."""

    records: list[dict[str, Any]]
    eps: list[float]
    resumed: int = 0
    path: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """Per eps: ``eps``, ``n``, the count per status, ``seconds`` (mean per sample)."""
        out = []
        for e in self.eps:
            rec = [r for r in self.records if r["eps"] == e]
            row: dict[str, Any] = {"eps": e, "n": len(rec)}
            for s in STATUSES:
                row[s] = sum(r["status"] == s for r in rec)
            row["seconds"] = float(np.mean([r["seconds"] for r in rec])) if rec else 0.0
            out.append(row)
        return out

    def table(self) -> str:
        """A fixed-width table: one line per eps."""
        lines = [f"{'eps':>10} {'n':>5} {'certified':>10} {'falsified':>10} {'unknown':>8} {'s/sample':>9}"]
        for r in self.rows():
            lines.append(f"{r['eps']:>10.4g} {r['n']:>5d} {r['certified']:>10d} {r['falsified']:>10d} {r['unknown']:>8d} {r['seconds']:>9.3f}")
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike[str]) -> str:
        """Certified / falsified / unknown counts against eps, written to ``path`` (PNG, SVG, …;
        needs matplotlib). Returns the path."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = self.rows()
        eps = [r["eps"] for r in rows]
        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        for s, colour in zip(STATUSES, ("tab:green", "tab:red", "tab:gray")):
            ax.plot(eps, [r[s] for r in rows], "o-", color=colour, label=s)
        ax.set_xlabel("eps (L∞ radius)")
        ax.set_ylabel("samples")
        ax.set_title(f"{rows[0]['n'] if rows else 0} samples, {np.mean([r['seconds'] for r in rows]) if rows else 0:.2f} s per sample")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return os.fspath(path)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows(), "resumed": self.resumed, "path": self.path, "meta": self.meta}

    def __repr__(self) -> str:
        return f"Summary({len(self.records)} records, eps={self.eps})"


# --- the results file ----------------------------------------------------------------------


def read_results(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, list[dict[str, Any]], int]:
    """``(meta, records, good_bytes)`` of a results file: the meta line (None if absent), the
    complete record lines (first occurrence of each (index, eps) kept), and the length of the
    file up to its last complete line (a torn last line is not counted)."""
    meta, records, seen, good = None, [], set(), 0
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            break  # a torn last line: no newline yet
        line = data[pos:end]
        try:
            obj = json.loads(line.decode("utf-8")) if line.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            break  # a corrupt line: keep what came before it
        pos = end + 1
        good = pos
        if obj is None:
            continue
        if "meta" in obj and meta is None:
            meta = obj["meta"]
            continue
        key = (obj.get("index"), obj.get("eps"))
        if key not in seen:
            seen.add(key)
            records.append(obj)
    return meta, records, good


class _Writer:
    def __init__(self, path: str, good: int, meta: dict[str, Any] | None) -> None:
        exists = os.path.exists(path)
        if exists:
            with open(path, "r+b") as fh:  # drop a torn last line before appending
                fh.truncate(good)
        self.fh = open(path, "ab")
        if meta is not None:
            self.write({"meta": meta})

    def write(self, obj: dict[str, Any]) -> None:
        self.fh.write((json.dumps(obj, separators=(",", ":")) + "\n").encode("utf-8"))
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


# --- one unit of work ------------------------------------------------------------------------


def certify_unit(model: Any, xs: np.ndarray, labels: np.ndarray, eps: float, indices: Sequence[int], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Certify one chunk (``xs`` (T, b, n_x) at one ``eps``) and return its records (what an
    executor runs: a module-level function of picklable arguments)."""
    from .verdicts import certify

    cert = certify(model, xs, eps, labels, **options)
    out = []
    for i, idx in enumerate(indices):
        ce = cert.counterexamples[i]
        out.append({
            "index": int(idx),
            "eps": float(eps),
            "label": int(cert.label[i]),
            "status": str(cert.status[i]),
            "min_margin": _json_float(cert.min_margin[i]),
            "seconds": float(cert.seconds[i]),
            "branches": int(cert.branches[i]),
            "predicted": None if ce is None else ce.predicted,
            "counterexample": None if ce is None else ce.xs.tolist(),
        })
    return out


def _json_float(v: Any) -> Any:
    v = float(v)
    return v if np.isfinite(v) else ("inf" if v > 0 else "-inf")


def _fingerprint(model: Any, X: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256()
    m = as_model(model)
    for layer in m.layers:
        for cell in (layer.cell, layer.reverse):
            if cell is not None:
                for a in vars(cell).values():
                    W = getattr(a, "W", None)
                    if isinstance(W, np.ndarray):
                        h.update(np.ascontiguousarray(W).tobytes())
    if m.head is not None:
        h.update(m.head.W.tobytes())
        h.update(m.head.b.tobytes())
    h.update(np.ascontiguousarray(X).tobytes())
    h.update(np.ascontiguousarray(labels).tobytes())
    return h.hexdigest()[:16]


def _is_dask(executor: Any) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed"


def certify_dataset(
    model: Any,
    X: Any,
    labels: Any,
    eps: Any,
    executor: Any = None,
    results: str | os.PathLike[str] | None = None,
    *,
    chunk: int = 10,
    progress: bool | Callable[[int, int], None] | None = None,
    batch_first: bool = True,
    **options: Any,
) -> Summary:
    """Certify every sample of a dataset at one or several radii.

    ``X``: (N, T, n_x) — one sequence per sample, samples first (``batch_first=False``:
    (T, N, n_x)); ``labels``: (N,) ints; ``eps``: a radius or a sequence of radii (each is run
    over the whole dataset; the summary and the plot are against them). ``executor``: None
    (in this process), a ``concurrent.futures.Executor`` or a Dask ``distributed.Client`` —
    units of ``chunk`` samples at one eps are submitted to it. ``results``: a path for JSON
    lines (module docstring): written incrementally, resumed when it exists. ``progress``:
    a bar on stderr when it is a terminal (None: automatic; False: never), or a callable
    ``(done, total)``. ``options``: passed to :func:`~lstm_symbolic.certify` (``method``,
    ``budget``, ``optimise``, ``clip``, ``split``, ``seed``, ``max_leaves``, …).

    Returns a :class:`Summary` (``.table()``, ``.plot(path)``, ``.rows()``, ``.records``).
    """
    m = as_model(model)
    if m.head is None:
        raise InputError("model", "a model with an output layer (W_y, b_y) to certify labels")
    x = finite_array(X, "X")
    if x.ndim != 3:
        raise ShapeError("X", "shape (N, T, n_x) (samples first; batch_first=False for (T, N, n_x))", got=f"shape {x.shape}")
    if not batch_first:
        x = x.transpose(1, 0, 2)
    N = x.shape[0]
    if x.shape[2] != m.n_x:
        raise ShapeError("X", f"n_x = {m.n_x} inputs per step (the model's)", got=f"shape {np.shape(X)}")
    lab = np.asarray(labels.detach().cpu().numpy() if hasattr(labels, "detach") else labels)
    if lab.shape != (N,) or lab.dtype.kind not in "iu" or not np.all((lab >= 0) & (lab < m.n_y)):
        raise InputError("labels", f"(N,) = ({N},) integer class indices in [0, {m.n_y})", got=f"shape {lab.shape}, dtype {lab.dtype}")
    eps_list = [float(e) for e in (eps if isinstance(eps, (list, tuple, np.ndarray)) else [eps])]
    if not eps_list or any(not np.isfinite(e) or e < 0 for e in eps_list):
        raise InputError("eps", "a non-negative radius or a non-empty sequence of them", got=eps)
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise InputError("chunk", "a positive number of samples per unit", got=chunk)
    meta = {
        "n": N,
        "eps": eps_list,
        "fingerprint": _fingerprint(m, x, lab),
        "options": {k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)) for k, v in sorted(options.items())},
    }
    done: list[dict[str, Any]] = []
    writer = None
    path = None if results is None else os.fspath(results)
    if path is not None:
        if os.path.exists(path):
            old_meta, done, good = read_results(path)
            if old_meta is not None and old_meta != meta:
                raise InputError("results", "a results file of this run (same samples, labels, eps and options) or a new path",
                                 got=f"{path} (written by another run)")
            done = [r for r in done if r["eps"] in eps_list and 0 <= r["index"] < N]
            writer = _Writer(path, good, meta if old_meta is None else None)
        else:
            writer = _Writer(path, 0, meta)
    have = {(r["index"], r["eps"]) for r in done}
    units = []
    for e in eps_list:
        todo = [i for i in range(N) if (i, e) not in have]
        for s in range(0, len(todo), chunk):
            idx = todo[s : s + chunk]
            units.append((e, idx))
    total = N * len(eps_list)
    bar = _progress(progress, total)
    finished = len(done)
    bar(finished, total)
    records = list(done)
    xt = x.transpose(1, 0, 2)  # time-major for certify

    def args_of(u: tuple[float, list[int]]) -> tuple:
        e, idx = u
        return (model, xt[:, idx], lab[idx], e, idx, options)

    def collect(recs: list[dict[str, Any]]) -> None:
        nonlocal finished
        for r in recs:
            if writer is not None:
                writer.write(r)
            records.append(r)
        finished += len(recs)
        bar(finished, total)

    try:
        if executor is None:
            for u in units:
                collect(certify_unit(*args_of(u)))
        elif _is_dask(executor):
            from distributed import as_completed as dask_completed

            futures = [executor.submit(certify_unit, *args_of(u), pure=False) for u in units]
            for fut in dask_completed(futures):
                collect(fut.result())
        else:
            from concurrent.futures import as_completed

            futures = [executor.submit(certify_unit, *args_of(u)) for u in units]
            for fut in as_completed(futures):
                collect(fut.result())
    finally:
        if writer is not None:
            writer.close()
        bar(finished, total, close=True)
    order = {e: i for i, e in enumerate(eps_list)}
    records.sort(key=lambda r: (order[r["eps"]], r["index"]))
    return Summary(records, eps_list, resumed=len(done), path=path, meta=meta)


def _progress(progress: Any, total: int) -> Callable[..., None]:
    if callable(progress):
        return lambda done, tot, close=False: None if close else progress(done, tot)
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return lambda done, tot, close=False: None
    from ..cli import Progress

    bar = Progress(total, "certify", delay=0.0 if progress else 0.5)

    def update(done: int, tot: int, close: bool = False) -> None:
        if close:
            bar.close()
        else:
            bar.update(done, tot)
    return update
