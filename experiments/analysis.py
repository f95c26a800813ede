"""Measurements on trained models: signals over a text, held gates, state resets, Jacobians,
rounding-error growth and the fixed points of the autonomous dynamics.

Every LSTM signal here comes from the library's forward pass (``ls.forward``, through
:class:`experiments.training.LSTM`); gates are held at 1 or 0 by weights 0 and a bias whose σ
rounds to exactly that value (:data:`experiments.training.OPEN_BIAS`, :data:`CLOSED_BIAS`), so a
"held" model is run by the same forward pass. Arrays: T steps, n_a (or n_h) units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import lstm_symbolic as ls

from . import training as T

__all__ = [
    "CLOSED_BIAS",
    "text_run",
    "hold_gate",
    "gate_statistics",
    "candidate_input_share",
    "reset_recovery",
    "step_jacobians",
    "jacobian_norms",
    "float32_deviation",
    "autonomous_attractors",
]

#: Bias of a gate held shut: e^800 overflows to +inf in float64, so σ(−800) = 1/(1 + inf) = 0 exactly.
CLOSED_BIAS = -800.0


def text_run(cell: T.Cell, params: dict, idx: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Signals of reading ``idx[:-1]`` from the zero state (each (T, n)) and the per-step losses
    −log y⟨t⟩[idx[t+1]] (T,)."""
    with np.errstate(**T.FP_ERRORS):
        cache, _ = cell.forward(params, np.asarray(idx)[:-1, None], cell.zero_state(1, params["W_y"].shape[1]))
        sig = {k: v[:, 0] for k, v in cache.items()}
        logits = sig["h"] @ params["W_y"].T + params["b_y"]
        m = logits.max(axis=-1, keepdims=True)
        log_y = logits - (m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)))
    return sig, -log_y[np.arange(len(idx) - 1), np.asarray(idx)[1:]]


def hold_gate(params: dict, gate: str, value: int) -> dict:
    """A copy of LSTM ``params`` with gate ``gate`` ("f", "u" or "o") held at exactly 1 or 0."""
    if gate not in ("f", "u", "o") or value not in (0, 1):
        raise ValueError("gate: f, u or o; value: 0 or 1")
    out = {k: v.copy() for k, v in params.items()}
    out[f"W_{gate}"] = np.zeros_like(params[f"W_{gate}"])
    out[f"b_{gate}"] = np.full_like(params[f"b_{gate}"], T.OPEN_BIAS if value == 1 else CLOSED_BIAS)
    return out


def _fractions(x: np.ndarray, edges: dict[str, Any]) -> dict[str, float]:
    return {name: float(np.mean(cond(x))) for name, cond in edges.items()}


def gate_statistics(sig: dict[str, np.ndarray]) -> dict[str, Any]:
    """Distributions of Γ_f, Γ_u, Γ_o over all unit-steps of an LSTM run, and what Γ_o removes.

    ``pruned``: among unit-steps where the cell's feature is present, |tanh c| > 1/2, the fraction
    Γ_o lets less than a tenth of through (Γ_o < 0.1); ``sparsity``: fractions of unit-steps with
    |tanh c| < 0.1 and with |a| < 0.1.
    """
    f, u, o, c, a = sig["f"], sig["u"], sig["o"], sig["c"], sig["a"]
    bands = {"below_0.1": lambda g: g < 0.1, "0.1_to_0.9": lambda g: (g >= 0.1) & (g <= 0.9), "above_0.9": lambda g: g > 0.9}
    present = np.abs(np.tanh(c)) > 0.5
    unit_mean_f = f.mean(axis=0)
    return {
        "forget": {**_fractions(f, bands), "below_0.5": float(np.mean(f < 0.5)),
                   "units_mean_above_0.99": int(np.sum(unit_mean_f > 0.99)), "min": float(f.min())},
        "update": _fractions(u, bands),
        "output": _fractions(o, bands),
        "pruned": float(np.mean(o[present] < 0.1)) if present.any() else 0.0,
        "present": float(np.mean(present)),
        "sparsity": {"tanh_c_below_0.1": float(np.mean(np.abs(np.tanh(c)) < 0.1)), "a_below_0.1": float(np.mean(np.abs(a) < 0.1))},
        "max_abs_c": float(np.abs(c).max()),
    }


