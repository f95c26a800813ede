"""Three-way verdicts, branch and bound, every input set: exact checks against high-precision
trajectories (zero tolerance), and the bad-input errors."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest

import lstm_symbolic as ls
from lstm_symbolic.attack import margin_attack
from lstm_symbolic.certification.bab import SplitEngine
from lstm_symbolic.certification.regions import regions_of
from lstm_symbolic.propagate import unroll
from lstm_symbolic.reference import exact_trajectory
from _models import random_lstm

DPS = 50


def lstm(seed: int, n_a: int = 4, n_x: int = 3, n_y: int = 3, scale: float = 1.0) -> ls.LSTMWeights:
    return random_lstm(seed, n_a, n_x, n_y, scale, head_scale=2.0)


def exact_margins(w: ls.LSTMWeights, xs: np.ndarray, label: int) -> list:
    """Exact z_label − z_j at the last step (mpmath)."""
    ex = exact_trajectory(w, xs, dps=DPS)
    with mpmath.workdps(DPS):
        return [ex.z[-1, label] - ex.z[-1, j] for j in range(w.n_y)]


def assert_lower_bounds(w, margins, label, points) -> None:
    for x in points:
        em = exact_margins(w, x, label)
        for j in range(w.n_y):
            if j != label:
                assert em[j] >= float(margins[j]), f"margin bound {margins[j]!r} above the exact {mpmath.nstr(em[j], 17)} (class {j})"


def members(region, rng, k: int) -> list[np.ndarray]:
    """Random members and corners of a continuous region's exact inner box."""
    lo, hi = region.inner
    out = [np.where(rng.random(lo.shape) < 0.5, lo, hi) for _ in range(k)]
    out += [lo + (hi - lo) * rng.random(lo.shape) for _ in range(k)]
    return out


# --- verdicts -----------------------------------------------------------------------------------


def test_certified_falsified_unknown_and_never_both() -> None:
    w = lstm(3, scale=1.5)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(5, 12, w.n_x))
    labels = ls.forward(w, xs).y[-1].argmax(-1)
    labels[:3] = (labels[:3] + 1) % 3  # wrong labels: the centre itself is a counterexample
    cert = ls.certify(w, xs, 0.05, labels)
    assert cert.certified.shape == cert.falsified.shape == (12,)
    assert not (cert.certified & cert.falsified).any()
    assert cert.falsified[:3].all() and cert.count == int(cert.certified.sum())
    assert set(cert.status) <= {"certified", "falsified", "unknown"}
    assert (cert.min_margin > 0).tolist() == cert.certified.tolist()
    for b in range(12):
        ce = cert.counterexamples[b]
        assert (ce is not None) == bool(cert.falsified[b])
        if ce is not None:  # a member of the ball whose exact logits put another class first
            assert (np.abs(ce.xs - xs[:, b]) <= 0.05).all()
            em = exact_margins(w, ce.xs, int(labels[b]))
            assert em[ce.predicted] < 0 and ce.predicted != labels[b]


@pytest.mark.parametrize("seed", range(3))
def test_an_attacked_sample_is_never_certified(seed: int) -> None:
    """Soundness: any member an independent attack finds misclassified (exactly) belongs to a
    sample that is not certified; certified margins are below the exact margins of attacked
    and sampled members."""
    w = lstm(10 + seed, scale=2.0)
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(4, 10, w.n_x))
    labels = ls.forward(w, xs).y[-1].argmax(-1)
    eps = [0.05, 0.15, 0.3][seed]
    cert = ls.certify(w, xs, eps, labels, budget=0.3, seed=seed)
    _, regions, _ = regions_of(w.to_model(), xs, eps, None, False)
    lo = np.stack([r.inner[0] for r in regions], axis=1)
    hi = np.stack([r.inner[1] for r in regions], axis=1)
    cand, fm = margin_attack(w, lo, hi, labels, restarts=6, iterations=30, seed=99 + seed)
    for b in range(10):
        pts = [cand[:, b]] + members(regions[b], rng, 3)
        if cert.certified[b]:
            assert_lower_bounds(w, cert.margins[b], int(labels[b]), pts)
        for x in pts:
            em = exact_margins(w, x, int(labels[b]))
            if min(em[j] for j in range(w.n_y) if j != labels[b]) < 0:
                assert not cert.certified[b], "a sample with an exact counterexample was certified"


