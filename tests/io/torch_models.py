"""PyTorch modules for the importer tests (torch is required by the importing test modules),
each with float64 weights far from zero so that a gate or head mix-up cannot hide, and the
framework's own forward pass to compare against."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def randomize(module: nn.Module, seed: int, scale: float = 1.5) -> nn.Module:
    """``module`` in float64, eval mode, every parameter U(−scale, scale)."""
    torch.manual_seed(seed)
    module = module.double().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-scale, scale)
    return module


class Net(nn.Module):
    """nn.LSTM -> nn.Linear on every step (a sequence tagger)."""

    def __init__(self, n_x: int = 3, n_a: int = 4, n_y: int = 5, bias: bool = True) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_x, n_a, bias=bias)
        self.fc = nn.Linear(n_a, n_y)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.fc(h)


class LastStep(nn.Module):
    """nn.LSTM -> the last hidden state (h_n[-1], or out[:, -1] when batch first) -> nn.Linear."""

    def __init__(self, n_x: int = 3, n_a: int = 4, n_y: int = 5, batch_first: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_x, n_a, batch_first=batch_first)
        self.drop = nn.Dropout(0.5) if dropout else nn.Identity()
        self.head = nn.Linear(n_a, n_y)
        self.batch_first = batch_first

    def forward(self, x):
        out, (h_n, _) = self.lstm(x)
        last = out[:, -1] if self.batch_first else h_n[-1]
        return self.head(self.drop(last))


class Tagger(nn.Module):
    """nn.Embedding -> nn.LSTM, no head: the embedding matrix is (V, n_x) = (V, n_a)."""

    def __init__(self, vocab: int = 7, n_a: int = 4) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, n_a)
        self.lstm = nn.LSTM(n_a, n_a)

    def forward(self, tokens):
        return self.lstm(self.emb(tokens))[0]


class InputProjection(nn.Module):
    """nn.Linear(n_a -> n_x) in front of the LSTM, no head."""

    def __init__(self, n_x: int = 3, n_a: int = 4) -> None:
        super().__init__()
        self.proj = nn.Linear(n_a, n_x)
        self.lstm = nn.LSTM(n_x, n_a)

    def forward(self, x):
        return self.lstm(self.proj(x))[0]


class MLPHead(nn.Module):
    """nn.LSTM -> Linear(n_a, 16) -> ReLU -> Linear(16, n_y)."""

    def __init__(self, n_x: int = 3, n_a: int = 4, n_y: int = 5, hidden: int = 16) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_x, n_a)
        self.fc1 = nn.Linear(n_a, hidden)
        self.fc2 = nn.Linear(hidden, n_y)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(self.lstm(x)[0])))


def lstm_forward(lstm: nn.LSTM, xs: np.ndarray) -> np.ndarray:
    """The LSTM's hidden states (T, B, n_a) for xs (T, B, n_x), by torch, in float64."""
    x = torch.tensor(xs, dtype=torch.float64)
    if lstm.batch_first:
        x = x.transpose(0, 1)
    with torch.no_grad():
        out = lstm(x)[0]
    return (out.transpose(0, 1) if lstm.batch_first else out).numpy()


def module_forward(module: nn.Module, xs: np.ndarray, batch_first: bool = False) -> np.ndarray:
    """``softmax(module(x))`` along the last axis, in float64 (xs (T, B, n_x))."""
    x = torch.tensor(xs, dtype=torch.float64)
    if batch_first:
        x = x.transpose(0, 1)
    with torch.no_grad():
        return torch.softmax(module(x), dim=-1).numpy()
