"""All-horizon invariants against a worst-case input search, on trained models.

For each model: ``ls.invariant`` (method ``best``, the library's defaults) and the worst-case
search beside it (:func:`lstm_symbolic.worst_case.worst_case`, ``--steps`` steps: greedy over
the input set's vertices per unit and direction, every vertex held, random holds). Printed per
model: the width of the proven cell box over the width the search reached (median and max over
units) — for the inductive box ``inv.c`` and for the tightest proven bounds ``inv.bounds`` —
the same for ``a``, the *box floor* (the narrowest cell box any box invariant could have, given
the reached states: the part of the gap that no box template can avoid), the contraction
rate bound, and the times of the proof and of the search.

Models:

``demo``
    the built-in character LSTM, every one-hot token at every step (a unit counts: no bounded
    invariant exists; the reason is printed).
``digits-32``
    8×8 digits from scikit-learn read row by row (n_x 8, T 8), n_a 32, a linear head, trained
    with torch (seed 0), the certification benchmark's configuration; inputs anywhere in
    [0, 1]^8 at every step, a⟨0⟩ = c⟨0⟩ = 0. Until ``benchmarks/digits.py`` lands with its shared
    model, trained here and cached in ``benchmarks/.cache/``; then :func:`digits_weights` should
    call it instead (one line).
``digits-8``, ``digits-4``
    the same task with 8 and 4 hidden units.
``filter-4``
    the model of the guide (``lstm_symbolic/data/filter_lstm.npz``, made by :func:`train_filter`):
    n_x 2, n_a 4 trained (torch, seed 0) to output a short moving average of its inputs
    (y⟨t⟩ = 0.5 x⟨t⟩ + 0.3 x⟨t−1⟩ + 0.2 x⟨t−2⟩, summed over channels) from inputs in [−1, 1]²: a
    short-memory model.
``tokens-6``
    one-hot inputs (6 tokens), n_a 6, trained to tell whether token 0 occurred at least twice
    among the last 4 tokens; every token at every step.
``random-0.2``, ``random-0.4``
    untrained references (n_a 4, n_x 2, Gaussian weights of standard deviation 0.2 and 0.4):
    weakly coupled models, where the contraction certificate can hold.

Needs torch and scikit-learn (benchmark-only; the library does not). Not a test.

    python benchmarks/invariant.py [--steps 3000] [--models digits-32,filter-4] [--json]

Runs with one BLAS thread unless OPENBLAS_NUM_THREADS is set (small products: see
benchmarks/tightness.py).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import lstm_symbolic as ls
from lstm_symbolic.worst_case import box_floor

CACHE = Path(__file__).resolve().parent / ".cache"


# --- trained models (torch, cached as .npz) ------------------------------------------------------


def _cached(name: str, train: Callable[[], dict[str, np.ndarray]]) -> ls.LSTMWeights:
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    path = CACHE / f"{name}.npz"
    if not path.exists():
        np.savez(path, **train())
    return ls.load(path)


def _torch_lstm(n_x: int, n_a: int, n_out: int, seed: int) -> tuple[Any, Any, Any]:
    import torch

    torch.manual_seed(seed)
    return torch, torch.nn.LSTM(n_x, n_a), torch.nn.Linear(n_a, n_out)


def _state(lstm: Any, head: Any | None) -> dict[str, np.ndarray]:
    sd = {k: v.detach().double().numpy() for k, v in lstm.state_dict().items()}
    if head is not None:
        sd["W_y"], sd["b_y"] = head.weight.detach().double().numpy(), head.bias.detach().double().numpy()
    return sd


def train_digits(n_a: int, seed: int = 0, epochs: int = 60) -> dict[str, np.ndarray]:
    """The digits LSTM: 8×8 images / 16 read row by row, a linear head on a⟨8⟩, Adam 1e-2,
    batches of 64, 1400 training images (seeded split). Returns a PyTorch state dict plus
    ``W_y``, ``b_y`` (numpy) and ``accuracy`` on the other 397 images."""
    from sklearn.datasets import load_digits

    torch, lstm, head = _torch_lstm(8, n_a, 10, seed)
    d = load_digits()
    X = torch.tensor((d.data / 16.0).reshape(-1, 8, 8), dtype=torch.float32).transpose(0, 1)
    y = torch.tensor(d.target)
    idx = np.random.default_rng(seed).permutation(len(d.target))
    tr, te = torch.tensor(idx[:1400]), torch.tensor(idx[1400:])
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-2)
    for _ in range(epochs):
        perm = tr[torch.randperm(len(tr))]
        for i in range(0, len(perm), 64):
            b = perm[i : i + 64]
            out, _ = lstm(X[:, b])
            loss = torch.nn.functional.cross_entropy(head(out[-1]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        out, _ = lstm(X[:, te])
        acc = float((head(out[-1]).argmax(-1) == y[te]).float().mean())
    return _state(lstm, head) | {"accuracy": np.array(acc)}


def train_filter(seed: int = 0, steps: int = 1500) -> dict[str, np.ndarray]:
    """n_x 2, n_a 4: y⟨t⟩ = Σ_channels 0.5 x⟨t⟩ + 0.3 x⟨t−1⟩ + 0.2 x⟨t−2⟩, x uniform in [−1, 1]²,
    sequences of 20, MSE on every step, Adam 1e-2. The head is not kept (invariants do not
    need it)."""
    torch, lstm, head = _torch_lstm(2, 4, 1, seed)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.rand(20, 64, 2, generator=g) * 2 - 1
        s = x.sum(-1)
        target = 0.5 * s + 0.3 * torch.roll(s, 1, 0) + 0.2 * torch.roll(s, 2, 0)
        target[:2] = 0.5 * s[:2]
        out, _ = lstm(x)
        loss = ((head(out)[..., 0] - target)[2:] ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return _state(lstm, None) | {"mse": np.array(float(loss.detach()))}


def train_tokens(seed: int = 0, steps: int = 1500) -> dict[str, np.ndarray]:
    """One-hot inputs, 6 tokens, n_a 6: at each step, whether token 0 occurred at least twice
    among the last 4 tokens (cross-entropy on every step from the 4th, Adam 1e-2)."""
    torch, lstm, head = _torch_lstm(6, 6, 2, seed)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        tok = torch.randint(0, 6, (24, 64), generator=g)
        tok = torch.where(torch.rand(24, 64, generator=g) < 0.25, torch.zeros_like(tok), tok)
        x = torch.nn.functional.one_hot(tok, 6).float()
        zero = (tok == 0).float()
        count = sum(torch.roll(zero, k, 0) for k in range(4))
        label = (count >= 2).long()
        out, _ = lstm(x)
        logits = head(out)[3:]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 2), label[3:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return _state(lstm, head) | {"loss": np.array(float(loss.detach()))}


def digits_weights(n_a: int) -> ls.LSTMWeights:
    """The digits model with ``n_a`` hidden units (cached). When ``benchmarks/digits.py`` offers
    the certification benchmark's shared model, use it here for ``n_a = 32``."""
    return _cached(f"digits_lstm_{n_a}", lambda: train_digits(n_a))