def test_unbatched_fields_are_scalars() -> None:
    w = lstm(7, scale=0.5)
    xs = np.random.default_rng(3).normal(size=(5, w.n_x))
    label = int(ls.forward(w, xs).y[-1].argmax())
    cert = ls.certify(w, xs, 1e-3, label)
    assert cert.certified and not cert.falsified and cert.status == "certified"
    assert cert.margins.shape == (w.n_y,) and cert.margins[label] == np.inf and cert.count == 1
    assert cert.counterexamples is None and cert.trace.a.shape == (5, w.n_a)


def test_optimised_slopes_never_lower_the_margins() -> None:
    w = lstm(5, n_a=6, scale=1.2)
    xs = np.random.default_rng(1).normal(size=(6, 8, w.n_x))
    labels = ls.forward(w, xs).y[-1].argmax(-1)
    plain = ls.certify(w, xs, 0.08, labels, optimise=0, attack=False)
    opt = ls.certify(w, xs, 0.08, labels, optimise=10, attack=False)
    assert (opt.margins >= plain.margins).all() and opt.count >= plain.count


# --- branch and bound ----------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["input", "activation"])
def test_branch_and_bound_certificates_hold_exactly(split: str) -> None:
    w = lstm(21, n_a=3, n_x=2, scale=1.5)
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(3, 16, w.n_x))
    labels = ls.forward(w, xs).y[-1].argmax(-1)
    eps = 0.25
    plain = ls.certify(w, xs, eps, labels, attack=False)
    bab = ls.certify(w, xs, eps, labels, budget=2.0, split=split, max_leaves=200, attack=True)
    assert bab.count >= plain.count
    _, regions, _ = regions_of(w.to_model(), xs, eps, None, False)
    gained = 0
    for b in range(16):
        if bab.certified[b]:
            assert bab.margins[b].min() > 0
            assert_lower_bounds(w, bab.margins[b], int(labels[b]), members(regions[b], rng, 4))
            gained += not plain.certified[b]
    assert gained > 0, "branching should certify some sample here"
    assert all(d is None or d.split == split for d in bab.details)


def test_branch_and_bound_is_deterministic_with_a_leaf_limit() -> None:
    w = lstm(21, n_a=3, n_x=2, scale=1.5)
    xs = np.random.default_rng(4).normal(size=(3, 6, w.n_x))
    labels = ls.forward(w, xs).y[-1].argmax(-1)
    runs = [ls.certify(w, xs, 0.25, labels, budget=60, max_leaves=24, split="activation", seed=1) for _ in range(2)]
    assert runs[0].status.tolist() == runs[1].status.tolist()
    assert np.array_equal(runs[0].margins, runs[1].margins) and np.array_equal(runs[0].branches, runs[1].branches)


def test_split_engine_marks_disjoint_constraints_infeasible() -> None:
    """A split constraint disjoint from a node's bounds marks that entry infeasible (and is not
    imposed, so no engine assertion fires); an overlapping one tightens the node."""
    w = lstm(2)
    xs = np.random.default_rng(0).normal(size=(4, w.n_x))
    ball = ls.LinfBall(np.repeat(xs[:, None], 3, axis=1), 0.01)
    engines = []

    def hook(cons):
        def h(engine, idx):
            e = SplitEngine(engine, cons)
            engines.append(e)
            return e
        return h

    _, fin = unroll(w, ball, engine_hook=hook({}))
    lo, hi = engines[-1].pre[(1, 0)]
    mid = lo[0, 0] * 0.5 + hi[0, 0] * 0.5
    c_lo, c_hi = np.full((3, lo.shape[1]), -np.inf), np.full((3, lo.shape[1]), np.inf)
    c_hi[0, 0] = lo[0, 0] - 1.0  # entry 0: p <= below its lower bound: empty
    c_hi[1, 0] = mid  # entry 1: the lower half
    _, fin = unroll(w, ball, engine_hook=hook({(1, 0): (c_lo, c_hi)}))
    e = engines[-1]
    assert e.infeasible.tolist() == [True, False, False]
    assert e.pre[(1, 0)][1][1, 0] <= mid and abs(e.pre[(1, 0)][1][2, 0] - hi[2, 0]) < 1e-12  # entry 2: untouched