def candidate_input_share(sig: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, float]:
    """How much of the candidate contribution Γ_u ⊙ c̃ the current character alone explains.

    R² of predicting Γ_u ⊙ c̃⟨t⟩ (all units) by its mean over the steps with the same input
    character x⟨t⟩ (the best function of x⟨t⟩ alone); the rest depends on a⟨t−1⟩. Also for Γ_o
    and Γ_f, for comparison.
    """
    x = np.asarray(idx)[:-1]

    def r2(v: np.ndarray) -> float:
        total = float(((v - v.mean(axis=0)) ** 2).sum())
        fitted = np.zeros_like(v)
        for k in np.unique(x):
            fitted[x == k] = v[x == k].mean(axis=0)
        return 1.0 - float(((v - fitted) ** 2).sum()) / total

    return {"candidate": r2(sig["u"] * sig["c_tilde"]), "output_gate": r2(sig["o"]), "forget_gate": r2(sig["f"])}


def reset_recovery(cell: T.LSTM, params: dict, idx: np.ndarray, positions: np.ndarray, horizon: int) -> dict[str, Any]:
    """Excess loss after setting c⟨t₀⟩ := 0 (a kept) or a⟨t₀⟩ := 0 (c kept), for each t₀ in
    ``positions``, over the next ``horizon`` predictions, against the unperturbed run.

    Returns, per reset, the mean over t₀ of the summed excess loss (nats) and of the excess at
    steps 1, 2, 5, 10, 20 after the reset.
    """
    sig, base = text_run(cell, params, idx)
    inputs = np.stack([np.asarray(idx)[p + 1:p + 1 + horizon] for p in positions], axis=1)  # (horizon, B)
    targets = np.stack([np.asarray(idx)[p + 2:p + 2 + horizon] for p in positions], axis=1)
    ref = np.stack([base[p + 1:p + 1 + horizon] for p in positions], axis=1)
    a0, c0 = sig["a"][positions], sig["c"][positions]
    out: dict[str, Any] = {}
    for name, state in (("reset_c", (a0, np.zeros_like(c0))), ("reset_a", (np.zeros_like(a0), c0))):
        with np.errstate(**T.FP_ERRORS):
            cache, _ = cell.forward(params, inputs, state)
            logits = cache["h"] @ params["W_y"].T + params["b_y"]
            m = logits.max(axis=-1, keepdims=True)
            log_y = logits - (m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)))
        loss = -np.take_along_axis(log_y, targets[:, :, None], axis=-1)[:, :, 0]
        excess = loss - ref
        out[name] = {"summed": float(excess.sum(axis=0).mean()),
                     "at_step": {str(k): float(excess[k - 1].mean()) for k in (1, 2, 5, 10, 20) if k <= horizon}}
    return out


def _flat(state: tuple) -> np.ndarray:
    return np.concatenate(state, axis=-1)


