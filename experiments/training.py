"""Training small recurrent language models on CPU, float64: cells, backward passes, Adam, truncated BPTT.

The LSTM of ``DESIGN.md`` runs on the library's own forward pass (:func:`lstm_symbolic.forward`);
this module adds what the library does not need at run time: the backward pass, the optimiser
and the training loop. Three kinds of cell share one loop (``Cell``: ``init``, ``forward``,
``backward``):

* :class:`LSTM` — the seed's LSTM. With the default ``normaliser="tanh"`` and
  ``output_gate="sigmoid"`` its forward pass *is* ``ls.forward``. ``open_gates`` holds gates at 1
  (an ablation): their weights are 0 and their bias :data:`OPEN_BIAS` = 40, where σ(40) =
  1 − 4.2·10⁻¹⁸ rounds to exactly 1.0 in float64, and they are not trained — so the library's
  forward runs the ablated model exactly. The two variants the library does not implement,
  a = Γ_o ⊙ σ(c) (``normaliser="sigmoid"``) and Γ_o = tanh(W_o z + b_o) (``output_gate="tanh"``),
  run on :func:`lstm_variant_forward`, the same step with the activation swapped (in the default
  configuration it is bit-identical to ``ls.forward``: ``tests/test_experiments.py``).
* :class:`GRU` — Cho et al. (2014) as written by Jozefowicz et al. (2015):
  r = σ(W_r z + b_r), g = σ(W_g z + b_g), h̃ = tanh(W_h [r ⊙ h, x] + b_h), h' = g ⊙ h + (1 − g) ⊙ h̃.
* :class:`RNN` — Elman: h' = tanh(W [h, x] + b), the "long chain of transformations" of the notes.

Every cell reads one-hot inputs given as indices (T, B) and is read out by y = softmax(W_y h + b_y)
(h = a for the LSTM), optionally through inverted dropout on h. Every backward pass is checked
against central finite differences in ``tests/test_experiments.py``.

Loss: mean cross-entropy in nats per prediction over the targets ≥ 0 (−1 marks no prediction).
Optimiser: Adam (β = 0.9, 0.999, ε = 10⁻⁸) on the gradient clipped to global norm ``clip_norm``,
learning rate decaying along a cosine from ``learning_rate`` to ``learning_rate·final_lr_fraction``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

import lstm_symbolic as ls

__all__ = [
    "OPEN_BIAS",
    "FP_ERRORS",
    "Cell",
    "LSTM",
    "GRU",
    "RNN",
    "lstm_variant_forward",
    "init_params",
    "n_params",
    "Streams",
    "text_streams",
    "loss_and_grads",
    "sequence_losses",
    "TrainConfig",
    "History",
    "train",
]

#: Bias of a gate held open: σ(40) = 1/(1 + e^−40) and 1 + e^−40 rounds to 1.0 (e^−40 < 2^−53).
OPEN_BIAS = 40.0

# An overflow, a division by zero or a NaN is a bug and raises; underflow is harmless.
FP_ERRORS = {"over": "raise", "divide": "raise", "invalid": "raise", "under": "ignore"}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1/(1 + e^−x), the operations of the library's concrete σ (bit-identical results)."""
    with np.errstate(over="ignore"):
        e = np.exp(np.negative(x))
    e += 1.0
    return np.reciprocal(e, out=e)


def _one_hot(inputs: np.ndarray, n_x: int, dtype: Any = np.float64) -> np.ndarray:
    """(T, B) indices → (T, B, n_x) one-hot vectors."""
    return np.eye(n_x, dtype=dtype)[inputs]


