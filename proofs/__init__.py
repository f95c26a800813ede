"""The audited claims of the founding notes (``seed/lstm_intuition_notes.md``), one module per theme.

``THEMES`` lists the pages in order; ``lstm-symbolic prove`` runs every claim and writes
``docs/proofs/``. Each claim's verdict is derived by its check (see :mod:`lstm_symbolic.proof`).
"""

from __future__ import annotations

from lstm_symbolic.proof import Theme

from . import domains, interpretation, related_work, sigmoid, tanh

THEMES: list[Theme] = [domains.THEME, tanh.THEME, sigmoid.THEME, interpretation.THEME, related_work.THEME]

__all__ = ["THEMES"]
