"""Linear relaxations, one module per nonlinearity, behind one small interface.

A relaxation turns sound bounds of its inputs into a linear enclosure that holds for every
input inside those bounds:

- unary (``sigmoid``, ``tanh``): ``f(x) ∈ slope·x + offset ± error`` for ``x ∈ [lo, hi]``
  (``relax``, the parallelogram forward zonotopes need), or a lower and an upper line with
  slopes of their own (``lines``, for backward bounds; sound for any slopes);
- binary (``product``): ``x·y ∈ slope_x·x + slope_y·y + offset ± error`` on a box (``relax``),
  or a lower and an upper plane (``lines``).

Propagation code only applies the coefficients; it never asks which activation it is.
"""

from .base import Linear1, Linear2, Lines1, Lines2, SShaped
from .product import PRODUCT
from .sigmoid import SIGMOID
from .tanh import TANH

__all__ = ["Linear1", "Linear2", "Lines1", "Lines2", "SShaped", "SIGMOID", "TANH", "PRODUCT"]
