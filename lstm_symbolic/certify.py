"""Robustness certificates (compatibility module): the implementation lives in
:mod:`lstm_symbolic.certification` — verdicts, branch and bound, datasets."""

from __future__ import annotations

from .certification.verdicts import Certificate, certify

__all__ = ["certify", "Certificate"]