def filter_weights() -> ls.LSTMWeights:
    """The moving-average model shipped with the library (``lstm_symbolic/data/filter_lstm.npz``,
    made by :func:`train_filter`; the guide uses it); trained here only if it is missing."""
    shipped = Path(ls.__file__).parent / "data" / "filter_lstm.npz"
    return ls.load(shipped) if shipped.exists() else _cached("filter_lstm_4", train_filter)


def random_weights(scale: float, seed: int = 0) -> ls.LSTMWeights:
    """Untrained reference: n_a 4, n_x 2, weights N(0, scale²), biases N(0, 0.25) (seeded)."""
    rng = np.random.default_rng(seed)
    return ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(4, 6)) * scale for g in "fuco"},
                          **{f"b_{g}": rng.normal(size=4) * 0.5 for g in "fuco"})


def demo_weights() -> ls.LSTMWeights:
    from lstm_symbolic.demo_model import load_demo_arrays

    arrays = load_demo_arrays()
    return ls.LSTMWeights.from_arrays({k: v for k, v in arrays.items() if k.startswith(("W_", "b_"))})


MODELS: dict[str, Callable[[], tuple[ls.LSTMWeights, ls.InputSet, str]]] = {
    "demo": lambda: (lambda w: (w, ls.OneHot(w.n_x), "one-hot, all tokens"))(demo_weights()),
    "digits-32": lambda: (digits_weights(32), ls.Box(np.zeros(8), np.ones(8)), "[0, 1]^8"),
    "digits-8": lambda: (digits_weights(8), ls.Box(np.zeros(8), np.ones(8)), "[0, 1]^8"),
    "digits-4": lambda: (digits_weights(4), ls.Box(np.zeros(8), np.ones(8)), "[0, 1]^8"),
    "filter-4": lambda: (filter_weights(), ls.Box(-np.ones(2), np.ones(2)), "[-1, 1]^2"),
    "tokens-6": lambda: (_cached("tokens_lstm_6", train_tokens), ls.OneHot(6), "one-hot, all tokens"),
    "random-0.2": lambda: (random_weights(0.2), ls.Box(-np.ones(2), np.ones(2)), "[-1, 1]^2"),
    "random-0.4": lambda: (random_weights(0.4), ls.Box(-np.ones(2), np.ones(2)), "[-1, 1]^2"),
}


