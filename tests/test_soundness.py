"""Soundness of ``propagate``: every real trajectory lies inside every bound, zero tolerance.

Random small LSTMs (n_a ∈ {2, 3, 5}, n_x ∈ {1, 3}, with and without an output layer) at
several weight scales up to saturation (weights ±10, biases ±5), every kind of input set (Box,
Box over time, LinfBall with and without a batch axis, OneHot over a subset of tokens, per-step
sequences of mixed sets), horizons up to 50, initial states as arrays or Intervals. Members are
corners, random points, mixtures, and sequences found by hill climbing towards a bound on the
float forward pass; each is then run through the *exact* LSTM
(:func:`lstm_symbolic.reference.exact_trajectory`, mpmath) and compared exactly.

Also: a priori facts every bound must respect (gates in [0, 1], c̃, a in [−1, 1], y in [0, 1],
|c⟨t⟩| <= max|c⟨0⟩| + t), extreme magnitudes (weights ~1e-300, inputs ~1e150), the reference
checked against ``ls.forward`` and against itself at higher precision, and the checker shown to
catch a bound that is one ulp too tight.

Default run: about a minute. ``-m slow``: more models, more samples, longer horizons.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.reference import exact_trajectory, violations
from lstm_symbolic.testing import assert_sound, sample_sequences, search_extremes
from _models import random_inputs

DPS = 40  # 133 bits: far beyond float64, and fast


# --- random models and input sets ----------------------------------------------------------

SCALES = {"small": (0.5, 0.5), "medium": (3.0, 1.0), "saturating": (10.0, 5.0)}
KINDS = ("box", "box_time", "ball", "ball_batched", "onehot", "mixed_sequence")


def make_model(rng: np.random.Generator, n_a: int, n_x: int, n_y: int, scale: str) -> ls.LSTMWeights:
    ws, bs = SCALES[scale]
    kw: dict[str, Any] = {f"W_{g}": rng.uniform(-ws, ws, (n_a, n_a + n_x)) for g in "fuco"}
    kw.update({f"b_{g}": rng.uniform(-bs, bs, n_a) for g in "fuco"})
    if n_y:
        kw["W_y"] = rng.uniform(-ws, ws, (n_y, n_a))
        kw["b_y"] = rng.uniform(-bs, bs, n_y)
    return ls.LSTMWeights(**kw)


def make_inputs(rng: np.random.Generator, kind: str, n_x: int, T: int) -> tuple[Any, dict[str, Any]]:
    """An input set of ``kind`` and the extra propagate kwargs it needs (``steps``)."""
    return random_inputs(rng, kind, n_x, T, batch=3)


def make_initial(rng: np.random.Generator, n_a: int, style: str) -> tuple[Any, Any]:
    if style == "zeros":
        return None, None
    if style == "arrays":
        return rng.uniform(-1, 1, n_a), rng.uniform(-3, 3, n_a)
    a = rng.uniform(-1, 1, n_a)
    c = rng.uniform(-3, 3, n_a)
    ra, rc = rng.uniform(0, 0.5, n_a), rng.uniform(0, 1.0, n_a)
    return ls.Interval(np.clip(a - ra, -1, 1), np.clip(a + ra, -1, 1)), ls.Interval(c - rc, c + rc)


@dataclass(frozen=True)
class Case:
    n_a: int
    n_x: int
    n_y: int
    scale: str
    kind: str
    T: int
    init: str
    seed: int
    method: str = "interval"
    mode: str = "fast"

    def __str__(self) -> str:
        return f"{self.method}-{self.mode}-na{self.n_a}-nx{self.n_x}-ny{self.n_y}-{self.scale}-{self.kind}-T{self.T}-{self.init}"


def cases(count: int, seed: int, horizons: tuple[int, ...], method: str = "interval", mode: str = "fast") -> list[Case]:
    """``count`` cases cycling through every kind, scale, size and initial-state style."""
    rng = np.random.default_rng(seed)
    shapes = list(itertools.product((2, 3, 5), (1, 3), (0, 3)))
    out = []
    for i in range(count):
        n_a, n_x, n_y = shapes[i % len(shapes)]
        out.append(
            Case(
                n_a,
                n_x,
                n_y,
                list(SCALES)[(i // len(KINDS)) % len(SCALES)],
                KINDS[i % len(KINDS)],
                horizons[(i // 3) % len(horizons)],
                ("zeros", "arrays", "intervals")[(i // 2) % 3],
                int(rng.integers(2**31)),
                method,
                mode,
            )
        )
    return out


def build(case: Case):
    rng = np.random.default_rng(case.seed)
    w = make_model(rng, case.n_a, case.n_x, case.n_y, case.scale)
    inputs, kw = make_inputs(rng, case.kind, case.n_x, case.T)
    a0, c0 = make_initial(rng, case.n_a, case.init)
    trace = ls.propagate(w, inputs, a0=a0, c0=c0, method=case.method, mode=case.mode, **kw)
    return w, inputs, kw, a0, c0, trace


# --- the checks ------------------------------------------------------------------------------------


def _c0_max(c0: Any) -> float:
    if c0 is None:
        return 0.0
    if isinstance(c0, ls.Interval):
        return float(max(np.abs(c0.lo).max(), np.abs(c0.hi).max()))
    return float(np.abs(np.asarray(c0)).max())


def check_a_priori(trace: Any, c0: Any, T: int, exact_domains: bool = False) -> None:
    """Facts that hold for every LSTM, checked on the bounds (float comparisons, exact).

    Always exact: gates within [0, 1], c̃ within [−1, 1], y within [0, 1] (the library clamps
    these). For a (|a| < 1) and c (|c⟨t⟩| <= max|c⟨0⟩| + t: each step scales by Γ_f <= 1 and
    adds Γ_u c̃ with |Γ_u c̃| < 1) the interval bounds pick up one outward rounding per
    operation; unless ``exact_domains``, they may exceed the a priori value by that rounding
    only: 4 ulps for a, (t + 2) ulps relative for c⟨t⟩ — a gross-error check.
    """
    for name in ("f", "u", "o"):
        iv = getattr(trace, name)
        assert (iv.lo >= 0).all() and (iv.hi <= 1).all(), f"gate {name} bound leaves [0, 1]"
    iv = trace.c_tilde
    assert (iv.lo >= -1).all() and (iv.hi <= 1).all(), "c_tilde bound leaves [-1, 1]"
    if trace.y is not None:
        assert (trace.y.lo >= 0).all() and (trace.y.hi <= 1).all(), "y bound leaves [0, 1]"
    for name, iv in trace.signals().items():
        assert (iv.lo <= iv.hi).all() and not np.isnan(iv.lo).any() and not np.isnan(iv.hi).any(), name
        assert iv.shape[0] == T, name
    M = _c0_max(c0)
    steps = np.arange(1, T + 1, dtype=np.float64)
    cap_c = np.nextafter(M + steps, np.inf)  # M + t rounded up (one ulp covers its rounding)
    cap_a = 1.0
    if not exact_domains:
        cap_c = np.nextafter(cap_c * (1.0 + (steps + 2) * 2.0**-52), np.inf)
        cap_a = 1.0 + 4 * 2.0**-52
    cap_c = cap_c.reshape((T,) + (1,) * (trace.c.lo.ndim - 1))
    over = (trace.c.hi > cap_c) | (trace.c.lo < -cap_c)
    assert not over.any(), (
        f"c bound exceeds the a priori |c⟨t⟩| <= max|c⟨0⟩| + t at steps {np.argwhere(over)[:5, 0] + 1}: "
        f"lo {trace.c.lo[over][:3].tolist()}, hi {trace.c.hi[over][:3].tolist()} vs cap {np.broadcast_to(cap_c, over.shape)[over][:3].tolist()}"
    )
    over_a = (trace.a.hi > cap_a) | (trace.a.lo < -cap_a)
    assert not over_a.any(), (
        f"a bound leaves [-1, 1] (cap {cap_a!r}) at steps {np.argwhere(over_a)[:5, 0] + 1}: "
        f"lo {trace.a.lo[over_a][:3].tolist()}, hi {trace.a.hi[over_a][:3].tolist()}"
    )


def search_and_verify(w, inputs, kw, a0, c0, trace, T: int, rng: np.random.Generator, n_targets: int) -> None:
    """Hill-climb towards the bounds of c and a at the last step (and random other targets),
    then verify the found sequences exactly."""
    batched = trace.a.lo.ndim == 3
    names = [n for n in ("f", "u", "o", "c_tilde", "c", "a", "y") if getattr(trace, n) is not None]
    targets = [("c", T, int(rng.integers(w.n_a)), +1), ("a", T, int(rng.integers(w.n_a)), -1)]
    while len(targets) < n_targets:
        name = names[int(rng.integers(len(names)))]
        n = getattr(trace, name).lo.shape[-1]
        targets.append((name, int(rng.integers(1, T + 1)), int(rng.integers(n)), int(rng.choice([-1, 1]))))
    b = int(rng.integers(trace.a.lo.shape[1])) if batched else None
    steps = kw.get("steps")
    found = search_extremes(w, inputs, targets[:n_targets], steps=steps, a0=a0, c0=c0, b=b, seed=int(rng.integers(2**31)), restarts=3, sweeps=1)
    for seq in found:
        ex = exact_trajectory(w, seq.xs, seq.a0, seq.c0, dps=DPS)
        bad = violations(trace, ex, index=seq.b if batched else None)
        assert not bad, f"{seq.kind}: " + "; ".join(str(v) for v in bad[:5]) + f"\nxs={seq.xs.tolist()} a0={seq.a0.tolist()} c0={seq.c0.tolist()}"


def run_case(case: Case, samples: int, n_targets: int) -> None:
    w, inputs, kw, a0, c0, trace = build(case)
    check_a_priori(trace, c0, case.T)
    assert_sound(w, inputs, trace, samples=samples, seed=case.seed, dps=DPS, a0=a0, c0=c0)
    search_and_verify(w, inputs, kw, a0, c0, trace, case.T, np.random.default_rng(case.seed + 1), n_targets)


METHODS = ("interval", "symbolic", "linear", "best")
DEFAULT_CASES = [c for m in METHODS for c in cases(54, seed=11 + METHODS.index(m), horizons=(1, 6, 20, 50), method=m)]
DEFAULT_CASES += cases(18, seed=31, horizons=(1, 6, 20), mode="rigorous")
SLOW_CASES = [c for m in METHODS for c in cases(144, seed=12 + 7 * METHODS.index(m), horizons=(1, 10, 30, 50, 80), method=m)]
SLOW_CASES += [c for m in METHODS for c in cases(36, seed=41 + METHODS.index(m), horizons=(5, 30), method=m, mode="rigorous")]


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=str)
def test_sound_on_random_lstms(case: Case) -> None:
    run_case(case, samples=16 if case.T >= 20 else 30, n_targets=2 if case.T >= 20 else 4)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=str)
def test_sound_on_random_lstms_slow(case: Case) -> None:
    run_case(case, samples=40, n_targets=6)


# --- extreme magnitudes ------------------------------------------------------------------------


def _scaled_model(rng: np.random.Generator, n_a: int, n_x: int, w_scale: float, b_scale: float, n_y: int = 3) -> ls.LSTMWeights:
    kw: dict[str, Any] = {f"W_{g}": rng.uniform(-1, 1, (n_a, n_a + n_x)) * w_scale for g in "fuco"}
    kw.update({f"b_{g}": rng.uniform(-1, 1, n_a) * b_scale for g in "fuco"})
    kw["W_y"] = rng.uniform(-1, 1, (n_y, n_a)) * w_scale
    kw["b_y"] = rng.uniform(-1, 1, n_y) * b_scale
    return ls.LSTMWeights(**kw)


@pytest.mark.parametrize(
    "label, w_scale, b_scale, x_centre, x_eps",
    [
        ("tiny weights ~1e-300", 1e-300, 1e-300, 1.0, 0.5),
        ("tiny weights, subnormal products", 1e-300, 0.0, 1e-20, 1e-20),
        ("subnormal weights", 1e-320, 1e-320, 1.0, 0.5),
        ("huge inputs ~1e150", 1.0, 1.0, 1e150, 1e149),
        ("huge inputs and weights, products ~1e300", 1e150, 1.0, 1e150, 1e149),
        ("point inputs 1e150", 3.0, 0.0, 1e150, 0.0),
    ],
)
def test_extreme_magnitudes(label, w_scale, b_scale, x_centre, x_eps) -> None:
    rng = np.random.default_rng(abs(hash(label)) % 2**32)
    w = _scaled_model(rng, 3, 2, w_scale, b_scale)
    T = 6
    centre = x_centre * rng.choice([-1.0, 1.0], (T, 2)) * rng.uniform(0.5, 1.0, (T, 2))
    ball = ls.LinfBall(centre, x_eps)
    trace = ls.propagate(w, ball)
    check_a_priori(trace, None, T)
    assert_sound(w, ball, trace, samples=24, seed=1, dps=DPS)


def test_overflowing_preactivations() -> None:
    """Weights 1e160 against inputs 1e160: pre-activations overflow float64 (~1e320). The
    bounds must stay sound (saturated gates) — and propagate must not crash on numpy
    overflow warnings (warnings are errors in this suite, as in many users')."""
    rng = np.random.default_rng(5)
    w = _scaled_model(rng, 2, 2, 1e160, 1.0)
    ball = ls.LinfBall(1e160 * rng.choice([-1.0, 1.0], (4, 2)), 1e159)
    trace = ls.propagate(w, ball)
    check_a_priori(trace, None, 4)
    assert_sound(w, ball, trace, samples=12, seed=2, dps=DPS)


def test_large_output_weights() -> None:
    """Softmax logits differing by ~1e3 (exp overflows in float64): y bounds stay sound and
    propagate raises no floating-point warning."""
    rng = np.random.default_rng(6)
    w = _scaled_model(rng, 3, 1, 1.0, 1.0)
    w = ls.LSTMWeights(**{k: getattr(w, k) for k in ("W_f", "W_u", "W_c", "W_o", "b_f", "b_u", "b_c", "b_o")}, W_y=rng.uniform(-1, 1, (3, 3)) * 2000.0, b_y=np.zeros(3))
    box = ls.Box([-1.0], [1.0])
    trace = ls.propagate(w, box, steps=5)
    check_a_priori(trace, None, 5)
    assert_sound(w, box, trace, samples=16, seed=3, dps=DPS)


def test_interval_initial_states_batched() -> None:
    """a0, c0 as batched Intervals (B, n_a) with a batched ball: each entry checked."""
    rng = np.random.default_rng(8)
    w = make_model(rng, 3, 2, 3, "medium")
    B, T = 4, 8
    a0 = ls.Interval(rng.uniform(-1, 0, (B, 3)), rng.uniform(0, 1, (B, 3)))
    c0 = ls.Interval(rng.uniform(-4, 0, (B, 3)), rng.uniform(0, 4, (B, 3)))
    ball = ls.LinfBall(rng.normal(size=(T, B, 2)), 0.2)
    trace = ls.propagate(w, ball, a0=a0, c0=c0)
    assert trace.c.shape == (T, B, 3)
    check_a_priori(trace, c0, T)
    assert_sound(w, ball, trace, samples=24, seed=4, dps=DPS, a0=a0, c0=c0, search=4)


@pytest.mark.parametrize("label, w_scale, b_scale, x_scale", [("saturating", 10.0, 5.0, 1.0), ("huge inputs", 1.0, 1.0, 1e150)])
def test_bounds_within_a_priori_domains_exactly(label, w_scale, b_scale, x_scale) -> None:
    """|a⟨t⟩| <= 1 and |c⟨t⟩| <= max|c⟨0⟩| + t hold for every LSTM, so a bound beyond them
    is loose by construction: a cheap intersection with the a priori box would remove it.
    Strict (no rounding slack) — see check_a_priori for the relaxed check of the random cases."""
    rng = np.random.default_rng(21)
    w = _scaled_model(rng, 4, 2, w_scale, b_scale)
    T = 10
    ball = ls.LinfBall(x_scale * rng.normal(size=(T, 2)), 0.5 * x_scale)
    c0 = ls.Interval(-2.0 * np.ones(4), 2.0 * np.ones(4))
    trace = ls.propagate(w, ball, c0=c0)
    check_a_priori(trace, c0, T, exact_domains=True)


def test_symbolic_minimal_reproducer() -> None:
    """Smallest case found of the symbolic method excluding a real trajectory: n_a = n_x = 1,
    one step, zero initial state, x ∈ [0, 1]; c⟨1⟩ at x = 1 is −0.17446802…, the symbolic lower
    bound was −0.17336593. (Diagnosis in the report: the fresh error symbols of Γ_f, Γ_u, Γ_o
    and c̃ are appended by independent ``combine`` calls at the same column index, so they
    alias and cancel in the product relaxation.)"""
    w = ls.LSTMWeights(W_f=[[-1.7, -1.1]], W_u=[[1.2, 0.3]], W_c=[[-1.6, -0.3]], W_o=[[-0.1, -1.4]],
                       b_f=[0.5], b_u=[-0.8], b_c=[-0.2], b_o=[0.0])
    box = ls.Box([0.0], [1.0])
    for method in METHODS:
        trace = ls.propagate(w, box, steps=1, method=method)
        for x in (0.0, 0.5, 1.0):
            bad = violations(trace, exact_trajectory(w, np.array([[x]]), dps=DPS))
            assert not bad, f"method={method}, x={x}: " + "; ".join(map(str, bad))


def test_torch_bias_residual_is_part_of_the_model() -> None:
    """from_torch keeps the exact bias b_ih + b_hh as (float sum, residual). With W z = −1 and
    b_ih + b_hh = 1 + 2**-60, the pre-activation is exactly 2**-60: a bound built from the float
    sum alone (0) would exclude c̃ = tanh(2**-60) ≈ 2**-60."""
    n_a = 1
    W_ih = np.zeros((4, 1))
    W_ih[:, 0] = -1.0  # x = 1: W x = −1 for every gate
    mapping = {
        "weight_ih_l0": W_ih,
        "weight_hh_l0": np.zeros((4, n_a)),
        "bias_ih_l0": np.ones(4),
        "bias_hh_l0": np.full(4, 2.0**-60),
    }
    w = ls.LSTMWeights.from_torch(mapping)
    b, r = w.bias_exact("c")
    assert b[0] + 0.0 == 1.0 and r[0] == 2.0**-60  # the residual is kept exactly
    xs = np.ones((2, 1))
    ex = exact_trajectory(w, xs, dps=DPS)
    assert ex.c_tilde[0, 0] > 0  # the exact model sees the residual
    for method in METHODS:
        trace = ls.propagate(w, ls.Box(xs, xs), method=method)
        bad = violations(trace, ex)
        assert not bad, f"method={method}: " + "; ".join(map(str, bad))


def test_time_axis_of_length_one_broadcasts() -> None:
    rng = np.random.default_rng(13)
    w = make_model(rng, 3, 2, 3, "medium")
    box = ls.Box(-np.ones((1, 2)), np.ones((1, 2)))
    for method in METHODS:
        trace = ls.propagate(w, box, steps=7, method=method)
        assert trace.a.shape == (7, 3)
        assert_sound(w, box, trace, samples=16, seed=5, dps=DPS, search=2)


def test_batched_initial_state_with_unbatched_inputs() -> None:
    rng = np.random.default_rng(14)
    w = make_model(rng, 2, 1, 0, "saturating")
    a0 = ls.Interval(rng.uniform(-1, 0, (3, 2)), rng.uniform(0, 1, (3, 2)))
    c0 = rng.uniform(-2, 2, (3, 2))
    box = ls.Box([-0.5], [0.5])
    for method in METHODS:
        trace = ls.propagate(w, box, steps=6, a0=a0, c0=c0, method=method)
        assert trace.c.shape == (6, 3, 2)
        assert_sound(w, box, trace, samples=18, seed=6, dps=DPS, a0=a0, c0=c0)


# --- the checker can fail ---------------------------------------------------------------------


def test_checker_catches_a_one_ulp_too_tight_bound() -> None:
    """Shrink one bound by a single ulp at an attained value: assert_sound must raise, and name
    the signal and step."""
    rng = np.random.default_rng(9)
    w = make_model(rng, 2, 1, 0, "medium")
    x = np.array([[0.3], [-0.7], [0.1]])
    box = ls.Box(x, x)  # a point set: the trajectory is attained exactly
    trace = ls.propagate(w, box)
    ex = exact_trajectory(w, x, dps=DPS)
    v = ex.c[1, 0]
    hi = trace.c.hi.copy()
    lo = trace.c.lo.copy()
    # the largest float strictly below the exact value: a bound one ulp too tight
    f = float(v)
    below = f if mpmath.mpf(f) < v else float(np.nextafter(f, -np.inf))
    hi[1, 0] = below
    lo[1, 0] = min(lo[1, 0], below)

    class Shrunk:
        pass

    shrunk = Shrunk()
    for name in ("f", "u", "o", "c_tilde", "a", "y"):
        setattr(shrunk, name, getattr(trace, name))
    shrunk.c = ls.Interval(lo, hi)
    with pytest.raises(AssertionError, match=r"c⟨2⟩\[0\]"):
        assert_sound(w, box, shrunk, samples=3, dps=DPS)


# --- the reference itself --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_reference_matches_float_forward(seed: int) -> None:
    """``ls.forward`` (float64) and the exact trajectory agree to rounding error — a sanity check
    of the reference's equations (gate order, concatenation order, softmax)."""
    rng = np.random.default_rng(100 + seed)
    w = make_model(rng, 3, 2, 3, "small")
    xs = rng.normal(size=(15, 2))
    a0, c0 = rng.uniform(-1, 1, 3), rng.uniform(-2, 2, 3)
    run = ls.forward(w, xs, a0=a0, c0=c0)
    ex = exact_trajectory(w, xs, a0, c0, dps=DPS).to_float()
    for name in ("f", "u", "o", "c_tilde", "c", "a", "y"):
        err = np.abs(getattr(run, name) - ex[name])
        assert err.max() < 1e-13, f"{name}: float forward differs from the exact trajectory by {err.max()}"


def test_reference_is_stable_in_precision() -> None:
    """The trajectory at 40 and 100 digits agrees to ~40 digits (no precision-dependent bug)."""
    rng = np.random.default_rng(7)
    w = make_model(rng, 3, 3, 3, "saturating")
    xs = rng.normal(size=(12, 3))
    lo_p = exact_trajectory(w, xs, dps=40)
    hi_p = exact_trajectory(w, xs, dps=100)
    with mpmath.workdps(100):
        for name in ("f", "u", "o", "c_tilde", "c", "a", "y"):
            for p, q in zip(getattr(lo_p, name).ravel(), getattr(hi_p, name).ravel()):
                assert abs(p - q) <= mpmath.mpf(10) ** -35 * (1 + abs(q)), name


def test_reference_closed_form() -> None:
    """Zero weights: Γ = σ(b), c̃ = tanh(b_c), c⟨t⟩ = σ(b_f) c⟨t−1⟩ + σ(b_u) tanh(b_c) — by hand."""
    z = np.zeros((1, 2))
    w = ls.LSTMWeights(W_f=z, W_u=z, W_c=z, W_o=z, b_f=[0.5], b_u=[-1.0], b_c=[2.0], b_o=[0.0], W_y=np.array([[1.0], [-1.0]]), b_y=np.array([0.0, 0.0]))
    ex = exact_trajectory(w, np.zeros((3, 1)), c0=[1.0], dps=50)
    with mpmath.workdps(50):
        sig = lambda v: 1 / (1 + mpmath.exp(-v))  # noqa: E731
        c = mpmath.mpf(1)
        for t in range(3):
            c = sig(mpmath.mpf(0.5)) * c + sig(mpmath.mpf(-1)) * mpmath.tanh(2)
            assert abs(ex.c[t, 0] - c) < mpmath.mpf(10) ** -45
            a = mpmath.mpf(0.5) * mpmath.tanh(c)
            assert abs(ex.a[t, 0] - a) < mpmath.mpf(10) ** -45
            assert abs(ex.y[t, 0] - 1 / (1 + mpmath.exp(-2 * a))) < mpmath.mpf(10) ** -45
        assert ex.o[0, 0] == mpmath.mpf(0.5)  # σ(0) = 1/2 exactly


@pytest.mark.parametrize("magnitude", [1.0, 1e20, 1e60, 1e150])
@pytest.mark.parametrize("method", METHODS)
def test_point_inputs_give_point_like_bounds(magnitude: float, method: str) -> None:
    """Tightness sanity (not soundness): a point input set, at any magnitude, must give gate
    bounds a few ulps wide — the float64 midpoint-radius product allows it. (Found: a float32
    radius product overflows once |W||x| exceeds ~1e54, making every bound [0, 1].)"""
    rng = np.random.default_rng(15)
    w = make_model(rng, 2, 1, 0, "small")
    x = np.full((3, 1), magnitude)
    trace = ls.propagate(w, ls.Box(x, x), method=method)
    for name in ("f", "u", "o", "c_tilde"):
        width = getattr(trace, name).hi - getattr(trace, name).lo
        assert (width <= 1e-12).all(), f"{name}: point input x = {magnitude:g} gives widths {width.max():.3g}"
    assert_sound(w, ls.Box(x, x), trace, samples=2, dps=DPS)


def test_sequence_mixing_batched_and_unbatched_sets() -> None:
    """Per-step sets where some carry a batch axis (a (1, B, n_x) ball) and others do not
    (OneHot, a plain Box): unbatched steps broadcast over the batch."""
    rng = np.random.default_rng(16)
    w = make_model(rng, 3, 3, 3, "medium")
    B = 3
    sets = [
        ls.OneHot(3, allowed=[0, 2]),
        ls.LinfBall(rng.normal(size=(1, B, 3)), 0.1),
        ls.Box(-np.ones(3), np.ones(3)),
        ls.LinfBall(rng.normal(size=(1, B, 3)), 0.05),
        ls.OneHot(3),
    ]
    for method in METHODS:
        trace = ls.propagate(w, sets, method=method)
        assert trace.a.shape == (5, B, 3)
        check_a_priori(trace, None, 5)
        assert_sound(w, sets, trace, samples=24, seed=7, dps=DPS, search=3)


@pytest.mark.parametrize("module", ["lstm_symbolic.reference", "lstm_symbolic.testing"])
def test_docstring_examples_run(module: str) -> None:
    """The runnable examples in the docstrings of the reference and testing helpers."""
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result


def test_tightness_reports_attained_and_loose_bounds() -> None:
    """tightness(): 1 where the bound is attained (c̃⟨1⟩ = tanh(x) over a box, monotone), < 1
    for an artificially doubled bound."""
    from lstm_symbolic.testing import tightness

    w = ls.LSTMWeights(**{k: np.ones((1, 2)) for k in ("W_f", "W_u", "W_c", "W_o")}, **{k: np.zeros(1) for k in ("b_f", "b_u", "b_c", "b_o")})
    box = ls.Box([-1.0], [1.0])
    trace = ls.propagate(w, box, steps=2)
    r = tightness(w, box, trace, samples=64)
    assert r["c_tilde"][0, 0] > 0.999 and r["c_tilde"][0, 0] <= 1.0

    class Doubled:
        pass

    d = Doubled()
    for name in ("f", "u", "o", "c", "a", "y"):
        setattr(d, name, getattr(trace, name))
    d.c_tilde = ls.Interval(2 * trace.c_tilde.lo, 2 * trace.c_tilde.hi)
    r2 = tightness(w, box, d, samples=64)
    assert 0.49 < r2["c_tilde"][0, 0] < 0.51


@pytest.mark.parametrize("cap", [1, 8, 24])
@pytest.mark.parametrize("method", ["symbolic", "best"])
def test_symbolic_order_reduction_stays_sound(cap: int, method: str) -> None:
    """Order reduction (dropping small noise symbols into one fresh symbol per unit) only
    triggers past the symbol budget, which the random cases rarely reach; force it with a tiny
    cap (below the 8 carried units, every step merges everything but the fresh symbols)."""
    rng = np.random.default_rng(17 + cap)
    w = make_model(rng, 4, 2, 3, "medium")
    ball = ls.LinfBall(rng.normal(size=(12, 2, 2)), 0.3)
    a0 = ls.Interval(-0.2 * np.ones(4), 0.2 * np.ones(4))
    trace = ls.propagate(w, ball, a0=a0, method=method, max_symbols=cap)
    check_a_priori(trace, None, 12)
    assert_sound(w, ball, trace, samples=30, seed=8, dps=DPS, a0=a0, search=4)


# --- all-horizon invariants, replayed exactly --------------------------------------------------


INVARIANT_CASES = [(seed, scale, kind) for seed in range(4) for scale in ("small", "medium") for kind in ("box", "onehot")]


@pytest.mark.parametrize("seed, scale, kind", INVARIANT_CASES[:2] + INVARIANT_CASES[6:8])
def test_invariant_is_inductive_and_holds_exactly(seed: int, scale: str, kind: str) -> None:
    check_invariant(seed, scale, kind)


@pytest.mark.slow
@pytest.mark.parametrize("seed, scale, kind", INVARIANT_CASES)
def test_invariant_is_inductive_and_holds_exactly_slow(seed: int, scale: str, kind: str) -> None:
    check_invariant(seed + 1000, scale, kind)


def check_invariant(seed: int, scale: str, kind: str) -> None:
    """``ls.invariant`` claims a box B = A × C with (a⟨0⟩, c⟨0⟩) ∈ B and step(B, X) ⊆ B.
    Replayed with the exact LSTM: (1) one exact step from corners and random points of B, with
    inputs from X, lands in B (the inductive claim itself); (2) long exact trajectories from the
    initial state, with corner/random/searched inputs, stay in B at every step."""
    from lstm_symbolic.invariant import invariant

    rng = np.random.default_rng(300 + seed)
    n_a, n_x = 3, 2
    w = make_model(rng, n_a, n_x, 0, scale)
    X = ls.Box(-np.ones(n_x), np.ones(n_x)) if kind == "box" else ls.OneHot(n_x)
    c0 = ls.Interval(-0.5 * np.ones(n_a), 0.5 * np.ones(n_a))
    inv = invariant(w, X, c0=c0)
    assert inv.found, inv.reason
    A, C = inv.a, inv.c
    assert (A.lo <= 0).all() and (A.hi >= 0).all() and (C.lo <= c0.lo).all() and (C.hi >= c0.hi).all(), "init not in B"

    def inside(values: np.ndarray, iv: ls.Interval) -> list[str]:
        return [f"{mpmath.nstr(v, 20)} not in [{float(l)!r}, {float(h)!r}]" for v, l, h in zip(values, iv.lo, iv.hi) if v < float(l) or v > float(h)]

    # (1) one exact step from B
    for k in range(40):
        pick = rng.random(n_a) < 0.5
        a = np.where(pick, A.hi, A.lo) if k % 2 == 0 else np.clip(A.lo + (A.hi - A.lo) * rng.random(n_a), A.lo, A.hi)
        pick = rng.random(n_a) < 0.5
        c = np.where(pick, C.hi, C.lo) if k % 3 != 2 else np.clip(C.lo + (C.hi - C.lo) * rng.random(n_a), C.lo, C.hi)
        x = (np.where(rng.random(n_x) < 0.5, 1.0, -1.0) if kind == "box" else np.eye(n_x)[rng.integers(n_x)])[None, :]
        ex = exact_trajectory(w, x, a, c, dps=DPS)
        bad = inside(ex.a[0], A) + inside(ex.c[0], C)
        assert not bad, f"step(B) ⊄ B from a={a.tolist()}, c={c.tolist()}, x={x.tolist()}: {bad}"

    # (2) long trajectories from the initial set
    T = 120
    for k in range(4):
        c_start = np.where(rng.random(n_a) < 0.5, c0.hi, c0.lo)
        if kind == "box":
            xs = np.where(rng.random((T, n_x)) < 0.5, 1.0, -1.0) if k % 2 == 0 else rng.uniform(-1, 1, (T, n_x))
        else:
            xs = np.eye(n_x)[rng.integers(n_x, size=T)] if k % 2 == 0 else np.eye(n_x)[np.full(T, k % n_x)]
        ex = exact_trajectory(w, xs, None, c_start, dps=DPS)
        for t in range(T):
            bad = inside(ex.a[t], A) + inside(ex.c[t], C)
            assert not bad, f"trajectory leaves the invariant at step {t + 1}: {bad}"


# --- certify, replayed exactly ------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(3))
def test_certify_margins_are_lower_bounds(method: str, seed: int) -> None:
    """``ls.certify`` margins bound ``z_label − z_j`` at the last step from below for every
    sequence in the ball: checked on exact logits of corners, random members and sequences
    searched to shrink the margin (push y_label down, y_j up)."""
    rng = np.random.default_rng(400 + seed)
    w = make_model(rng, 4, 2, 3, "medium")
    T = 6
    xs = rng.normal(size=(T, 2))
    label = int(ls.forward(w, xs).y[-1].argmax())
    eps = [1e-3, 0.05, 0.3][seed]
    cert = ls.certify(w, xs, eps, label, method=method)
    margins = np.asarray(cert.margins, dtype=np.float64)
    assert margins[label] == np.inf
    assert np.isfinite(np.delete(margins, label)).all(), "vacuous margins"
    if eps == 1e-3:  # non-vacuity: a tiny ball around a point is certified
        assert cert.certified, margins
    ball = ls.LinfBall(xs, eps)
    seqs = sample_sequences(w, ball, samples=24, seed=seed)
    targets = [("y", T, label, -1)] + [("y", T, j, +1) for j in range(3) if j != label]
    seqs += search_extremes(w, ball, targets, seed=seed, restarts=3, sweeps=2)
    for seq in seqs:
        ex = exact_trajectory(w, seq.xs, dps=DPS)
        with mpmath.workdps(DPS):
            for j in range(3):
                if j != label:
                    exact_margin = ex.z[T - 1, label] - ex.z[T - 1, j]
                    assert exact_margin >= float(margins[j]), (
                        f"{method}: margin bound {margins[j]!r} for class {j} above the exact margin "
                        f"{mpmath.nstr(exact_margin, 20)} ({seq.kind})"
                    )
    assert_sound(w, ball, cert.trace, samples=8, seed=seed, dps=DPS)


@pytest.mark.parametrize("layout", ["batched_ball", "mixed_sequence", "batched_initial_state"])
def test_symbolic_chunked_batches_stay_sound(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    """Large symbolic batches run in memory-bounded chunks; force tiny chunks and check every
    entry (inputs split per chunk, per-step sets with and without batch, batched a0/c0)."""
    import importlib

    P = importlib.import_module("lstm_symbolic.propagate")  # the module (the package exports a function of that name)
    if not hasattr(P, "_SYMBOLIC_MEMORY"):
        pytest.fail("propagate._SYMBOLIC_MEMORY is gone: update this test")
    monkeypatch.setattr(P, "_SYMBOLIC_MEMORY", 1)  # one entry per chunk
    rng = np.random.default_rng(18)
    w = make_model(rng, 3, 2, 3, "medium")
    B, T = 5, 6
    a0 = c0 = None
    if layout == "batched_ball":
        inputs: Any = ls.LinfBall(rng.normal(size=(T, B, 2)), 0.1)
    elif layout == "mixed_sequence":
        inputs = [ls.OneHot(2) if t % 2 else ls.LinfBall(rng.normal(size=(1, B, 2)), 0.1) for t in range(T)]
    else:
        inputs = [ls.Box(-np.ones(2), np.ones(2))] * T
        a0 = ls.Interval(rng.uniform(-1, 0, (B, 3)), rng.uniform(0, 1, (B, 3)))
        c0 = rng.uniform(-2, 2, (B, 3))
    trace = ls.propagate(w, inputs, a0=a0, c0=c0, method="symbolic")
    assert trace.a.shape == (T, B, 3)
    check_a_priori(trace, c0, T)
    assert_sound(w, inputs, trace, samples=30, seed=9, dps=DPS, a0=a0, c0=c0, search=3)


@pytest.mark.parametrize("method", ["linear", "best"])
def test_linear_chunked_batches_stay_sound(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """The backward passes' records bound linear (and best) batches too: one entry per chunk
    still bounds every entry, and the margins of a chunked certificate are those of each
    sample certified alone."""
    import importlib

    P = importlib.import_module("lstm_symbolic.propagate")
    if not hasattr(P, "_LINEAR_MEMORY"):
        pytest.fail("propagate._LINEAR_MEMORY is gone: update this test")
    rng = np.random.default_rng(19)
    w = make_model(rng, 3, 2, 3, "medium")
    B, T = 4, 5
    xs = rng.normal(size=(T, B, 2))
    ball = ls.LinfBall(xs, 0.1)
    alone = [ls.propagate(w, ls.LinfBall(xs[:, b], 0.1), method=method) for b in range(B)]
    monkeypatch.setattr(P, "_LINEAR_MEMORY", 1)  # one entry per chunk
    trace = ls.propagate(w, ball, method=method)
    assert trace.a.shape == (T, B, 3)
    for b in range(B):
        assert np.array_equal(trace.a.lo[:, b], alone[b].a.lo) and np.array_equal(trace.a.hi[:, b], alone[b].a.hi)
    assert_sound(w, ball, trace, samples=30, seed=10, dps=DPS, search=3)


@pytest.mark.parametrize("head", [False, True])
def test_interval_batches_in_threads_stay_sound(monkeypatch: pytest.MonkeyPatch, head: bool) -> None:
    """A large interval batch runs in parts on threads (propagate._workers): every part records
    its rows of the same arrays, so each batch entry gets the bounds of its part run alone —
    no row left unwritten, none swapped — and they contain the exact trajectories."""
    import importlib

    pytest.importorskip("threadpoolctl")
    P = importlib.import_module("lstm_symbolic.propagate")
    if not hasattr(P, "PARALLEL_ROWS"):
        pytest.fail("propagate.PARALLEL_ROWS is gone: update this test")
    monkeypatch.setattr(P, "PARALLEL_ROWS", 2)
    monkeypatch.setattr(P._threads, "idle_cpus", lambda: 3)
    rng = np.random.default_rng(23)
    w = make_model(rng, 3, 2, 4 if head else 0, "medium")
    B, T = 7, 6
    xs = rng.normal(size=(T, B, 2))
    ball = ls.LinfBall(xs, 0.1)
    from lstm_symbolic.model import as_model

    assert P._workers("interval", as_model(w), B, None, P._threads.idle_cpus()) == 3
    trace = ls.propagate(w, ball, method="interval")
    starts = [0, 3, 6]  # ceil(7 / 3) = 3 entries per part
    for s, e in zip(starts, starts[1:] + [B]):
        alone = ls.propagate(w, ls.LinfBall(xs[:, s:e], 0.1), method="interval")
        for name in ("f", "u", "o", "c_tilde", "c", "a") + (("y",) if head else ()):
            got, want = getattr(trace, name), getattr(alone, name)
            assert np.array_equal(got.lo[:, s:e], want.lo) and np.array_equal(got.hi[:, s:e], want.hi), (name, s)
    assert_sound(w, ball, trace, samples=30, seed=11, dps=DPS, search=3)
