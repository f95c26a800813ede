"""Robustness certificates: certified / falsified / unknown per sample, branch and bound within
a time budget, and datasets (see :mod:`.verdicts`, :mod:`.bab`, :mod:`.datasets`)."""
