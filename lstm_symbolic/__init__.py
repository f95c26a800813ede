"""lstm_symbolic: sound bounds on every signal inside an LSTM, and proofs of the mathematics.

Public API (a contract; see docs/guide.md)::

    Interval, exp, sigmoid, tanh                       sound interval arithmetic
    LSTMWeights, load_weights, forward                 the model and its concrete forward pass
    Box, LinfBall, OneHot                              input sets
    propagate                                          bounds per step: Trace of Intervals
"""

from .errors import InputError, NotAModelError, ShapeError
from .interval import EmptyIntersectionError, Interval, exp, hull, intersect, sigmoid, tanh

__version__ = "0.1.0"

__all__ = [
    "Interval",
    "exp",
    "sigmoid",
    "tanh",
    "hull",
    "intersect",
    "InputError",
    "ShapeError",
    "NotAModelError",
    "EmptyIntersectionError",
]