# --- the measurement -------------------------------------------------------------------------------


def measure(name: str, steps: int) -> dict[str, Any]:
    w, X, desc = MODELS[name]()
    t0 = time.perf_counter()
    inv = ls.invariant(w, X, search=steps, max_iter=200 if name != "demo" else 40)
    total = time.perf_counter() - t0
    row: dict[str, Any] = {"model": name, "n_a": w.n_a, "inputs": desc, "found": bool(inv.found), "reason": inv.reason,
                           "search_s": inv.reached.seconds if inv.reached else 0.0, "total_s": total}
    row["proof_s"] = total - row["search_s"]
    r = inv.reached
    row["reached_c_median"] = float(np.median(r.c.width))
    if inv.found:
        box_ratio = inv.c.width / r.c.width
        row.update({
            "box_c_median": float(np.median(box_ratio)), "box_c_max": float(np.max(box_ratio)),
            "c_median": float(np.median(inv.ratio)), "c_max": float(np.max(inv.ratio)),
            "a_median": float(np.median(inv.a_ratio)), "a_width_median": float(np.median(inv.bounds[0].width)),
            "floor_median": float(np.median(inv.floor_ratio)),
            "rate": None if inv.contraction is None else float(inv.contraction.rate),
            "horizon": inv.horizon, "gated": inv.template is not None,
        })
    else:
        row["floor_median"] = float(np.median(box_floor(w, X, r).width / r.c.width))
    return row


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e5 else f"{v:.2e}"
    return str(v)


def table(rows: list[dict[str, Any]]) -> str:
    head = ("model", "n_a", "inputs", "found", "box c/reached (med, max)", "tightest c/reached (med, max)", "a/reached med",
            "box floor med", "contraction rate", "proof s", "search s")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r["found"]:
            cells = [r["model"], r["n_a"], r["inputs"], "yes", f"{_fmt(r['box_c_median'])}, {_fmt(r['box_c_max'])}",
                     f"{_fmt(r['c_median'])}, {_fmt(r['c_max'])}", _fmt(r["a_median"]), _fmt(r["floor_median"]),
                     _fmt(r["rate"]) + (f" (T = {r['horizon']})" if r.get("horizon") else ""), _fmt(r["proof_s"]), _fmt(r["search_s"])]
        else:
            cells = [r["model"], r["n_a"], r["inputs"], "no", "—", "—", "—", _fmt(r["floor_median"]), "—", _fmt(r["proof_s"]), _fmt(r["search_s"])]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    for r in rows:
        if not r["found"]:
            lines.append(f"\n{r['model']}: {r['reason']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=3000, help="horizon of the worst-case search (default 3000)")
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    p.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = p.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    rows = [measure(m, args.steps) for m in names]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"# all-horizon invariants vs a {args.steps}-step worst-case search "
          f"(lstm_symbolic {ls.__version__}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')})\n")
    print("ratios: width of the proven cell box / width the search reached, per unit; box = the inductive box inv.c,")
    print("tightest = inv.bounds; box floor = narrowest cell box any box invariant can have (from the reached states)\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