class Cell:
    """A recurrent cell: its parameter keys, initialisation, forward and backward pass.

    ``forward(params, inputs, state)`` with inputs (T, B) int and state a tuple of (B, n) arrays
    returns ``(cache, final_state)``; ``cache["h"]`` (T, B, n) is what the output layer reads.
    ``backward(params, inputs, state, cache, d_h)`` returns the gradients of ``keys`` given
    d loss / d h (T, B, n) (truncated BPTT: the initial state is a constant).
    """

    name: ClassVar[str] = "cell"
    keys: ClassVar[tuple[str, ...]] = ()
    n_state: ClassVar[int] = 1

    @property
    def frozen(self) -> tuple[str, ...]:
        """Keys that training never updates."""
        return ()

    def init(self, rng: np.random.Generator, n_h: int, n_x: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def forward(self, params: dict, inputs: np.ndarray, state: tuple) -> tuple[dict, tuple]:
        raise NotImplementedError

    def backward(self, params: dict, inputs: np.ndarray, state: tuple, cache: dict, d_h: np.ndarray) -> dict:
        raise NotImplementedError

    def zero_state(self, batch: int, n_h: int) -> tuple:
        return tuple(np.zeros((batch, n_h)) for _ in range(self.n_state))


def _uniform(rng: np.random.Generator, n_h: int, shape: tuple[int, int]) -> np.ndarray:
    k = 1.0 / math.sqrt(n_h)  # PyTorch's default for its recurrent layers
    return rng.uniform(-k, k, size=shape)


# ---------------------------------------------------------------------------------------- LSTM

LSTM_GATES = ("f", "u", "c", "o")  # the library's stacking order
LSTM_KEYS = tuple(f"W_{g}" for g in LSTM_GATES) + tuple(f"b_{g}" for g in LSTM_GATES)


def lstm_variant_forward(params: dict, xs: np.ndarray, a0: np.ndarray, c0: np.ndarray, *,
                         normaliser: str = "tanh", output_gate: str = "sigmoid") -> dict[str, np.ndarray]:
    """The LSTM step of ``lstm_symbolic.lstm.cell_step`` with two activations made choosable.

    a⟨t⟩ = Γ_o ⊙ n(c⟨t⟩) with n = tanh (``normaliser="tanh"``) or σ; Γ_o = σ(W_o z + b_o) or
    tanh(W_o z + b_o) (``output_gate``). xs (T, B, n_x), a0 and c0 (B, n_a); returns the signals
    f, u, o, c_tilde, c, a as (T, B, n_a) arrays. Used only for the variants ``ls.forward`` does not
    implement; with the defaults it computes bit for bit what ``ls.forward`` computes.
    """
    n = a0.shape[1]
    W = np.concatenate([params[f"W_{g}"] for g in LSTM_GATES], axis=0)
    b = np.concatenate([params[f"b_{g}"] for g in LSTM_GATES])
    norm = np.tanh if normaliser == "tanh" else _sigmoid
    act_o = _sigmoid if output_gate == "sigmoid" else np.tanh
    out = {k: np.empty((xs.shape[0],) + a0.shape) for k in ("f", "u", "o", "c_tilde", "c", "a")}
    a, c = a0, c0
    for t in range(xs.shape[0]):
        pre = np.concatenate([a, xs[t]], axis=-1) @ W.T
        pre += b
        gate_forget = _sigmoid(pre[:, 0:n])
        gate_update = _sigmoid(pre[:, n:2 * n])
        c_tilde = np.tanh(pre[:, 2 * n:3 * n])
        gate_output = act_o(pre[:, 3 * n:4 * n])
        c = gate_forget * c + gate_update * c_tilde
        a = gate_output * norm(c)
        for k, v in (("f", gate_forget), ("u", gate_update), ("o", gate_output), ("c_tilde", c_tilde), ("c", c), ("a", a)):
            out[k][t] = v
    return out


@dataclass(frozen=True)
class LSTM(Cell):
    """The seed's LSTM (see the module docstring for the options).

    forget_bias: initial b_f (the other biases start at 0); open_gates: gates among "f", "u", "o"
    held at exactly 1; normaliser: "tanh" or "sigmoid" (a = Γ_o ⊙ n(c)); output_gate: "sigmoid"
    or "tanh".
    """

    forget_bias: float = 1.0
    open_gates: tuple[str, ...] = ()
    normaliser: str = "tanh"
    output_gate: str = "sigmoid"
    name: ClassVar[str] = "lstm"
    keys: ClassVar[tuple[str, ...]] = LSTM_KEYS
    n_state: ClassVar[int] = 2

    def __post_init__(self) -> None:
        if not set(self.open_gates) <= {"f", "u", "o"}:
            raise ValueError(f"open_gates: expected a subset of f, u, o, got {self.open_gates}")
        if self.normaliser not in ("tanh", "sigmoid") or self.output_gate not in ("sigmoid", "tanh"):
            raise ValueError("normaliser: tanh or sigmoid; output_gate: sigmoid or tanh")

    @property
    def frozen(self) -> tuple[str, ...]:
        return tuple(f"{p}_{g}" for g in self.open_gates for p in ("W", "b"))

    @property
    def library_forward(self) -> bool:
        """True when the forward pass is ``ls.forward`` itself."""
        return self.normaliser == "tanh" and self.output_gate == "sigmoid"

    def init(self, rng: np.random.Generator, n_h: int, n_x: int) -> dict[str, np.ndarray]:
        """W_* uniform ±1/√n_h (drawn in the order f, u, c, o), biases 0 except b_f = forget_bias."""
        params = {f"W_{g}": _uniform(rng, n_h, (n_h, n_h + n_x)) for g in LSTM_GATES}
        params.update({f"b_{g}": np.zeros(n_h) for g in LSTM_GATES})
        params["b_f"][:] = self.forget_bias
        for g in self.open_gates:
            params[f"W_{g}"] = np.zeros((n_h, n_h + n_x))
            params[f"b_{g}"] = np.full(n_h, OPEN_BIAS)
        return params

    def weights(self, params: dict) -> ls.LSTMWeights:
        """The library's model for ``params`` (recurrent part only)."""
        return ls.LSTMWeights(**{k: params[k] for k in LSTM_KEYS})

    def forward(self, params: dict, inputs: np.ndarray, state: tuple) -> tuple[dict, tuple]:
        a0, c0 = state
        xs = _one_hot(inputs, params["W_f"].shape[1] - params["W_f"].shape[0])
        if self.library_forward:
            run = ls.forward(self.weights(params), xs, a0, c0)
            sig = {k: getattr(run, k) for k in ("f", "u", "o", "c_tilde", "c", "a")}
        else:
            sig = lstm_variant_forward(params, xs, a0, c0, normaliser=self.normaliser, output_gate=self.output_gate)
        sig["h"] = sig["a"]
        return sig, (sig["a"][-1], sig["c"][-1])

    def backward(self, params: dict, inputs: np.ndarray, state: tuple, cache: dict, d_h: np.ndarray) -> dict:
        a_init, c_init = state
        T, B, n = cache["a"].shape
        n_x = params["W_f"].shape[1] - n
        W_a = np.concatenate([params[f"W_{g}"][:, :n] for g in LSTM_GATES], axis=0)
        g_W_a = np.zeros((4 * n, n))
        g_W_x = np.zeros((4 * n, n_x))
        g_b = np.zeros(4 * n)
        d_a_next = np.zeros((B, n))
        d_c_next = np.zeros((B, n))
        eye_x = np.eye(n_x)
        for t in range(T - 1, -1, -1):
            f, u, o = cache["f"][t], cache["u"][t], cache["o"][t]
            c_tilde, c = cache["c_tilde"][t], cache["c"][t]
            a_prev = cache["a"][t - 1] if t > 0 else a_init
            c_prev = cache["c"][t - 1] if t > 0 else c_init
            if self.normaliser == "tanh":
                n_c = np.tanh(c)
                dn_c = 1.0 - n_c**2
            else:
                n_c = _sigmoid(c)
                dn_c = n_c * (1.0 - n_c)
            d_a = d_h[t] + d_a_next
            d_o = d_a * n_c
            d_c = d_c_next + d_a * o * dn_c
            do_pre = o * (1.0 - o) if self.output_gate == "sigmoid" else 1.0 - o**2
            d_pre = np.concatenate(
                [
                    d_c * c_prev * f * (1.0 - f),  # Γ_f
                    d_c * c_tilde * u * (1.0 - u),  # Γ_u
                    d_c * u * (1.0 - c_tilde**2),  # c̃
                    d_o * do_pre,  # Γ_o
                ],
                axis=1,
            )
            g_W_a += d_pre.T @ a_prev
            g_W_x += d_pre.T @ eye_x[inputs[t]]
            g_b += d_pre.sum(axis=0)
            d_a_next = d_pre @ W_a
            d_c_next = d_c * f
        grads = {}
        for k, g in enumerate(LSTM_GATES):
            rows = slice(k * n, (k + 1) * n)
            grads[f"W_{g}"] = np.concatenate([g_W_a[rows], g_W_x[rows]], axis=1)
            grads[f"b_{g}"] = g_b[rows].copy()
        return grads


# ----------------------------------------------------------------------------------------- GRU

GRU_KEYS = ("W_r", "W_g", "W_h", "b_r", "b_g", "b_h")


@dataclass(frozen=True)
class GRU(Cell):
    """GRU, z = [h, x]: r = σ(W_r z + b_r), g = σ(W_g z + b_g), h̃ = tanh(W_h [r ⊙ h, x] + b_h),
    h' = g ⊙ h + (1 − g) ⊙ h̃ (Jozefowicz et al. 2015, eq. for the GRU; g is their z)."""

    name: ClassVar[str] = "gru"
    keys: ClassVar[tuple[str, ...]] = GRU_KEYS

    def init(self, rng: np.random.Generator, n_h: int, n_x: int) -> dict[str, np.ndarray]:
        params = {k: _uniform(rng, n_h, (n_h, n_h + n_x)) for k in ("W_r", "W_g", "W_h")}
        params.update({k: np.zeros(n_h) for k in ("b_r", "b_g", "b_h")})
        return params

    def forward(self, params: dict, inputs: np.ndarray, state: tuple) -> tuple[dict, tuple]:
        (h,) = state
        n = h.shape[1]
        xs = _one_hot(inputs, params["W_r"].shape[1] - n, params["W_r"].dtype)
        T = xs.shape[0]
        out = {k: np.empty((T,) + h.shape) for k in ("r", "g", "h_tilde", "h")}
        for t in range(T):
            z = np.concatenate([h, xs[t]], axis=-1)
            r = _sigmoid(z @ params["W_r"].T + params["b_r"])
            g = _sigmoid(z @ params["W_g"].T + params["b_g"])
            h_tilde = np.tanh(np.concatenate([r * h, xs[t]], axis=-1) @ params["W_h"].T + params["b_h"])
            h = g * h + (1.0 - g) * h_tilde
            out["r"][t], out["g"][t], out["h_tilde"][t], out["h"][t] = r, g, h_tilde, h
        return out, (h,)

    def backward(self, params: dict, inputs: np.ndarray, state: tuple, cache: dict, d_h: np.ndarray) -> dict:
        (h_init,) = state
        T, B, n = cache["h"].shape
        n_x = params["W_r"].shape[1] - n
        grads = {k: np.zeros_like(params[k]) for k in GRU_KEYS}
        eye_x = np.eye(n_x)
        d_next = np.zeros((B, n))
        for t in range(T - 1, -1, -1):
            r, g, h_tilde = cache["r"][t], cache["g"][t], cache["h_tilde"][t]
            h_prev = cache["h"][t - 1] if t > 0 else h_init
            x = eye_x[inputs[t]]
            dh = d_h[t] + d_next
            d_pre_h = dh * (1.0 - g) * (1.0 - h_tilde**2)
            d_pre_g = dh * (h_prev - h_tilde) * g * (1.0 - g)
            d_rh = d_pre_h @ params["W_h"][:, :n]
            d_pre_r = d_rh * h_prev * r * (1.0 - r)
            z = np.concatenate([h_prev, x], axis=-1)
            grads["W_h"] += d_pre_h.T @ np.concatenate([r * h_prev, x], axis=-1)
            grads["W_g"] += d_pre_g.T @ z
            grads["W_r"] += d_pre_r.T @ z
            grads["b_h"] += d_pre_h.sum(axis=0)
            grads["b_g"] += d_pre_g.sum(axis=0)
            grads["b_r"] += d_pre_r.sum(axis=0)
            d_next = dh * g + d_rh * r + d_pre_g @ params["W_g"][:, :n] + d_pre_r @ params["W_r"][:, :n]
        return grads


# ----------------------------------------------------------------------------------------- RNN


@dataclass(frozen=True)
class RNN(Cell):
    """Elman RNN: h' = tanh(W [h, x] + b)."""

    name: ClassVar[str] = "rnn"
    keys: ClassVar[tuple[str, ...]] = ("W", "b")

    def init(self, rng: np.random.Generator, n_h: int, n_x: int) -> dict[str, np.ndarray]:
        return {"W": _uniform(rng, n_h, (n_h, n_h + n_x)), "b": np.zeros(n_h)}

    def forward(self, params: dict, inputs: np.ndarray, state: tuple) -> tuple[dict, tuple]:
        (h,) = state
        xs = _one_hot(inputs, params["W"].shape[1] - h.shape[1], params["W"].dtype)
        out = np.empty((xs.shape[0],) + h.shape)
        for t in range(xs.shape[0]):
            h = np.tanh(np.concatenate([h, xs[t]], axis=-1) @ params["W"].T + params["b"])
            out[t] = h
        return {"h": out}, (h,)

    def backward(self, params: dict, inputs: np.ndarray, state: tuple, cache: dict, d_h: np.ndarray) -> dict:
        (h_init,) = state
        T, B, n = cache["h"].shape
        eye_x = np.eye(params["W"].shape[1] - n)
        g_W = np.zeros_like(params["W"])
        g_b = np.zeros_like(params["b"])
        d_next = np.zeros((B, n))
        for t in range(T - 1, -1, -1):
            h = cache["h"][t]
            h_prev = cache["h"][t - 1] if t > 0 else h_init
            d_pre = (d_h[t] + d_next) * (1.0 - h**2)
            g_W += d_pre.T @ np.concatenate([h_prev, eye_x[inputs[t]]], axis=-1)
            g_b += d_pre.sum(axis=0)
            d_next = d_pre @ params["W"][:, :n]
        return {"W": g_W, "b": g_b}


# ------------------------------------------------------------------------------- parameters


def init_params(cell: Cell, rng: np.random.Generator, n_h: int, n_x: int, n_y: int | None = None) -> dict[str, np.ndarray]:
    """The cell's parameters, then the output layer: W_y uniform ±1/√n_h (n_y, n_h), b_y = 0.

    The draws come in this order from ``rng`` (so the LSTM with seed 0 starts where the shipped
    demo model started).
    """
    params = cell.init(rng, n_h, n_x)
    params["W_y"] = _uniform(rng, n_h, (n_x if n_y is None else n_y, n_h))
    params["b_y"] = np.zeros(params["W_y"].shape[0])
    return params


def n_params(params: dict, frozen: Sequence[str] = ()) -> int:
    """Number of trained parameters (frozen keys excluded)."""
    return sum(int(v.size) for k, v in params.items() if k not in frozen)


# ------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Streams:
    """Parallel training streams: inputs and targets (T, B) int64, target −1 = no prediction.

    ``handoff``: at an epoch's end stream s hands its final state to stream s + 1 (stream 0 starts
    from zero) — for one text cut into consecutive pieces; otherwise every epoch starts from zero.
    """

    inputs: np.ndarray
    targets: np.ndarray
    handoff: bool = True

    @property
    def n_predictions(self) -> int:
        return int((self.targets >= 0).sum())


def text_streams(indices: np.ndarray, n_streams: int, *, train_until: int | None = None) -> Streams:
    """The predictions of ``indices`` (inputs 0..N−2, targets 1..N−1) cut into ``n_streams``
    contiguous streams of equal length, the last padded with masked targets.

    ``train_until``: only the targets of characters with index < ``train_until`` count (the rest
    is held out; its inputs are still read, as the text continues).
    """
    indices = np.asarray(indices, dtype=np.int64)
    n_pred = len(indices) - 1
    stream_len = -(-n_pred // n_streams)
    pad = stream_len * n_streams - n_pred
    targets = indices[1:].copy()
    if train_until is not None:
        targets[np.arange(1, len(indices)) >= train_until] = -1
    inputs = np.concatenate([indices[:-1], np.zeros(pad, np.int64)])
    targets = np.concatenate([targets, np.full(pad, -1, np.int64)])
    return Streams(inputs.reshape(n_streams, stream_len).T, targets.reshape(n_streams, stream_len).T)


# ------------------------------------------------------------------------------------- loss


def _output(params: dict, h: np.ndarray, targets: np.ndarray, keep: np.ndarray | None):
    """Cross-entropy of y = softmax(W_y (h ⊙ keep) + b_y), its gradient w.r.t. h, W_y, b_y."""
    hd = h if keep is None else h * keep
    logits = hd @ params["W_y"].T + params["b_y"]
    m = logits.max(axis=-1, keepdims=True)
    log_y = logits - (m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)))
    valid = targets >= 0
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise ValueError("targets: expected at least one entry >= 0")
    rows_t, rows_b = np.nonzero(valid)
    hit = (rows_t, rows_b, targets[valid])
    loss = -log_y[hit].sum() / n_valid
    d_logits = np.exp(log_y) * valid[:, :, None]
    d_logits[hit] -= 1.0
    d_logits /= n_valid
    n = h.shape[-1]
    g_W_y = d_logits.reshape(-1, d_logits.shape[-1]).T @ hd.reshape(-1, n)
    g_b_y = d_logits.reshape(-1, d_logits.shape[-1]).sum(axis=0)
    d_h = d_logits @ params["W_y"]
    if keep is not None:
        d_h = d_h * keep
    return float(loss), d_h, g_W_y, g_b_y


