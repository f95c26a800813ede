"""Recurrent cells: the equations of one step, written once against a small algebra that every
bounding method implements (:mod:`.base`)."""

from .affine import Affine
from .base import Cell, Ops
from .gru import GRUCell
from .lstm import LSTMCell

__all__ = ["Affine", "Cell", "Ops", "LSTMCell", "GRUCell"]
