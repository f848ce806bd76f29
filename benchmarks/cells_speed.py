"""Forward + backward speed of every cell against torch's own RNNs, measured in the same run.

    python benchmarks/cells_speed.py [--length 100] [--batch 64] [--input 64] [--hidden 256] [--repeats 5]

Part 1: each registered cell as ``cells.recurrent(name, input, hidden)`` over (L, B, input)
against ``torch.nn.LSTM`` of the same sizes (ours/LSTM), and our LSTM and GRU against
``nn.LSTM`` / ``nn.GRU`` with the same weights (the goal: no slower, within the noise band
measured by timing a second copy of each torch module in the same run), both through the
fused path and through the generic executor (``cell.fused = False``). Goals: URNN within 2x
and QUNN within 3x of ``nn.LSTM``.
Part 2: SRU with 4 layers, hidden 512, against ``nn.LSTM`` of the same shape (goal:
ours at least 1.5x faster) and, when the ``bench`` extra is installed, the ``sru``
package's ``SRU`` (goal: no slower).
Timings: median of ``--repeats`` interleaved runs of forward + backward of sum(outputs).
QUNN is timed at hidden 16 (its step solves a (hidden x memory)-dimensional system).
Part 3: the quantum sequence cells (QLSTM, QK-LSTM, QFWP; the sequence-model paper) at meta-optimiser
sizes (input 8, hidden 16, L 20) for batch 1, 64 and 256 against ``nn.LSTM`` and our
LSTM, through each cell's sequence fast path and (``generic``) through the executor: the
circuits are evaluated for the whole batch at once, so the time per sample falls with the
batch (the B=256 / B=1 ratio is far below 256). Goals at B=256: QLSTM and QFWP within 5x
``nn.LSTM``, QK-LSTM within 10x; and, with the ``bench`` extra, at least 20x faster than
the same cells written as PennyLane ``default.qubit`` QNodes (``_pennylane_cells.py``,
checked to give the same outputs). QK-LSTM's floor is timed in the same run: per step its
reps x chunks uploads as two fixed (2^q, 2^q) products and two phase multiplies each, forward
and adjoint, and nothing else; and, for comparison, the same uploads as prebuilt per-sample
(B, 2^q, 2^q) products (the formulation before).
Part 4: training steps as a script runs them (zero_grad, forward, backward of mean(outputs^2), an
SGD step) of nn.LSTM, QLSTM and QK-LSTM at part 3's sizes and B=256, each model alone in a fresh
process: the median and minimum over ``--repeats`` x 8 steps after 10 warm-up steps, and the page
faults per step (memory the system took back between steps and faulted in again; Unix only). Part 3
interleaves many models in one process, whose allocation history hides these faults.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
from typing import Callable

import torch
from _timing import interleaved_medians, sample_seconds
from torch import nn

import cells


def _fwd_bwd(module: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        module.zero_grad(set_to_none=True)
        out = module(x)[0]
        out.sum().backward()

    return run


def _median_ms(runs: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    return {name: 1e3 * seconds for name, seconds in interleaved_medians(runs, repeats).items()}


def part_one(length: int, batch: int, input_size: int, hidden: int, repeats: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(length, batch, input_size)
    lstm_ref = nn.LSTM(input_size, hidden)
    gru_ref = nn.GRU(input_size, hidden)

    def lstm_without_onednn() -> None:
        with torch.backends.mkldnn.flags(enabled=False):
            _fwd_bwd(lstm_ref, x)()

    generic_lstm = cells.LSTM.from_torch(lstm_ref)
    generic_lstm.cells[0].fused = False
    generic_gru = cells.GRU.from_torch(gru_ref)
    generic_gru.cells[0].fused = False
    runs = {
        "torch nn.LSTM": _fwd_bwd(lstm_ref, x),
        "torch nn.LSTM (2nd copy)": _fwd_bwd(copy.deepcopy(lstm_ref), x),
        "torch nn.LSTM (oneDNN off)": lstm_without_onednn,
        "torch nn.GRU": _fwd_bwd(gru_ref, x),
        "torch nn.GRU (2nd copy)": _fwd_bwd(copy.deepcopy(gru_ref), x),
        "ornn lstm (same weights)": _fwd_bwd(cells.LSTM.from_torch(lstm_ref), x),
        "ornn gru (same weights)": _fwd_bwd(cells.GRU.from_torch(gru_ref), x),
        "ornn lstm, generic executor": _fwd_bwd(generic_lstm, x),
        "ornn gru, generic executor": _fwd_bwd(generic_gru, x),
    }
    for name in cells.available():
        if name in ("lstm", "gru") or name in QUANTUM:
            continue
        size = 16 if name == "qunn" else hidden
        runs[f"ornn {name}" + (f" (hidden {size})" if size != hidden else "")] = _fwd_bwd(
            cells.recurrent(name, input_size, size), x
        )
    qunn = cells.QUNN(input_size, 16)  # the size timed above: its Cayley system is (hidden x memory)-dimensional
    size = qunn.hidden_size * qunn.memory
    runs["qunn dense floor: LU + 2 solves"] = _cayley_floor(length, batch, size)
    runs["qunn Schur floor: LU + 2 solves"] = _cayley_floor(length, batch, size, schur=True)
    times = _median_ms(runs, repeats)
    base = times["torch nn.LSTM"]
    print(
        f"\nPart 1: forward+backward, L={length}, B={batch}, input={input_size}, hidden={hidden}, median of {repeats}"
    )
    print(f"{'model':<34} {'ms':>9} {'/ nn.LSTM':>10}")
    for name, ms in times.items():
        print(f"{name:<34} {ms:>9.1f} {ms / base:>10.2f}")
    # The noise band: the same torch module timed twice in the same interleaved run.
    noise = max(
        abs(times["torch nn.LSTM (2nd copy)"] / times["torch nn.LSTM"] - 1),
        abs(times["torch nn.GRU (2nd copy)"] / times["torch nn.GRU"] - 1),
    )
    for ours, peer in (("lstm", "LSTM"), ("gru", "GRU")):
        ratio = times[f"ornn {ours} (same weights)"] / times[f"torch nn.{peer}"]
        verdict = "met" if ratio <= 1.0 + noise else "NOT met"
        print(
            f"ornn {ours} / nn.{peer} = {ratio:.2f}  (goal <= 1.0 within the noise band {noise:.2f} of "
            f"nn.{peer} against its own copy): {verdict}"
        )
    control = times["ornn lstm, generic executor"] / times["torch nn.LSTM (oneDNN off)"]
    print(
        f"generic executor: lstm / nn.LSTM with oneDNN off = {control:.2f}, gru / nn.GRU = "
        f"{times['ornn gru, generic executor'] / times['torch nn.GRU']:.2f} (the reference path; the fused path "
        "runs torch.lstm / torch.gru, the kernels behind nn.LSTM / nn.GRU)"
    )
    for name, goal in (("urnn", 2.0), ("qunn (hidden 16)", 3.0)):
        ratio = times[f"ornn {name}"] / base
        print(f"ornn {name} / nn.LSTM = {ratio:.2f} (goal <= {goal}): {'met' if ratio <= goal else 'NOT met'}")
    qunn_ms = times["ornn qunn (hidden 16)"]
    dense, schur = times["qunn dense floor: LU + 2 solves"], times["qunn Schur floor: LU + 2 solves"]
    print(
        f"qunn floors, {length} steps of nothing else: the LU factorisation of its (B, 64, 64) Cayley system and the "
        f"forward and backward solves = {dense / base:.2f} x nn.LSTM; with its even clock (memory 4) the system is "
        f"[[I, X], [Y, I]] in even-odd order, and the Schur complement's product I - YX, its (B, 32, 32) LU and two "
        f"solves = {schur / base:.2f} x nn.LSTM; qunn = {qunn_ms / dense:.2f} x the dense floor, {qunn_ms / schur:.2f}"
        " x the Schur floor"
    )


def _cayley_floor(length: int, batch: int, size: int, schur: bool = False) -> Callable[[], None]:
    """The linear algebra no exact Cayley step can skip: per step one LU factorisation of a
    (batch, size, size) system and two triangular solves (forward, and the adjoint in backward).
    With ``schur``, the system is [[I, X], [Y, I]] (QUNN's for an even clock): the product
    I - YX, the LU of that (batch, size / 2, size / 2) complement and its two solves."""
    generator = torch.Generator().manual_seed(0)
    half = size // 2
    couplings = 0.1 * torch.randn(2, batch, half, half, generator=generator)
    system = torch.eye(size) + 0.1 * torch.randn(batch, size, size, generator=generator)
    rhs = torch.randn(batch, half if schur else size, 1, generator=generator)

    def run() -> None:
        for _ in range(length):
            matrix = torch.baddbmm(torch.eye(half), couplings[1], couplings[0], alpha=-1.0) if schur else system
            lu, pivots, _ = torch.linalg.lu_factor_ex(matrix)
            torch.linalg.lu_solve(lu, pivots, rhs)
            torch.linalg.lu_solve(lu, pivots, rhs, adjoint=True)

    return run


QUANTUM = ("qlstm", "qk_lstm", "qfwp")


def _upload_floor(length: int, batch: int, dim: int, uploads: int, *, per_sample: bool) -> Callable[[], None]:
    """What no per-sample circuit of ``uploads`` layers can skip in a formulation, per step and layer, forward
    and again in the adjoint, on operands built beforehand (no phases built, no autograd, no angle gradients,
    no LSTM update).

    ``per_sample``: the layer as one (batch, dim, dim) x (batch, dim, 2) product of per-sample real matrices
    and one phase multiply (the formulation before the eigenbasis one). Otherwise ours: two fixed complex
    (dim, dim) products and two phase multiplies (``quantum_circuits._Uploads``).
    """
    generator = torch.Generator().manual_seed(0)
    # unit phases and orthogonal / unitary maps, as in the cell, so the states keep their norm
    angles = torch.rand(uploads, 2, batch, dim, generator=generator) * (2 * torch.pi)
    phases = torch.polar(torch.ones_like(angles), angles)
    start = torch.randn(batch, dim, dtype=torch.complex64, generator=generator)
    start = start / torch.linalg.vector_norm(start, dim=1, keepdim=True)
    if per_sample:
        matrices = torch.linalg.qr(torch.randn(uploads, batch, dim, dim, generator=generator)).Q

        def run() -> None:
            for _ in range(length):
                state = start
                for m, e in zip(matrices, phases[:, 0]):
                    state = torch.view_as_complex(torch.bmm(m, torch.view_as_real(state))) * e
                for m, e in zip(matrices.transpose(2, 3).flip(0), phases[:, 0].flip(0)):
                    state = torch.view_as_complex(torch.bmm(m, torch.view_as_real(state * e)))

        return run
    to_eigen, from_eigen = torch.linalg.qr(torch.randn(2, dim, dim, dtype=torch.complex64, generator=generator)).Q

    def run_eigenbasis() -> None:
        for _ in range(length):
            state = start
            for e in phases:
                state = ((state @ to_eigen) * e[0]) @ from_eigen * e[1]
            for e in phases.flip(0):
                state = ((state * e[1]) @ from_eigen.T * e[0]) @ to_eigen.T

    return run_eigenbasis


def part_three(
    repeats: int, length: int = 20, input_size: int = 8, hidden: int = 16, batches: tuple[int, ...] = (1, 64, 256)
) -> None:
    torch.manual_seed(0)
    models = {"torch nn.LSTM": nn.LSTM(input_size, hidden), "ornn lstm": cells.recurrent("lstm", input_size, hidden)}
    models.update({f"ornn {name}": cells.recurrent(name, input_size, hidden) for name in QUANTUM})
    for name in QUANTUM:  # the same weights through the generic executor (cell.fused = False)
        generic = copy.deepcopy(models[f"ornn {name}"])
        generic.cells[0].fused = False
        models[f"ornn {name} (generic)"] = generic
    print(
        f"\nPart 3: quantum cells, forward+backward, L={length}, input={input_size}, hidden={hidden}, median of {repeats}"
    )
    qk = models["ornn qk_lstm"].cells[0]
    uploads = qk.reps * -(-(input_size + hidden) // qk.num_qubits)
    floor_name, old_floor_name = f"qk_lstm floor: {uploads} uploads", f"per-sample: {uploads} uploads"
    times: dict[int, dict[str, float]] = {}
    for batch in batches:
        x = torch.randn(length, batch, input_size)
        runs = {name: _fwd_bwd(m, x) for name, m in models.items()}
        if batch == batches[-1]:
            runs[floor_name] = _upload_floor(length, batch, 2**qk.num_qubits, uploads, per_sample=False)
            runs[old_floor_name] = _upload_floor(length, batch, 2**qk.num_qubits, uploads, per_sample=True)
        times[batch] = _median_ms(runs, repeats)
    header = "".join(f"{f'B={b} ms':>12}" for b in batches)
    print(
        f"{'model':<26} {'parameters':>10}{header} {'B=%d / B=%d' % (batches[-1], batches[0]):>14} {'/ nn.LSTM at B=%d' % batches[-1]:>18}"
    )
    for name, module in models.items():
        count = sum(p.numel() for p in module.parameters())
        row = "".join(f"{times[b][name]:>12.1f}" for b in batches)
        scale = times[batches[-1]][name] / times[batches[0]][name]
        versus = times[batches[-1]][name] / times[batches[-1]]["torch nn.LSTM"]
        print(f"{name:<26} {count:>10}{row} {scale:>14.1f} {versus:>18.1f}")
    big = times[batches[-1]]
    for name in (floor_name, old_floor_name):
        print(f"{name:<26} {'':>10}{'':>{12 * (len(batches) - 1)}}{big[name]:>12.1f}")
    for name, goal in (("qlstm", 5.0), ("qfwp", 5.0), ("qk_lstm", 10.0)):
        ratio = big[f"ornn {name}"] / big["torch nn.LSTM"]
        print(
            f"ornn {name} / nn.LSTM at B={batches[-1]} = {ratio:.1f} (goal <= {goal:g}): "
            f"{'met' if ratio <= goal else 'NOT met'}"
        )
    floor = big[floor_name] / big["torch nn.LSTM"]
    print(
        f"qk_lstm floor (per step its {uploads} uploads as two fixed ({2**qk.num_qubits} x {2**qk.num_qubits}) products "
        f"and two phase multiplies, forward and adjoint, and nothing else) = {floor:.1f} x nn.LSTM; qk_lstm = "
        f"{big['ornn qk_lstm'] / big[floor_name]:.1f} x its floor; the same uploads as per-sample (B, "
        f"{2**qk.num_qubits}, {2**qk.num_qubits}) products = {big[old_floor_name] / big['torch nn.LSTM']:.1f} x nn.LSTM"
    )
    _against_pennylane(models, big, length, batches[-1], input_size)


def _against_pennylane(
    models: dict[str, nn.Module], ours_ms: dict[str, float], length: int, batch: int, input_size: int
) -> None:
    """Each quantum cell against the same cell as PennyLane default.qubit QNodes (the ``bench`` extra)."""
    try:
        from _pennylane_cells import PEERS
    except ImportError as err:
        print(f"(PennyLane peers not measured: {err}; install the bench extra)")
        return
    torch.manual_seed(1)
    check = torch.randn(3, 2, input_size)
    x = torch.randn(length, batch, input_size)
    print(
        f"\nPennyLane default.qubit (torch interface, backprop, broadcast over B={batch}), forward+backward, median of 3"
    )
    for name in QUANTUM:
        ours = models[f"ornn {name}"]
        peer = PEERS[name](ours.cells[0])
        with torch.no_grad():
            agreement = float((ours(check)[0] - peer(check)[0]).abs().max())
        peer_ms = _median_ms({"peer": _fwd_bwd(peer, x)}, 3)["peer"]
        speedup = peer_ms / ours_ms[f"ornn {name}"]
        print(
            f"{name:<8} PennyLane {peer_ms:>9.1f} ms   ornn {ours_ms[f'ornn {name}']:>7.1f} ms   ornn faster by "
            f"{speedup:>6.1f}x (goal >= 20): {'met' if speedup >= 20 else 'NOT met'}   max |ornn - PennyLane| "
            f"{agreement:.1e}"
        )


def part_two(length: int, batch: int, repeats: int, hidden: int = 512, layers: int = 4) -> None:
    torch.manual_seed(0)
    x = torch.randn(length, batch, hidden)
    runs = {
        "torch nn.LSTM": _fwd_bwd(nn.LSTM(hidden, hidden, num_layers=layers), x),
        "ornn sru": _fwd_bwd(cells.recurrent("sru", hidden, hidden, num_layers=layers), x),
    }
    try:
        from sru import SRU as PackageSRU  # the `bench` extra

        runs["sru package"] = _fwd_bwd(PackageSRU(hidden, hidden, num_layers=layers), x)
    except Exception as err:  # not installed, or its CPU build failed to load
        print(f"(sru package not measured: {type(err).__name__}: {err})")
    times = _median_ms(runs, repeats)
    print(f"\nPart 2: forward+backward, {layers} layers, hidden {hidden}, L={length}, B={batch}, median of {repeats}")
    for name, ms in times.items():
        print(f"{name:<20} {ms:>9.1f} ms")
    print(f"nn.LSTM / ornn sru = {times['torch nn.LSTM'] / times['ornn sru']:.2f}x (goal >= 1.5)")
    if "sru package" in times:
        print(f"ornn sru / sru package = {times['ornn sru'] / times['sru package']:.2f} (goal <= 1.0)")


LOOP_MODELS = ("nn.LSTM", "qlstm", "qk_lstm")


def training_loop(name: str, repeats: int, length: int = 20, input_size: int = 8, hidden: int = 16) -> dict:
    """One model's training steps in this process: median and minimum in ms, page faults per step (None off Unix)."""
    try:
        import resource
    except ImportError:
        resource = None
    torch.manual_seed(0)
    x = torch.randn(length, 256, input_size)
    model = nn.LSTM(input_size, hidden) if name == "nn.LSTM" else cells.recurrent(name, input_size, hidden)
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        model(x)[0].pow(2).mean().backward()
        optimiser.step()

    for _ in range(10):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0
    seconds = sample_seconds(step, 8 * repeats, warmup=False)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else None
    return {
        "median_ms": 1e3 * statistics.median(seconds),
        "min_ms": 1e3 * min(seconds),
        "faults_per_step": None if after is None else (after - faults) / len(seconds),
    }


def part_four(repeats: int) -> None:
    print(f"\nPart 4: training steps, each model alone in a fresh process, B=256, L=20, {8 * repeats} steps after 10")
    print(f"{'model':<10} {'median ms':>10} {'min ms':>8} {'faults/step':>12} {'median / nn.LSTM':>17}")
    baseline = None
    for name in LOOP_MODELS:
        command = [sys.executable, __file__, "--training-loop", name, "--repeats", str(repeats)]
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        baseline = baseline or result["median_ms"]
        faults = "n/a" if result["faults_per_step"] is None else f"{result['faults_per_step']:.0f}"
        print(
            f"{name:<10} {result['median_ms']:>10.1f} {result['min_ms']:>8.1f} {faults:>12} "
            f"{result['median_ms'] / baseline:>17.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--part", choices=["1", "2", "3", "4", "all"], default="all")
    parser.add_argument("--training-loop", choices=LOOP_MODELS, help=argparse.SUPPRESS)  # part 4's child process
    args = parser.parse_args()
    if args.training_loop:
        print(json.dumps(training_loop(args.training_loop, args.repeats)))
        return
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    if args.part in ("1", "all"):
        part_one(args.length, args.batch, args.input, args.hidden, args.repeats)
    if args.part in ("2", "all"):
        part_two(args.length, args.batch, args.repeats)
    if args.part in ("3", "all"):
        part_three(args.repeats)
    if args.part in ("4", "all"):
        part_four(args.repeats)


if __name__ == "__main__":
    main()