def loss_and_grads(cell: Cell, params: dict, inputs: np.ndarray, targets: np.ndarray, state: tuple | None = None,
                   keep: np.ndarray | None = None) -> tuple[float, dict, tuple]:
    """Mean cross-entropy of the targets ≥ 0 and its exact gradient by BPTT over one chunk.

    inputs, targets (T, B); state: the cell's initial state (default zeros), a constant;
    keep: optional (T, B, n_h) dropout multipliers on h (0 or 1/(1 − p)).
    Returns (loss, grads for ``cell.keys`` and W_y, b_y, final state).
    """
    inputs = np.asarray(inputs)
    targets = np.asarray(targets)
    n_h = params["W_y"].shape[1]
    if state is None:
        state = cell.zero_state(inputs.shape[1], n_h)
    with np.errstate(**FP_ERRORS):
        cache, final = cell.forward(params, inputs, state)
        loss, d_h, g_W_y, g_b_y = _output(params, cache["h"], targets, keep)
        grads = cell.backward(params, inputs, state, cache, d_h)
    grads["W_y"], grads["b_y"] = g_W_y, g_b_y
    return loss, grads, tuple(s.copy() for s in final)


def sequence_losses(cell: Cell, params: dict, indices: np.ndarray) -> np.ndarray:
    """−log y⟨t⟩[indices[t+1]] for t = 0..N−2: the text read as one sequence from the zero state."""
    indices = np.asarray(indices, dtype=np.int64)
    inputs = indices[:-1, None]
    with np.errstate(**FP_ERRORS):
        cache, _ = cell.forward(params, inputs, cell.zero_state(1, params["W_y"].shape[1]))
        logits = cache["h"][:, 0] @ params["W_y"].T + params["b_y"]
        m = logits.max(axis=-1, keepdims=True)
        log_y = logits - (m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True)))
    return -log_y[np.arange(len(inputs)), indices[1:]]