def step_jacobians(cell: T.Cell, params: dict, symbols: np.ndarray, states: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂step(s, x)/∂s of the full state s (LSTM: [a, c]; RNN, GRU: h) at each (symbols[t], states[t]),
    by central differences (step ``h``) through the cell's own forward pass: (T, d, d).

    ``symbols`` (T,) input indices, ``states`` (T, d); for a text run, states[t] = s⟨t⟩ (s⟨0⟩ = 0)
    and symbols[t] = idx[t] give J⟨t⟩ = ∂s⟨t+1⟩/∂s⟨t⟩.
    """
    d = states.shape[1]
    n = params["W_y"].shape[1]
    eye = np.eye(d) * h
    J = np.empty((len(symbols), d, d))
    for t, symbol in enumerate(symbols):
        pert = np.concatenate([states[t] + eye, states[t] - eye])  # (2d, d)
        state = tuple(pert[:, k * n:(k + 1) * n] for k in range(cell.n_state))
        with np.errstate(**T.FP_ERRORS):
            _, nxt = cell.forward(params, np.full((1, 2 * d), symbol), state)
        out = _flat(nxt)
        J[t] = ((out[:d] - out[d:]) / (2 * h)).T
    return J


def jacobian_norms(J: np.ndarray, starts: np.ndarray, ks: tuple[int, ...], blocks: dict[str, tuple[slice, slice]]) -> dict[str, Any]:
    """Median and 90th percentile over ``starts`` of the spectral norm of blocks of
    ∂s⟨t₀+k⟩/∂s⟨t₀⟩ = J⟨t₀+k−1⟩ ⋯ J⟨t₀⟩, for k in ``ks``."""
    kmax = max(ks)
    norms: dict[str, dict[int, list[float]]] = {b: {k: [] for k in ks} for b in blocks}
    for t0 in starts:
        P = np.eye(J.shape[1])
        for k in range(1, kmax + 1):
            P = J[t0 + k - 1] @ P
            if k in ks:
                for b, (rows, cols) in blocks.items():
                    norms[b][k].append(float(np.linalg.norm(P[rows, cols], 2)))
    return {b: {str(k): {"median": float(np.median(v)), "p90": float(np.percentile(v, 90))} for k, v in per_k.items()}
            for b, per_k in norms.items()}


def float32_deviation(cell: T.Cell, params: dict, idx: np.ndarray, at: tuple[int, ...]) -> dict[str, Any]:
    """Rounding-error growth: the same model run over the text in float32 and in float64.

    For each signal of the state (LSTM: c and a; RNN, GRU: h), the maximum over units of
    |s₃₂ − s₆₄| at the steps ``at`` and over the whole run, and max |s₆₄| for scale. The float64
    run is the cell's forward pass (``ls.forward`` for the LSTM); the float32 run is the same step
    on float32 arrays (``lstm_variant_forward`` for the LSTM, the cell's own forward otherwise).
    """
    inputs = np.asarray(idx)[:-1, None]
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    n = params["W_y"].shape[1]
    with np.errstate(**T.FP_ERRORS):
        ref, _ = cell.forward(params, inputs, cell.zero_state(1, n))
        if isinstance(cell, T.LSTM):
            z = np.zeros((1, n), np.float32)
            low = T.lstm_variant_forward(p32, np.eye(params["W_f"].shape[1] - n, dtype=np.float32)[inputs], z, z,
                                         normaliser=cell.normaliser, output_gate=cell.output_gate)
        else:
            low, _ = cell.forward(p32, inputs, tuple(s.astype(np.float32) for s in cell.zero_state(1, n)))
    names = ("c", "a") if isinstance(cell, T.LSTM) else ("h",)
    out: dict[str, Any] = {}
    for k in names:
        dev = np.abs(low[k][:, 0].astype(np.float64) - ref[k][:, 0]).max(axis=-1)
        out[k] = {"at_step": {str(t): float(dev[t - 1]) for t in at if t <= len(dev)}, "max": float(dev.max()),
                  "scale": float(np.abs(ref[k]).max())}
    return out


def autonomous_attractors(cell: T.LSTM, params: dict, symbol: int, starts: tuple[np.ndarray, np.ndarray], steps: int,
                          tol: float = 1e-9) -> dict[str, Any]:
    """Where the autonomous map (a, c) ↦ step(a, c, x = e_symbol) takes each of the initial states
    ``starts`` ((B, n_a) a and c) after ``steps`` steps (a multiple of 100).

    Per start, a⟨·⟩ (what the output layer and the gates see) ends ``fixed`` (its last step moved
    it by < ``tol``), in a ``cycle`` (it returns within ``tol`` after p = 2..50 steps) or
    ``unsettled``; a cell unit *drifts* if its c moved by more than 1 over the last 100 steps (a
    unit that counts: Γ_f ≈ 1 and a constant push). Returned: the counts of the three endings,
    the number of distinct fixed a (tolerance 10⁻⁶) — two or more means the constant input keeps
    a memory of the start in *which* attractor it reaches —, the most drifting units of any start
    and their largest step, and the spectral radius of the step's Jacobian at the final states
    (≈ 1: a neutral direction, the integrator; < 1: an attracting point).
    """
    a, c = starts
    B, n = a.shape
    inputs = np.full((100, B), symbol)
    for _ in range(max(1, steps // 100)):
        with np.errstate(**T.FP_ERRORS):
            cache, (a, c) = cell.forward(params, inputs, (a, c))
    ta, tc = cache["a"], cache["c"]  # the last 100 steps
    kinds = np.full(B, "unsettled", dtype=object)
    for p in range(50, 1, -1):
        kinds[np.abs(ta[-1] - ta[-1 - p]).max(axis=-1) < tol] = "cycle"
    kinds[np.abs(ta[-1] - ta[-2]).max(axis=-1) < tol] = "fixed"
    drifting = np.abs(tc[-1] - tc[0]) > 1.0  # (B, n)
    points: list[np.ndarray] = []
    for b in np.nonzero(kinds == "fixed")[0]:
        if not any(np.abs(ta[-1, b] - q).max() < 1e-6 for q in points):
            points.append(ta[-1, b])
    J = step_jacobians(cell, params, np.full(B, symbol), np.concatenate([ta[-1], tc[-1]], axis=-1))
    radii = np.abs(np.linalg.eigvals(J)).max(axis=-1)
    return {"a_ends": {k: int(np.sum(kinds == k)) for k in ("fixed", "cycle", "unsettled")},
            "distinct_fixed_a": len(points),
            "drifting_units": int(drifting.sum(axis=-1).max()),
            "largest_drift_step": float(np.abs(tc[-1] - tc[-2])[drifting].max()) if drifting.any() else 0.0,
            "spectral_radius": {"min": float(radii.min()), "median": float(np.median(radii)), "max": float(radii.max())}}
