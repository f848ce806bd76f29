"""Long-memory tasks for every cell: the copy task and the adding problem, plus gradient flow over T = 1,000.

    python benchmarks/memory_tasks.py [--cell NAME ...] [--delay 50] [--length 100] [--iterations 300]

Copy task (Arjovsky et al.): 10 symbols drawn from 8, then delay - 1 blanks, a marker, and
10 blanks; the model must output blanks until the marker and then the 10 symbols.
Sequence length delay + 20, inputs one-hot over 10 tokens (8 symbols, blank, marker),
targets over 9 classes; loss = mean cross-entropy per step. Chance (blanks, then a uniform
guess): 10 log 8 / (delay + 20).
Adding problem (Hochreiter & Schmidhuber): length-T sequences of (value ~ U(0, 1), marker),
two marked positions; target = sum of the two marked values, read at the last step;
loss = MSE. Chance (always predict 1): 1/6 = 0.167.
Every cell runs as ``cells.recurrent(name, input, hidden)`` with a linear readout, trained
with Adam (lr 1e-3, batch 32) for a fixed budget of iterations on fresh batches; the
printed loss is the mean over 4 held-out batches. The gradient-norm ratio is
``ornn.stability.log_gradient_norm_ratio`` (printed as log10) of the freshly initialised cell (float64) over
1,000 steps of standard-normal input (log10 > 0: exploding, < 0: vanishing).
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

import cells
from ornn import stability

SYMBOLS, BLANK, MARKER = 8, 8, 9


def copy_batch(batch: int, delay: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    length = delay + 20
    symbols = torch.randint(0, SYMBOLS, (batch, 10), generator=generator)
    tokens = torch.full((batch, length), BLANK)
    tokens[:, :10] = symbols
    tokens[:, delay + 9] = MARKER
    targets = torch.full((batch, length), BLANK)
    targets[:, -10:] = symbols
    x = nn.functional.one_hot(tokens, 10).float().transpose(0, 1)  # (L, B, 10)
    return x, targets.transpose(0, 1)


def adding_batch(batch: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    values = torch.rand(batch, length, generator=generator)
    markers = torch.zeros(batch, length)
    first = torch.randint(0, length // 2, (batch,), generator=generator)
    second = torch.randint(length // 2, length, (batch,), generator=generator)
    rows = torch.arange(batch)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    return torch.stack([values, markers], dim=-1).transpose(0, 1), target


class Model(nn.Module):
    def __init__(self, name: str, input_size: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.rnn = cells.recurrent(name, input_size, hidden)
        self.readout = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.rnn(x)[0])


def train(name: str, task: str, hidden: int, iterations: int, delay: int, length: int, seed: int) -> float:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    if task == "copy":
        model = Model(name, 10, hidden, 9)
        batch_fn = lambda: copy_batch(32, delay, generator)  # noqa: E731

        def loss_fn(x, y):
            logits = model(x)
            return nn.functional.cross_entropy(logits.reshape(-1, 9), y.reshape(-1))
    else:
        model = Model(name, 2, hidden, 1)
        batch_fn = lambda: adding_batch(32, length, generator)  # noqa: E731

        def loss_fn(x, y):
            return nn.functional.mse_loss(model(x)[-1, :, 0], y)

    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(iterations):
        x, y = batch_fn()
        optimiser.zero_grad()
        loss = loss_fn(x, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
    with torch.no_grad():
        return sum(float(loss_fn(*batch_fn())) for _ in range(4)) / 4


def gradient_ratio(name: str, hidden: int, steps: int = 1000, seed: int = 0) -> float:
    torch.manual_seed(seed)
    cell = cells.create(name, 4, hidden).double()  # float64: vanishing ratios underflow float32 within 1,000 steps
    inputs = torch.randn(steps, 2, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    logs = stability.log_gradient_norm_ratio(cell, inputs, generator=torch.Generator().manual_seed(seed))
    return float(logs.mean()) / math.log(10.0)  # log10 of the geometric-mean ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", nargs="*", default=None, help="registered cell names (default: all)")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--delay", type=int, default=50, help="copy-task delay T")
    parser.add_argument("--length", type=int, default=100, help="adding-problem length T")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = args.cell or list(cells.available())
    copy_chance = 10 * math.log(8) / (args.delay + 20)
    print(
        f"copy: delay {args.delay}, chance {copy_chance:.4f}; adding: length {args.length}, chance 0.1667; "
        f"hidden {args.hidden} (qunn 8), {args.iterations} Adam iterations of batch 32, seed {args.seed}"
    )
    header = (
        f"{'cell':<8} {'copy CE':>9} {'/chance':>8} {'adding MSE':>11} {'/chance':>8} {'log10 grad ratio':>17} {'s':>6}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        hidden = 8 if name == "qunn" else args.hidden
        start = time.perf_counter()
        copy_loss = train(name, "copy", hidden, args.iterations, args.delay, args.length, args.seed)
        adding_loss = train(name, "adding", hidden, args.iterations, args.delay, args.length, args.seed)
        ratio = gradient_ratio(name, hidden, seed=args.seed)
        print(
            f"{name:<8} {copy_loss:>9.4f} {copy_loss / copy_chance:>8.2f} {adding_loss:>11.4f} "
            f"{adding_loss / (1 / 6):>8.2f} {ratio:>17.1f} {time.perf_counter() - start:>6.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
