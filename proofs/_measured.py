"""Reading the experiments' cached results for *measured* verdicts (see ``experiments/cache.py``).

A measured check never reruns an experiment: it loads ``experiments/results/<name>.json`` after
:func:`experiments.cache.verify` has recomputed the SHA-256 of every input file (the script with
its settings, the training code, the corpus, the shipped model) and found them unchanged — else
the claim is unchecked and ``lstm-symbolic prove --check`` fails. Comparisons between variants
use the seeds' spread: two means differ when their difference exceeds twice its standard error
(√(sd₁²/n₁ + sd₂²/n₂)); otherwise they are reported as indistinguishable at this many seeds.
"""

from __future__ import annotations

import math
from typing import Any

from lstm_symbolic.proof import ProofFailure, require

__all__ = ["MODELS", "MODELS_TEXT", "MODELS_RECALL", "experiment", "pm", "span", "compare", "judge", "across", "listing", "curve_at"]

MODELS_TEXT = ("the demo corpus (next character over the whole Gettysburg Address, 1472 predictions, 30 symbols; "
               "whole-text loss from the zero state, nats per character — a memorisation task)")
MODELS_RECALL = ("the recall task (8 keys; store the key after a marker, answer it at a query, ignore unmarked keys; "
                 "loss and accuracy over the queries of fresh held-out streams, chance $\\ln 8 = 2.079$ nats)")


_BOTH_TASKS = f"on {MODELS_TEXT} (300 epochs) and on {MODELS_RECALL} (50 epochs)"
_DEMO_MODELS = ("the shipped demo model and four siblings trained the same way (seeds 1–4), each read over the whole "
                "corpus from the zero state")

#: What each experiment trains or reads, in the words of its page (one description per experiment).
MODELS = {
    "forget_bias": "the seed's LSTM, $n_a = 16$, $b_f$ initialised to 0, 1, 2 (other biases 0), five seeds each, " + _BOTH_TASKS,
    "gate_ablation": ("the seed's LSTM ($n_a = 16$, $b_f$ initialised to 1) and the same LSTM with one gate held at exactly 1 "
                      "during training, five seeds each, " + _BOTH_TASKS),
    "normaliser": ("the seed's LSTM, the LSTM with $a = \\Gamma_o \\odot \\sigma(c)$ and the LSTM with "
                   "$\\Gamma_o = \\tanh(W_o z + b_o)$ ($n_a = 16$, $b_f$ initialised to 1), five seeds each, " + _BOTH_TASKS),
    "gru_vs_lstm": ("the GRU of Jozefowicz et al. at the hidden size whose parameter count is closest to the LSTM's, against "
                    "the seed's LSTM ($n_a = 16$) with $b_f$ initialised to 0 and to 1, five seeds each, " + _BOTH_TASKS),
    "dropout": ("the seed's LSTM ($b_f$ initialised to 1), $n_a = 16$ and $32$, inverted dropout $p \\in \\{0, 0.25, 0.5\\}$ "
                "on $a^{<t>} \\to y^{<t>}$, five seeds each, 300 epochs on the first 80 % of the demo corpus's predictions; "
                "held-out: the last 20 %, read as the text's continuation from the zero state"),
    "demo_dynamics": _DEMO_MODELS,
    "stability": ("the seed's LSTM ($n_a = 16$, $b_f$ initialised to 1) and an Elman RNN $h' = \\tanh(W[h, x] + b)$ at the "
                  "hidden size that matches the LSTM's parameter count, five seeds each, 300 epochs on " + MODELS_TEXT
                  + "; and the shipped demo model"),
}


def experiment(name: str, detail: str = "") -> tuple[dict[str, Any], str]:
    """The verified cached results of experiment ``name`` and the Markdown that names it (its
    :data:`MODELS` entry, then ``detail``)."""
    from experiments import cache

    try:
        record = cache.load(name)
    except cache.StaleResult as exc:
        raise ProofFailure(str(exc)) from None
    require(record["experiment"] == name, f"experiments/results/{name}.json names another experiment")
    files = ", ".join(f"`{p}`" for p in record["inputs"]["files"])
    env = record["environment"]
    text = (f"`experiments/{name}.py` — {record['title']}. Models: {MODELS[name]}{'; ' + detail if detail else ''}. "
            f"Results cached in `experiments/results/{name}.json`; inputs SHA-256 `{record['inputs']['sha256'][:16]}…` over "
            f"{files}, recomputed from the files on disk by this check. Rerun: `{record['command']}` "
            f"({record['seconds']:g} s on the recording machine: Python {env['python']}, numpy {env['numpy']}, {env['machine']}).")
    return record["results"], text


def pm(s: dict[str, float], digits: int = 3, style: str = "f") -> str:
    """``mean ± sd`` of a seed summary (``style`` "f": fixed point, "e": exponent)."""
    return f"{s['mean']:.{digits}{style}} ± {s['sd']:.{digits}{style}}"


def span(s: dict[str, float], whole: int | None = None) -> str:
    """'a–b' from a summary's min and max ('all N' / 'a' when they agree)."""
    lo, hi = int(s["min"]), int(s["max"])
    if lo == hi:
        return f"all {whole}" if whole is not None and lo == whole else f"{lo}"
    return f"{lo}–{hi}"


def compare(a: dict[str, float], b: dict[str, float]) -> int:
    """+1 if mean a > mean b by more than two standard errors, −1 if lower, 0 if indistinguishable."""
    se = math.sqrt(a["sd"] ** 2 / a["n"] + b["sd"] ** 2 / b["n"])
    d = a["mean"] - b["mean"]
    if abs(d) <= 2 * se:
        return 0
    return 1 if d > 0 else -1


def judge(c: int, higher: str, lower: str, same: str) -> str:
    """The word for a :func:`compare` result (``higher`` when +1, ``lower`` when −1, ``same`` when 0)."""
    return {1: higher, -1: lower, 0: same}[c]


def across(values: list[float]) -> dict[str, float]:
    """Seed-style summary (mean, sd, min, max, n) of per-model values."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "sd": sd, "min": min(values), "max": max(values), "n": n}


def listing(rows: dict[str, dict[str, Any]], metric: str, labels: dict[str, str], digits: int = 3,
            part: str = "final") -> str:
    """'label: mean ± sd; …' for the variants of one task (``part``: final or best)."""
    return "; ".join(f"{labels.get(k, k)}: ${pm(r[part][metric], digits)}$" for k, r in rows.items())


def curve_at(row: dict[str, Any], epoch: int, metric: str = "loss") -> float:
    """The seeds' mean of ``metric`` at evaluation ``epoch``."""
    for point in row["curve"]:
        if point["epoch"] == epoch:
            return float(point[metric]["mean"])
    raise ProofFailure(f"no evaluation at epoch {epoch}")
