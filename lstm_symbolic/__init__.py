"""lstm_symbolic: sound bounds on every signal inside an LSTM, and proofs of the mathematics.

Public API (a contract; see docs/guide.md)::

    Interval, exp, sigmoid, tanh                       sound interval arithmetic
    LSTMWeights, forward                               the model and its concrete forward pass
    Model, Layer, Head                                 models beyond one LSTM layer (GRUs, stacks,
                                                       bidirectional layers, an embedding)
    load (alias load_weights)                          exactly the model in a file (.npz, .pt, .onnx,
                                                       .keras, .h5)
    Box, LinfBall, OneHot, ClippedBall, Substitutions  input sets
    propagate                                          bounds per step: Trace of Intervals
    certify                                            certified / falsified / unknown per sample
    certify_dataset                                    a dataset, resumable, on an executor
    invariant                                          boxes for (a, c) valid for every t
"""

from .errors import InputError, NotAModelError, ShapeError
from .inputs import Box, ClippedBall, InputSet, LinfBall, OneHot, Substitutions
from .interval import EmptyIntersectionError, Interval, exp, hull, intersect, sigmoid, tanh
from .lstm import LSTMWeights, ModelRun, Run, forward
from .model import Head, Layer, Model
from .io import load
from .propagate import Trace, propagate
from .certify import Certificate, certify  # (loads the shim module first, so the name stays the function)
from .certification.datasets import Summary, certify_dataset
from .invariant import Invariant, invariant

load_weights = load  #: the v1 name of :func:`load`

__version__ = "0.1.0"

__all__ = [
    "Interval",
    "exp",
    "sigmoid",
    "tanh",
    "hull",
    "intersect",
    "LSTMWeights",
    "load",
    "load_weights",
    "forward",
    "Run",
    "ModelRun",
    "Model",
    "Layer",
    "Head",
    "Box",
    "LinfBall",
    "OneHot",
    "ClippedBall",
    "Substitutions",
    "InputSet",
    "propagate",
    "Trace",
    "certify",
    "Certificate",
    "certify_dataset",
    "Summary",
    "invariant",
    "Invariant",
    "InputError",
    "ShapeError",
    "NotAModelError",
    "EmptyIntersectionError",
]
