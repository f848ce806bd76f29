"""QAOA energy + gradient: ornn's statevector engine against PennyLane, in the same run.

    python benchmarks/qaoa_speed.py [--sizes 8 10 12 14 16 18 20] [--repeats 3] [--max-default-qubit 20]

MaxCut on random 3-regular graphs (seeded), p = 2, the same angles for everyone, complex64/float32
for ours (PennyLane computes in its default precision, complex128). Columns:

* ours: ``QAOA(problem, 2, dtype=complex64).energy(theta)`` then ``backward()``;
* default.qubit: PennyLane's ``qml.qaoa.maxcut`` circuit (cost layer then mixer layer from |+>^n)
  on ``default.qubit`` with ``diff_method="backprop"`` and the torch interface;
* lightning.qubit: the same circuit on ``lightning.qubit`` with ``diff_method="adjoint"``;
* stream: one ``clone()`` of a 2^n complex64 state, the memory-bandwidth floor; our forward
  pass makes (1 cost pass + n mixer passes) per layer plus the final expectation, so
  ``fwd/floor`` = our forward time / ((n + 1) * p + 1) streams;
* |dE|: |E_ours - E_PennyLane| (same angles; the sign mapping is the identity, see ansatz.py);
* batch: 32 different graphs' energies + gradients in one call vs 32 single calls (n <= 14);
* peak RSS: the process's high-water mark after the size (cumulative, so it only grows).

Then DC-QAOA (the ZY counterdiabatic term, p = 2, complex128, as meta-training runs it): energies and
gradients of ``--dc-batch`` different graphs per call, timed round-robin in one run, three ways:
Pauli strings through ``ornn.quantum.apply_pauli`` one problem at a time (the path before the tables),
through their gather tables one problem at a time, and ``batch_energy`` (the tables, the problems
stacked into one circuit).
PennyLane needs the ``bench`` extra (``pip install -e '.[bench]'`` plus ``pennylane-lightning``).
"""

from __future__ import annotations

import argparse
import resource

import torch
from _timing import interleaved_medians, median_seconds

from applications import qaoa
from applications.qaoa import circuit

ANGLES = torch.tensor([0.3, 0.7, 0.5, 0.2])


def ours(problem) -> tuple[callable, callable, float]:
    ansatz = qaoa.QAOA(problem, 2, dtype=torch.complex64)

    def energy_and_grad():
        theta = ANGLES.clone().requires_grad_(True)
        ansatz.energy(theta).backward()

    def forward():
        with torch.no_grad():
            ansatz.energy(ANGLES)

    with torch.no_grad():
        value = float(qaoa.QAOA(problem, 2, dtype=torch.complex128).energy(ANGLES.double()))
    return energy_and_grad, forward, value


def pennylane(problem, device_name: str, diff_method: str):
    import pennylane as qml

    cost_h, mixer_h = qml.qaoa.maxcut(problem.graph)
    wires = list(problem.graph.nodes)
    device = qml.device(device_name, wires=wires)

    @qml.qnode(device, interface="torch", diff_method=diff_method)
    def circuit(theta):
        for w in wires:
            qml.Hadamard(wires=w)
        for k in range(2):
            qml.qaoa.cost_layer(theta[2 * k], cost_h)
            qml.qaoa.mixer_layer(theta[2 * k + 1], mixer_h)
        return qml.expval(cost_h)

    def energy_and_grad():
        theta = ANGLES.double().clone().requires_grad_(True)
        circuit(theta).backward()

    return energy_and_grad, float(circuit(ANGLES.double()))


def batch_ratio(n: int, repeats: int) -> float:
    problems = [qaoa.random_regular_maxcut(n, seed=s) for s in range(32)]
    batched_ansatz = qaoa.BatchedQAOA(problems, 2, dtype=torch.complex64)
    singles = [qaoa.QAOA(p, 2, dtype=torch.complex64) for p in problems]

    def batched():
        theta = ANGLES.expand(32, 4).clone().requires_grad_(True)
        batched_ansatz.energy(theta).sum().backward()

    def single():
        for a in singles:
            theta = ANGLES.clone().requires_grad_(True)
            a.energy(theta).backward()

    return median_seconds(batched, repeats) / median_seconds(single, repeats)