# --- input sets ------------------------------------------------------------------------------------


def test_clipped_balls_certify_soundly_and_counterexamples_stay_in_the_box() -> None:
    w = lstm(8, scale=1.5)
    rng = np.random.default_rng(2)
    xs = rng.random((4, 10, w.n_x))
    xs[:, :, 0] = 0.0  # on the box's edge: clipping halves those coordinates
    labels = ls.forward(w, xs).y[-1].argmax(-1)
    labels[0] = (labels[0] + 1) % 3
    plain = ls.certify(w, xs, 0.1, labels)
    clipped = ls.certify(w, xs, 0.1, labels, clip=(0.0, 1.0))
    assert (clipped.margins >= plain.margins).all()
    _, regions, _ = regions_of(w.to_model(), xs, 0.1, (0.0, 1.0), False)
    for b in range(10):
        ce = clipped.counterexamples[b]
        if ce is not None:
            assert ((ce.xs >= 0) & (ce.xs <= 1)).all() and (np.abs(ce.xs - xs[:, b]) <= 0.1).all()
        if clipped.certified[b]:
            pts = members(regions[b], rng, 3)
            assert all(((p >= 0) & (p <= 1)).all() for p in pts)
            assert_lower_bounds(w, clipped.margins[b], int(labels[b]), pts)
    assert clipped.falsified[0]


def _token_model(seed: int) -> ls.LSTMWeights:
    return lstm(seed, n_a=3, n_x=5, n_y=3, scale=1.5)


def _all_sequences(allowed: list) -> list[tuple]:
    return list(itertools.product(*[list(a) for a in allowed]))


@pytest.mark.parametrize("seed", range(3))
def test_token_sets_agree_with_exhaustive_enumeration(seed: int) -> None:
    """"Any of these tokens at these positions": certified means every sequence keeps the label
    exactly; falsified comes with a sequence of the set that does not."""
    w = _token_model(40 + seed)
    allowed = [[0, 1], [2], [1, 3, 4]]
    sets = [ls.OneHot(5, a) for a in allowed]
    eye = np.eye(5)
    base = eye[[a[0] for a in allowed]]
    label = int(ls.forward(w, base).y[-1].argmax())
    cert = ls.certify(w, sets, None, label, budget=2.0)
    worst = min(min(m for j, m in enumerate(exact_margins(w, eye[list(s)], label)) if j != label) for s in _all_sequences(allowed))
    if cert.certified:
        assert worst > 0
        for s in _all_sequences(allowed):
            assert_lower_bounds(w, cert.margins, label, [eye[list(s)]])
    elif cert.falsified:
        ce = cert.counterexamples
        toks = ce.xs.argmax(-1)
        assert all(int(toks[t]) in allowed[t] for t in range(3)) and worst < 0
    else:
        pytest.fail("token sets this small are decided by branching to single sequences")


