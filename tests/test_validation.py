"""The one validator (``finite_array`` / ``real_array``) and the ``Interval`` constructor: a
number reaches a bound only if float64 holds it exactly. Complex, boolean, string and object
input, and integers float64 would round or cannot hold, are refused with an ``InputError``
naming the argument — never a silent cast, a bare numpy/Python error, or a NaN."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lstm_symbolic as ls
from lstm_symbolic._validate import finite_array, real_array
from lstm_symbolic.errors import InputError
from _models import random_lstm


def model(n_a: int = 3, n_x: int = 2, n_y: int | None = 4, seed: int = 0) -> ls.LSTMWeights:
    return random_lstm(seed, n_a, n_x, n_y)


def refused(name: str, *fragments: str):
    """``pytest.raises`` for an InputError naming ``name`` first, with every fragment."""

    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(InputError)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self.ctx.__exit__(*exc)
            msg = str(self.info.value)
            assert msg.startswith(f"{name}: expected "), msg
            for f in fragments:
                assert f in msg, (f, msg)
            return suppressed

    return _Check()


# --- finite_array: what is refused ----------------------------------------------------------------

COMPLEX = [np.array([1.0 + 2.0j]), np.array([1.0 + 0.0j]), [1.0, 2j], 1j, np.complex64(1)]


@pytest.mark.parametrize("value", COMPLEX, ids=lambda v: type(v).__name__)
def test_complex_is_refused(value) -> None:
    with refused("x", "real numbers", "complex"):
        finite_array(value, "x")


@pytest.mark.parametrize(
    "value, fragment",
    [
        (np.array([True, False]), "bool"),
        ([True, 0.5], "booleans"),
        (True, "booleans"),
        (np.array(["1", "2"]), "string"),
        ("3", "'3'"),
        (["1.5"], "'1.5'"),
        (np.array([1, "a"], dtype=object), "'a'"),
        (np.array([1.0, None], dtype=object), "NoneType"),
        (None, "NoneType"),
        ({1, 2}, "set"),
        ([[1, 2], [3]], "ragged"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64"),
    ],
)
def test_non_numbers_are_refused(value, fragment) -> None:
    with refused("x", fragment):
        finite_array(value, "x")


@pytest.mark.parametrize(
    "value",
    [[2**53 + 1], 2**53 + 1, [0.5, 2**53 + 1], np.array([2**53 + 1]), np.array([2**63 - 1]),
     np.array([2**64 - 1], dtype=np.uint64), [-(2**60) - 1]],
    ids=["list", "scalar", "mixed-with-float", "int64", "int64-max", "uint64-max", "negative"],
)
def test_integers_float64_would_round_are_refused(value) -> None:
    with refused("W_f", "exactly representable in float64", "would round"):
        finite_array(value, "W_f")


@pytest.mark.parametrize("value", [10**400, [0.5, -(10**400)], Fraction(10**400, 3)])
def test_numbers_beyond_float64_range_are_refused(value) -> None:
    with refused("x", "float64 range"):
        finite_array(value, "x")  # not OverflowError


@pytest.mark.parametrize("value", [Fraction(1, 3), Decimal("0.1"), [Fraction(1, 2), Fraction(1, 10)]])
def test_exact_types_float64_would_round_are_refused(value) -> None:
    with refused("x", "exactly representable"):
        finite_array(value, "x")


@pytest.mark.skipif(np.finfo(np.longdouble).nmant <= 52, reason="longdouble is float64 on this platform")
def test_wider_floats_float64_would_round_are_refused() -> None:
    third = np.longdouble(1) / 3
    with refused("x", "exactly representable"):
        finite_array(np.array([0.5, third]), "x")
    assert finite_array(np.array([0.5], dtype=np.longdouble), "x").tolist() == [0.5]


# --- finite_array: what is accepted, exactly --------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ([1, 2.5], [1.0, 2.5]),
        ([2**53, -(2**53)], [2.0**53, -(2.0**53)]),
        ([2**60, 10**20, 2**1023], [2.0**60, 1e20, 2.0**1023]),  # large but exact
        (np.array([2**62, -(2**63)]), [2.0**62, -(2.0**63)]),
        (np.array([0.1], dtype=np.float32), [float(np.float32(0.1))]),
        (np.float16(0.1), float(np.float16(0.1))),
        ([Fraction(1, 2), Decimal("0.25")], [0.5, 0.25]),
        (np.array([1, 2.0], dtype=object), [1.0, 2.0]),
        (np.array([np.float32(0.5), np.int8(3)], dtype=object), [0.5, 3.0]),
    ],
)
def test_exact_numbers_are_accepted(value, expected) -> None:
    arr = finite_array(value, "x")
    assert arr.dtype == np.float64 and arr.tolist() == expected


def test_finite_array_copies() -> None:
    src = np.zeros(3)
    out = finite_array(src, "x")
    out[0] = 1.0
    assert src[0] == 0.0


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.integers(), st.integers(-(2**70), 2**70), st.integers(2**52, 2**56)))
def test_an_integer_is_kept_exactly_or_refused(i: int) -> None:
    """Zero tolerance: every integer comes out equal to itself or raises InputError."""
    try:
        out = finite_array([i], "x")
    except InputError as exc:
        assert "float64" in str(exc)
        try:
            assert float(i) != i
        except OverflowError:
            pass
    else:
        assert int(out[0]) == i


# --- non-finite entries ------------------------------------------------------------------------------


def test_nan_scalar_message_has_no_index() -> None:
    with refused("eps", "finite number", "got nan") as info:
        finite_array(float("nan"), "eps")
    assert "[[]]" not in str(info.value) and " at " not in str(info.value)


def test_nan_array_message_names_indices() -> None:
    with refused("lo", "nan/inf", "at (0, 1), (1, 0)"):
        finite_array([[0.0, np.nan], [np.inf, 1.0]], "lo")


def test_linf_ball_nan_eps_is_named_clearly() -> None:
    with refused("eps", "finite number", "nan") as info:
        ls.LinfBall(np.zeros(3), float("nan"))
    assert "[[]]" not in str(info.value)


# --- torch tensors -----------------------------------------------------------------------------------


def test_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    assert finite_array(torch.tensor([0.5, 1.0], requires_grad=True), "x").tolist() == [0.5, 1.0]
    assert finite_array(torch.tensor([0.1], dtype=torch.bfloat16), "x").tolist() == [float(torch.tensor(0.1, dtype=torch.bfloat16))]
    assert finite_array(torch.tensor([2**53]), "x").tolist() == [2.0**53]
    with refused("x", "complex"):
        finite_array(torch.tensor([1.0 + 2.0j]), "x")
    with refused("x", "bool"):
        finite_array(torch.tensor([True]), "x")
    with refused("x", "exactly representable"):
        finite_array(torch.tensor([2**53 + 1]), "x")


# --- every public entry point goes through it ---------------------------------------------------------


def test_weights_refuse_complex_bool_and_rounded_ints() -> None:
    arrays = model().to_arrays()
    for bad, fragment in ((arrays["W_f"] + 1j, "complex"), (arrays["W_f"] > 0, "bool"),
                          (np.where(arrays["W_f"] > 0, 2**53 + 1, 0), "exactly representable")):
        with refused("W_f", fragment):
            ls.LSTMWeights(**(arrays | {"W_f": bad}))
    with refused("b_y", "complex"):
        ls.LSTMWeights(**(arrays | {"b_y": arrays["b_y"] + 0j}))


def test_from_torch_refuses_complex_tensors() -> None:
    torch = pytest.importorskip("torch")
    sd = {k: torch.tensor(v) for k, v in model(n_y=None).to_torch().items()}
    with refused("weight_ih_l0", "complex"):
        ls.LSTMWeights.from_torch(sd | {"weight_ih_l0": sd["weight_ih_l0"].to(torch.complex128)})


@pytest.mark.parametrize("make", [
    lambda z: ls.Box(z + 1j, z + 1),
    lambda z: ls.Box(z, z + 1 + 0j),
    lambda z: ls.LinfBall(z + 0j, 0.1),
    lambda z: ls.LinfBall(z, 0.1 + 0j),
], ids=["box-lo", "box-hi", "ball-center", "ball-eps"])
def test_input_sets_refuse_complex(make) -> None:
    with pytest.raises(InputError, match="complex"):
        make(np.zeros(2))


def test_forward_refuses_complex_xs_a0_c0() -> None:
    w = model()
    xs = np.zeros((3, 2))
    with refused("xs", "complex"):
        ls.forward(w, xs + 1j)
    with refused("a0", "complex"):
        ls.forward(w, xs, a0=np.zeros(3) + 1j)
    with refused("c0", "complex"):
        ls.forward(w, xs, c0=np.zeros(3) + 1j)


def test_certify_refuses_complex_numpy_xs() -> None:
    with pytest.raises(InputError, match="complex"):
        ls.certify(model(), np.zeros((3, 2)) + 1j, 0.1, 0)


def test_propagate_refuses_complex_interval_initial_state() -> None:
    with pytest.raises(InputError, match="complex"):
        ls.propagate(model(), ls.OneHot(2), steps=1, a0=ls.Interval(np.zeros(3) + 1j))


# --- Interval ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lo, fragment", [
    (10**400, "float64 range"),
    ([0.0, 2**53 + 1], "exactly representable"),
    (np.array([1.0 + 1.0j]), "complex"),
    (True, "booleans"),
    ("0.5", "'0.5'"),
])
def test_interval_refuses(lo, fragment) -> None:
    with refused("lo", fragment):
        ls.Interval(lo)


def test_interval_hi_and_other_entry_points() -> None:
    with refused("hi", "float64 range"):
        ls.Interval(0.0, 10**400)
    iv = ls.Interval([0.0], [1.0])
    with refused("x", "complex"):
        iv.contains(np.array([0.5 + 1j]))
    with refused("W", "complex"):
        np.array([[1.0 + 1j]]) @ iv
    with refused("lo", "exactly representable"):
        iv + (2**53 + 1)
    with refused("points", "complex"):
        ls.Interval.hull_of(np.array([1j, 2]))


def test_interval_accepts_exact_ints_and_infinite_ends() -> None:
    iv = ls.Interval([0, -(2**60)], [10**20, np.inf])
    assert iv.lo.tolist() == [0.0, -(2.0**60)] and iv.hi.tolist() == [1e20, np.inf]
    assert ls.Interval(np.float32(0.5)).lo == 0.5


def test_real_array_keeps_infinities_and_nan_for_interval_ends() -> None:
    out = real_array([-np.inf, 1, np.nan], "lo")
    assert out[0] == -np.inf and out[1] == 1.0 and np.isnan(out[2])


# --- known gaps outside this module's files (strict: they fail loudly once fixed) ---------------------


def test_propagate_refuses_complex_array_initial_state() -> None:
    with pytest.raises(InputError, match="^a0: .*complex"):
        ls.propagate(model(), ls.OneHot(2), steps=1, a0=np.zeros(3) + 1j)


def test_certify_refuses_complex_xs_naming_xs() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(InputError, match="^xs: .*complex"):
        ls.certify(model(), torch.zeros(3, 2, dtype=torch.complex128), 0.1, 0)


def test_bias_residual_must_be_a_mapping() -> None:
    w = model(n_y=None)
    kw = {k: v for k, v in w.to_arrays().items() if not k.startswith("bias_residual")}
    with refused("bias_residual", "mapping"):
        ls.LSTMWeights(**kw, bias_residual=[1])


def test_certify_unbatched_sample_with_a_batch_of_initial_states() -> None:
    w = model()
    xs = np.zeros((4, w.n_x))
    with refused("a0", "batch of 1"):
        ls.certify(w, xs, 0.01, 0, a0=np.zeros((3, w.n_a)))