def dc_times(n: int, batch: int, repeats: int) -> dict[str, float]:
    """Median seconds of one DC-QAOA energy-and-gradient call over ``batch`` graphs, each of the three ways."""
    problems = [qaoa.random_regular_maxcut(n, seed=1_000 + s) for s in range(batch)]
    tabulated = [qaoa.DCQAOA(problem, 2) for problem in problems]
    saved = circuit.PAULI_TABLE_WIRES
    circuit.PAULI_TABLE_WIRES = 0  # no tables: apply_pauli on the state's n-dimensional view, per problem
    try:
        plain = [qaoa.DCQAOA(problem, 2) for problem in problems]
        for ansatz in plain:
            ansatz.rotations()  # built (and cached) while the tables are off
    finally:
        circuit.PAULI_TABLE_WIRES = saved
    theta = torch.tensor([0.3, 0.7, 0.1, 0.5, 0.2, -0.1], dtype=torch.float64).expand(batch, 6)

    def one_by_one(ansatzes):
        def run():
            rows = theta.clone().requires_grad_(True)
            torch.stack([a.energy(row) for a, row in zip(ansatzes, rows)]).sum().backward()

        return run

    def stacked():
        rows = theta.clone().requires_grad_(True)
        qaoa.batch_energy(tabulated, rows).sum().backward()

    runs = {"apply_pauli": one_by_one(plain), "tables": one_by_one(tabulated), "stacked": stacked}
    return interleaved_medians(runs, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 10, 12, 14, 16, 18, 20])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-default-qubit", type=int, default=20, help="largest n timed on default.qubit")
    parser.add_argument("--dc-sizes", type=int, nargs="*", default=[8, 10, 12], help="DC-QAOA sizes (none: skip)")
    parser.add_argument("--dc-batch", type=int, default=8, help="DC-QAOA graphs per call (meta-training's batch)")
    args = parser.parse_args()
    try:
        import pennylane as qml

        have_pl = True
        version = qml.version()
    except ImportError:
        have_pl, version = False, "not installed"
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, PennyLane {version}; p = 2, median of {args.repeats}"
    )
    header = (
        f"{'n':>3} {'ours ms':>9} {'default ms':>11} {'x':>6} {'lightning ms':>13} {'x':>6} "
        f"{'stream ms':>10} {'fwd/floor':>10} {'|dE|':>9} {'batch32/32x1':>13} {'peak RSS MB':>12}"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        problem = qaoa.random_regular_maxcut(n, seed=n)
        run, forward, value = ours(problem)
        t_ours = median_seconds(run, args.repeats)
        t_fwd = median_seconds(forward, args.repeats)
        state = torch.full(
            (2**n,), 0.5 + 0.5j, dtype=torch.complex64
        )  # touched pages (a zeros tensor may map the zero page)
        t_stream = median_seconds(state.clone, max(args.repeats, 5))
        floor = t_stream * ((n + 1) * 2 + 1)
        cells = {"default": "-", "dx": "-", "lightning": "-", "lx": "-", "dE": "-"}
        if have_pl:
            if n <= args.max_default_qubit:
                pl_run, pl_value = pennylane(problem, "default.qubit", "backprop")
                t = median_seconds(pl_run, args.repeats)
                cells.update(default=f"{1e3 * t:.1f}", dx=f"{t / t_ours:.1f}", dE=f"{abs(pl_value - value):.1e}")
            try:
                lt_run, lt_value = pennylane(problem, "lightning.qubit", "adjoint")
                t = median_seconds(lt_run, args.repeats)
                cells.update(lightning=f"{1e3 * t:.1f}", lx=f"{t / t_ours:.1f}")
            except Exception as err:  # lightning not installed or unsupported here
                cells.update(lightning=type(err).__name__)
        ratio = f"{batch_ratio(n, args.repeats):.2f}" if n <= 14 else "-"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{n:>3} {1e3 * t_ours:>9.1f} {cells['default']:>11} {cells['dx']:>6} {cells['lightning']:>13} {cells['lx']:>6} "
            f"{1e3 * t_stream:>10.2f} {t_fwd / floor:>10.2f} {cells['dE']:>9} {ratio:>13} {peak:>12.0f}",
            flush=True,
        )
    if args.dc_sizes:
        print(f"\nDC-QAOA (zy), p = 2, {args.dc_batch} graphs per call, energies + gradients, interleaved medians")
        print(f"{'n':>3} {'apply_pauli ms':>15} {'tables ms':>10} {'stacked ms':>11} {'speed-up':>9}")
        for n in args.dc_sizes:
            t = dc_times(n, args.dc_batch, max(args.repeats, 5))
            print(
                f"{n:>3} {1e3 * t['apply_pauli']:>15.1f} {1e3 * t['tables']:>10.1f} {1e3 * t['stacked']:>11.1f} "
                f"{t['apply_pauli'] / t['stacked']:>8.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