@pytest.mark.parametrize("k", [0, 1, 2])
def test_substitution_budget_agrees_with_enumeration(k: int) -> None:
    w = _token_model(7)
    base = [0, 1, 2, 3]
    syn = [[4], [3, 4], [], [0, 1]]
    s = ls.Substitutions(5, base, syn, k)
    eye = np.eye(5)
    label = int(ls.forward(w, eye[base]).y[-1].argmax())
    cert = ls.certify(w, s, None, label, budget=5.0)
    seqs = [q for q in _all_sequences(s.allowed) if sum(int(q[t] != base[t]) for t in range(4)) <= k]
    worst = min(min(m for j, m in enumerate(exact_margins(w, eye[list(q)], label)) if j != label) for q in seqs)
    assert cert.status != "unknown"
    assert cert.certified == (worst > 0)
    if cert.falsified:
        q = cert.counterexamples.xs.argmax(-1)
        assert sum(int(q[t] != base[t]) for t in range(4)) <= k
    else:
        for q in seqs:
            assert_lower_bounds(w, cert.margins, label, [eye[list(q)]])


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, argument",
    [
        ({"labels": 7}, "labels"),
        ({"labels": -1}, "labels"),
        ({"labels": 1.5}, "labels"),
        ({"labels": None}, "labels"),
        ({"eps": -1.0}, "eps"),
        ({"eps": None}, "eps"),
        ({"xs_or_sets": np.zeros((3, 5))}, "xs"),
        ({"method": "nope"}, "method"),
        ({"budget": -1.0}, "budget"),
        ({"budget": "5"}, "budget"),
        ({"split": "nope"}, "split"),
        ({"optimise": -2}, "optimise"),
        ({"clip": (0.0,)}, "clip"),
    ],
)
def test_bad_input_names_the_argument(change: dict, argument: str) -> None:
    w = lstm(0)
    args = {"model": w, "xs_or_sets": np.zeros((3, w.n_x)), "eps": 0.1, "labels": 0} | change
    with pytest.raises(ls.InputError, match=f"^{argument}:"):
        ls.certify(**args)


def test_eps_with_a_token_set_and_optimise_with_interval_are_refused() -> None:
    w = _token_model(1)
    with pytest.raises(ls.InputError, match="^eps:.*token set"):
        ls.certify(w, [ls.OneHot(5)] * 3, 0.1, 0)
    with pytest.raises(ls.InputError, match="^eps:"):
        ls.certify(w, ls.Substitutions(5, [0, 1], [2], 1), 0.1, 0)
    with pytest.raises(ls.InputError, match="^optimise:"):
        ls.certify(w, np.zeros((3, 5)), 0.1, 0, method="interval", optimise=5)


def test_a_model_without_output_layer_is_refused() -> None:
    rng = np.random.default_rng(0)
    w = ls.LSTMWeights(**{f"W_{g}": rng.normal(size=(2, 3)) for g in "fuco"}, **{f"b_{g}": rng.normal(size=2) for g in "fuco"})
    with pytest.raises(ls.InputError, match="^model:.*output layer"):
        ls.certify(w, np.zeros((3, 1)), 0.1, 0)
    with pytest.raises(ls.InputError, match="^model:"):
        ls.certify("not a model", np.zeros((3, 1)), 0.1, 0)


@pytest.mark.parametrize("seed", range(4))
def test_small_token_sets_are_decided_member_by_member_exactly(seed: int) -> None:
    """Token and substitution sets small enough to enumerate are decided exactly: certified iff
    every member's exact margins are positive, the reported margins below every member's exact
    ones, and a falsified set's counterexample one of its members."""
    import itertools

    import mpmath

    from lstm_symbolic.reference import exact_trajectory

    rng = np.random.default_rng(seed)
    n_x = 4
    w = ls.LSTMWeights(**{f"W_{g}": rng.normal(scale=1.5, size=(3, 3 + n_x)) for g in "fuco"},
                       **{f"b_{g}": rng.normal(size=3) for g in "fuco"}, W_y=rng.normal(scale=2, size=(3, 3)), b_y=rng.normal(size=3))
    allowed = [[0, 1], [2], [0, 1, 3], [1, 2]]
    sets = [ls.OneHot(n_x, a) for a in allowed]
    base = [a[0] for a in allowed]
    label = int(ls.forward(w, np.eye(n_x)[base]).y[-1].argmax())
    cert = ls.certify(w, sets, None, label)
    exact_min = []
    with mpmath.workdps(40):
        for seq in itertools.product(*allowed):
            z = exact_trajectory(w, np.eye(n_x)[list(seq)], dps=40).z[-1]
            exact_min.append(min(z[label] - z[j] for j in range(3) if j != label))
            for j in range(3):
                if j != label:
                    assert mpmath.mpf(float(cert.margins[j])) <= z[label] - z[j]
    assert cert.certified == (min(exact_min) > 0)
    assert cert.falsified == (min(exact_min) < 0)
    if cert.falsified:
        toks = cert.counterexamples.xs.argmax(axis=1).tolist()
        assert all(t in a for t, a in zip(toks, allowed))
