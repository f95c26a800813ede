"""Deterministic SVG figures for docs/proofs (pure Python + mpmath; no matplotlib needed).

Every coordinate is computed with mpmath and printed with two decimals, so the bytes are the
same on every platform and ``lstm-symbolic prove --check`` can compare figures exactly.
"""

from __future__ import annotations

from typing import Callable, Sequence

import mpmath as mp
import sympy as sp

from lstm_symbolic import constants as C

W, H, PAD = 360, 240, 36
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def _panel(x0: float, title: str, xr: tuple[float, float], yr: tuple[float, float],
           curves: Sequence[tuple[str, Callable[[mp.mpf], mp.mpf], str]], vlines: Sequence[float] = (),
           samples: int = 241, xticks: Sequence[float] = (), yticks: Sequence[float] = ()) -> list[str]:
    (a, b), (lo, hi) = xr, yr
    px = lambda v: x0 + PAD + (float(v) - a) / (b - a) * (W - 2 * PAD)  # noqa: E731
    py = lambda v: H - PAD - (float(v) - lo) / (hi - lo) * (H - 2 * PAD)  # noqa: E731
    out = [f'<rect x="{x0 + PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" fill="none" stroke="#888"/>',
           f'<text x="{x0 + W / 2:.2f}" y="{PAD - 10}" text-anchor="middle" font-size="13">{title}</text>']
    if lo < 0 < hi:
        out.append(f'<line x1="{px(a):.2f}" y1="{py(0):.2f}" x2="{px(b):.2f}" y2="{py(0):.2f}" stroke="#ccc"/>')
    for t in xticks:
        out.append(f'<text x="{px(t):.2f}" y="{H - PAD + 14}" text-anchor="middle" font-size="10">{t:g}</text>')
    for t in yticks:
        out.append(f'<text x="{x0 + PAD - 4}" y="{py(t) + 3:.2f}" text-anchor="end" font-size="10">{t:g}</text>')
    for v in vlines:
        out.append(f'<line x1="{px(v):.2f}" y1="{PAD}" x2="{px(v):.2f}" y2="{H - PAD}" stroke="#999" stroke-dasharray="3,3"/>')
    for i, (label, f, color) in enumerate(curves):
        pts = []
        with mp.workdps(20):
            for k in range(samples):
                xv = mp.mpf(a) + (mp.mpf(b) - a) * k / (samples - 1)
                yv = min(max(f(xv), mp.mpf(lo)), mp.mpf(hi))
                pts.append(f"{px(xv):.2f},{py(yv):.2f}")
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(pts)}"/>')
        out.append(f'<text x="{x0 + PAD + 6}" y="{PAD + 14 + 13 * i}" font-size="11" fill="{color}">{label}</text>')
    return out


def _svg(parts: list[str], width: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{H}" viewBox="0 0 {width} {H}" '
            f'font-family="sans-serif">\n<rect width="{width}" height="{H}" fill="white"/>\n' + "\n".join(parts) + "\n</svg>\n")


def tanh_sigmoid() -> str:
    """tanh, σ (left) and tanh′, σ′ (right) on [−6, 6]; dashed: thresholds ±2 (tanh) and ±4 (σ) for ε = tanh′(2)."""
    sig = lambda v: 1 / (1 + mp.exp(-v))  # noqa: E731
    with mp.workdps(30):
        t_thr = float(C.value("tanh_saturation_tanh_prime_2"))
        s_thr = float(C.value("sigmoid_saturation_tanh_prime_2"))
    v = (-s_thr, -t_thr, t_thr, s_thr)
    left = _panel(0, "tanh(x) and σ(x)", (-6, 6), (-1.1, 1.1),
                  [("tanh", mp.tanh, COLORS[0]), ("σ", sig, COLORS[1])], v, xticks=(-6, -4, -2, 0, 2, 4, 6), yticks=(-1, 0, 1))
    right = _panel(W, "tanh′(x) and σ′(x)", (-6, 6), (-0.05, 1.05),
                   [("tanh′ = 1 − tanh²", lambda z: 1 - mp.tanh(z) ** 2, COLORS[0]),
                    ("σ′ = σ(1 − σ)", lambda z: sig(z) * (1 - sig(z)), COLORS[1])], v,
                   xticks=(-6, -4, -2, 0, 2, 4, 6), yticks=(0, 0.25, 1))
    return _svg(left + right, 2 * W)


def cell_domain() -> str:
    """Upper end of the c domain for t = 0..20 from c⟨0⟩ = 0: a priori t, and M(1 − f^t)/(1 − f), f = σ(b), M = 1."""
    curves = [("a priori: t", lambda z: z, COLORS[0])]
    for i, b in enumerate((2, 1, 0)):
        f = sp.lambdify((), C.SIGMOID.subs(C.x, b), "mpmath")
        curves.append((f"sup Γ_f = σ({b}): limit 1 + e^{b}",
                       lambda z, f=f: (1 - f() ** z) / (1 - f()), COLORS[i + 1]))
    return _svg(_panel(0, "upper end of the c domain vs t", (0, 20), (0, 20), curves, samples=201,
                       xticks=(0, 5, 10, 15, 20), yticks=(0, 10, 20)), W)


FIGURES: dict[str, Callable[[], str]] = {"tanh_sigmoid.svg": tanh_sigmoid, "cell_domain.svg": cell_domain}
