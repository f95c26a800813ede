"""Run experiments and cache their results: ``python -m experiments.run NAME [NAME ...]`` or ``--all``.

Each experiment module ``experiments/<NAME>.py`` defines ``TITLE``, ``CLAIMS`` (the ids of the
audited claims it speaks to), ``CONFIG`` (a JSON-able dict: its settings) and ``run(config)``
returning a JSON-able dict of results. This runner times ``run(CONFIG)`` and writes
``experiments/results/<NAME>.json`` (:func:`experiments.cache.write`). ``--list`` shows each cache
and whether it is current.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time

import numpy as np

from . import cache

__all__ = ["EXPERIMENTS", "run_one", "main"]

#: Every experiment, in the order ``--all`` runs them.
EXPERIMENTS = ("forget_bias", "gate_ablation", "normaliser", "gru_vs_lstm", "dropout", "demo_dynamics", "stability")


def run_one(name: str, smoke: bool = False) -> dict:
    """Run experiment ``name`` with its ``CONFIG`` (``smoke``: with its ``SMOKE`` overrides, not cached)."""
    mod = importlib.import_module(f"experiments.{name}")
    config = {**mod.CONFIG, **(mod.SMOKE if smoke else {})}
    inputs = cache.fingerprint(name)
    start = time.perf_counter()
    results = mod.run(config)
    seconds = time.perf_counter() - start
    if cache.fingerprint(name) != inputs:
        raise RuntimeError(f"{name}: input files changed while the experiment ran; rerun it")
    return {
        "inputs": inputs,
        "title": mod.TITLE,
        "claims": list(mod.CLAIMS),
        "command": f"python -m experiments.run {name}",
        "config": config,
        "environment": {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine()},
        "seconds": round(seconds, 1),
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.run", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"experiments to run: {', '.join(EXPERIMENTS)}")
    parser.add_argument("--all", action="store_true", help="run every experiment")
    parser.add_argument("--list", action="store_true", help="show every cache and whether it is current")
    args = parser.parse_args(argv)
    if args.list:
        for name in EXPERIMENTS:
            chk = cache.verify(name)
            took = f"{json.loads((cache.RESULTS / f'{name}.json').read_text())['seconds']:>6g} s" if chk.sha256 else ""
            print(f"{name:<16} {took:>8}  {'current' if chk.ok else 'STALE: ' + '; '.join(chk.problems)}")
        return 0
    names = list(EXPERIMENTS) if args.all else args.names
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown or not names:
        parser.error(f"expected experiment names among {', '.join(EXPERIMENTS)} (or --all), got {unknown or 'none'}")
    for name in names:
        record = run_one(name)
        path = cache.write(name, record)
        print(f"wrote {path.relative_to(cache.ROOT)} ({record['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