# ------------------------------------------------------------------------------------- train


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`train` (the demo model's are ``experiments.train_demo.DEMO``)."""

    n_h: int = 16
    epochs: int = 1500
    chunk_len: int = 32
    learning_rate: float = 2e-2
    final_lr_fraction: float = 0.05
    clip_norm: float = 5.0
    dropout: float = 0.0


@dataclass
class History:
    """What :func:`train` records: the loss of every Adam step, per epoch, and the evaluations."""

    step_losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    evaluations: list[tuple[int, Any]] = field(default_factory=list)


def _global_norm(grads: dict) -> float:
    return math.sqrt(sum(float((g * g).sum()) for g in grads.values()))


def train(cell: Cell, streams: Streams, n_x: int, config: TrainConfig, seed: int, *, n_y: int | None = None,
          evaluate: Callable[[dict], Any] | None = None, eval_every: int = 0, stop_after: int | None = None,
          verbose: Callable[[str], None] | None = None) -> tuple[dict[str, np.ndarray], History]:
    """Train ``cell`` on ``streams`` by truncated BPTT; deterministic for a given seed.

    The streams run in parallel as a batch, in chunks of ``config.chunk_len`` steps, the state
    carried from chunk to chunk (and handed on between streams at an epoch's end, see
    :class:`Streams`). Each chunk is one Adam step on the clipped gradient. The generator seeded
    with ``seed`` draws the initial weights (:func:`init_params`); dropout masks come from a second
    generator seeded with (seed, 1). ``evaluate(params)`` runs after epochs ``eval_every``,
    ``2·eval_every``, … (and the last). Frozen parameters of the cell are never updated.
    ``stop_after``: stop after that many epochs (the learning-rate schedule is still the one of
    ``config.epochs``: the run is a prefix of the full one).
    """
    if config.epochs < 1 or config.chunk_len < 1:
        raise ValueError("epochs, chunk_len: expected >= 1")
    rng = np.random.default_rng(seed)
    params = init_params(cell, rng, config.n_h, n_x, n_y)
    drop_rng = np.random.default_rng([seed, 1])
    trained = [k for k in params if k not in cell.frozen]
    m = {k: np.zeros_like(params[k]) for k in trained}
    v = {k: np.zeros_like(params[k]) for k in trained}
    beta1, beta2, adam_eps = 0.9, 0.999, 1e-8
    T, B = streams.inputs.shape
    n_chunks = -(-T // config.chunk_len)
    total_steps = config.epochs * n_chunks
    start_state = cell.zero_state(B, config.n_h)
    history = History()
    step = 0
    for epoch in range(config.epochs if stop_after is None else min(stop_after, config.epochs)):
        state = start_state
        epoch_loss = 0.0
        for k in range(n_chunks):
            rows = slice(k * config.chunk_len, (k + 1) * config.chunk_len)
            inputs, targets = streams.inputs[rows], streams.targets[rows]
            n_valid = int((targets >= 0).sum())
            if n_valid == 0:  # a held-out stretch: carry the state through it
                state = _carry(cell, params, inputs, state)
                continue
            keep = None
            if config.dropout > 0:
                keep = (drop_rng.random(inputs.shape + (config.n_h,)) >= config.dropout) / (1.0 - config.dropout)
            loss, grads, state = loss_and_grads(cell, params, inputs, targets, state, keep)
            history.step_losses.append(loss)
            epoch_loss += loss * n_valid
            grads = {key: grads[key] for key in trained}
            norm = _global_norm(grads)
            scale = config.clip_norm / norm if norm > config.clip_norm else 1.0
            step += 1
            progress = (step - 1) / max(total_steps - 1, 1)
            lr = config.learning_rate * (
                config.final_lr_fraction + (1 - config.final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))
            )
            bias1, bias2 = 1 - beta1**step, 1 - beta2**step
            for key in trained:
                g = grads[key] * scale
                m[key] = beta1 * m[key] + (1 - beta1) * g
                v[key] = beta2 * v[key] + (1 - beta2) * g * g
                params[key] = params[key] - lr * (m[key] / bias1) / (np.sqrt(v[key] / bias2) + adam_eps)
        if streams.handoff:
            start_state = tuple(np.concatenate([np.zeros((1, config.n_h)), s[:-1]]) for s in state)
        history.epoch_losses.append(epoch_loss / streams.n_predictions)
        last = epoch == config.epochs - 1
        if evaluate is not None and eval_every and ((epoch + 1) % eval_every == 0 or last):
            history.evaluations.append((epoch + 1, evaluate(params)))
        if verbose is not None and (epoch % 100 == 0 or last):
            verbose(f"epoch {epoch:5d}  loss {history.epoch_losses[-1]:.4f}")
    return params, history


def _carry(cell: Cell, params: dict, inputs: np.ndarray, state: tuple) -> tuple:
    with np.errstate(**FP_ERRORS):
        _, final = cell.forward(params, inputs, state)
    return tuple(s.copy() for s in final)
