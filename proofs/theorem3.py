r"""Theorem 3 of the unification paper: a Boolean function maps to a unique fixed point of an ODE whose
characteristic function (the Hamiltonian) has polynomially many parameters (Feynman 1986; Kitaev et al. 2002).

Three claims are measured on reversible adders (chains of full adders, 2 Toffoli + 3 CNOT each):

* **unique fixed point**: with the clock Hamiltonian in Kitaev's form, H = H_in(x) + H_prop,

      H_prop = sum_t (1/2) [I (x) (|t><t| + |t-1><t-1|) - U_t (x) |t><t-1| - U_t^dag (x) |t-1><t|],
      H_in(x) = sum_i |not x_i><not x_i|_i (x) |0><0|_clock,

  the history state |eta> = (k+1)^(-1/2) sum_t U_t..U_1 |x> (x) |t> is its unique ground state, at
  energy 0: an exact fixed point of d psi/dt = -i H psi. Checked against QuTiP's ground state and
  spectrum (gap above it), for every input; the ground state's final clock slot holds f(x).
* **polynomial size**: H is a sum of local terms (a gate on <= 3 wires times one clock transition,
  one projector per input wire); the terms are checked to add up to H, and their count and
  parameter count grow linearly with the number of gates while H's dimension grows like 2^wires.
* **Feynman's evolution reads out f(x)**: evolving |x, clock 0> under Feynman's hopping Hamiltonian
  sum_t U_t (x) |t><t-1| + h.c. with QuTiP and conditioning on the final clock slot gives f(x). The
  construction guarantees this conditional fidelity by itself; the success probability is the figure.
"""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np
import qutip

from .result import ProofResult, Verdict

Bits = tuple[int, ...]
Gate = Callable[[Bits], Bits]


def toffoli(c1: int, c2: int, target: int) -> Gate:
    def gate(bits: Bits) -> Bits:
        out = list(bits)
        out[target] ^= bits[c1] & bits[c2]
        return tuple(out)

    gate.wires = (c1, c2, target)  # type: ignore[attr-defined]
    return gate


def cnot(control: int, target: int) -> Gate:
    def gate(bits: Bits) -> Bits:
        out = list(bits)
        out[target] ^= bits[control]
        return tuple(out)

    gate.wires = (control, target)  # type: ignore[attr-defined]
    return gate


def full_adder(a: int, b: int, c: int, d: int) -> tuple[Gate, ...]:
    """On wires (a, b, c, d = 0): afterwards c holds a xor b xor c, d the carry, and a, b are restored."""
    return (toffoli(a, b, d), cnot(a, b), toffoli(b, c, d), cnot(b, c), cnot(a, b))


#: the one-bit full adder on (a, b, c_in, 0)
FULL_ADDER = full_adder(0, 1, 2, 3)


def ripple_adder(bits: int) -> tuple[tuple[Gate, ...], int]:
    """(gates, wires) of a ``bits``-bit ripple-carry adder: wires a_i = 3i, b_i = 3i+1, c_i = 3i+2 and the
    final carry 3 bits; full adder i writes the sum bit on c_i and its carry on c_{i+1}."""
    if bits < 1:
        raise ValueError(f"bits: expected at least 1, got {bits}")

    def carry(i: int) -> int:
        return 3 * i + 2 if i < bits else 3 * bits

    gates = tuple(g for i in range(bits) for g in full_adder(3 * i, 3 * i + 1, carry(i), carry(i + 1)))
    return gates, 3 * bits + 1


def _index(bits: Bits) -> int:
    return int("".join(map(str, bits)), 2)  # wire 0 is the most significant bit


def permutation(gate: Gate, wires: int) -> np.ndarray:
    """The unitary of a classical reversible gate: |z> -> |gate(z)>."""
    u = np.zeros((2**wires, 2**wires))
    for bits in itertools.product((0, 1), repeat=wires):
        u[_index(gate(bits)), _index(bits)] = 1.0
    return u


def _register(u: np.ndarray, wires: int) -> qutip.Qobj:
    return qutip.Qobj(u, dims=[[2] * wires, [2] * wires])


def _transition(levels: int, to: int, frm: int) -> qutip.Qobj:
    return qutip.basis(levels, to) * qutip.basis(levels, frm).dag()


def clock_hamiltonian(gates: Sequence[Gate], wires: int) -> qutip.Qobj:
    """Feynman's H = sum_t U_t (x) |t><t-1| + h.c. on register (x) clock (a qudit with len(gates) + 1 levels)."""
    k = len(gates)
    h = 0
    for t, gate in enumerate(gates, start=1):
        hop = qutip.tensor(_register(permutation(gate, wires), wires), _transition(k + 1, t, t - 1))
        h = h + hop + hop.dag()
    return h


def propagation_hamiltonian(gates: Sequence[Gate], wires: int) -> qutip.Qobj:
    """Kitaev's H_prop = sum_t (1/2)[I (x) (|t><t| + |t-1><t-1|)] - (1/2) Feynman's hopping Hamiltonian."""
    k = len(gates)
    occupancy = np.zeros(k + 1)
    occupancy[:-1] += 0.5
    occupancy[1:] += 0.5
    diagonal = qutip.tensor(*[qutip.qeye(2)] * wires, qutip.Qobj(np.diag(occupancy)))
    return diagonal - 0.5 * clock_hamiltonian(gates, wires)


def input_hamiltonian(x: Bits, clock_levels: int) -> qutip.Qobj:
    """H_in(x) = sum_i |not x_i><not x_i| on wire i, at clock 0: zero energy only for the input x."""
    wires = len(x)
    clock0 = _transition(clock_levels, 0, 0)
    h = 0
    for i, bit in enumerate(x):
        ops = [qutip.qeye(2)] * wires
        ops[i] = qutip.basis(2, 1 - bit) * qutip.basis(2, 1 - bit).dag()
        h = h + qutip.tensor(*ops, clock0)
    return h


def history_state(gates: Sequence[Gate], x: Bits) -> qutip.Qobj:
    """(k+1)^(-1/2) sum_t |U_t..U_1 x> (x) |t>, built by running the gates classically."""
    k = len(gates)
    state, bits = 0, x
    for t in range(k + 1):
        if t:
            bits = gates[t - 1](bits)
        state = state + qutip.tensor(*[qutip.basis(2, v) for v in bits], qutip.basis(k + 1, t))
    return state / np.sqrt(k + 1)


def local_terms(gates: Sequence[Gate], wires: int) -> list[tuple[tuple[int, ...], np.ndarray, tuple[int, int]]]:
    """Feynman's H as local terms: (the gate's wires, its 2^m x 2^m permutation on them, clock transition (t, t-1))."""
    terms = []
    for t, gate in enumerate(gates, start=1):
        on = tuple(gate.wires)  # type: ignore[attr-defined]
        local = np.zeros((2 ** len(on), 2 ** len(on)))
        for sub in itertools.product((0, 1), repeat=len(on)):
            bits = [0] * wires
            for wire, v in zip(on, sub):
                bits[wire] = v
            out = gate(tuple(bits))
            local[_index(tuple(out[w] for w in on)), _index(sub)] = 1.0
        terms.append((on, local, (t, t - 1)))
    return terms


def _embed(on: Sequence[int], local: np.ndarray, wires: int) -> qutip.Qobj:
    """The operator ``local`` on wires ``on`` (in that order), identity elsewhere."""
    rest = [w for w in range(wires) if w not in on]
    op = qutip.tensor(qutip.Qobj(local, dims=[[2] * len(on), [2] * len(on)]), *[qutip.qeye(2)] * len(rest))
    order = list(on) + rest
    return op.permute(list(np.argsort(order)))


def size_of(bits: int) -> dict[str, int]:
    """Terms, parameters and dimension of the ``bits``-bit adder's Hamiltonian H_in + H_prop, after checking that
    the local terms add up to Feynman's hopping Hamiltonian."""
    gates, wires = ripple_adder(bits)
    k = len(gates)
    terms = local_terms(gates, wires)
    rebuilt = 0
    for on, local, (to, frm) in terms:
        hop = qutip.tensor(_embed(on, local, wires), _transition(k + 1, to, frm))
        rebuilt = rebuilt + hop + hop.dag()
    mismatch = (rebuilt - clock_hamiltonian(gates, wires)).norm("max")
    if mismatch > 0:
        raise AssertionError(f"the local terms of the {bits}-bit adder do not add up to its Hamiltonian ({mismatch})")
    # each gate term: its local matrix's non-zeros (a permutation: 2^m) and one clock transition; the clock's
    # diagonal in H_prop is k + 1 numbers; H_in is one projector per wire
    parameters = sum(int(np.count_nonzero(local)) + 1 for _, local, _ in terms) + (k + 1) + wires
    return {
        "bits": bits,
        "gates": k,
        "wires": wires,
        "terms": len(terms) + 1 + wires,
        "parameters": parameters,
        "dimension": 2**wires * (k + 1),
    }


def check(*, final_time: float = 6.0, samples: int = 121, sizes: Sequence[int] = (1, 2, 3)) -> ProofResult:
    """Theorem 3 on the full adder (fixed point, readout) and on 1..3-bit ripple adders (size)."""
    gates, wires = FULL_ADDER, 4
    k = len(gates)
    prop = propagation_hamiltonian(gates, wires)
    feynman = clock_hamiltonian(gates, wires)
    times = np.linspace(0.0, final_time, samples)
    clock_end = qutip.tensor(*[qutip.qeye(2)] * wires, _transition(k + 1, k, k))
    project_end = qutip.tensor(*[qutip.qeye(2)] * wires, qutip.basis(k + 1, k).dag())
    worst_ground, worst_energy, smallest_gap, worst_readout = 1.0, 0.0, np.inf, 1.0
    worst_fidelity, success_curves, best = 1.0, [], []
    for a, b, c in itertools.product((0, 1), repeat=3):
        x = (a, b, c, 0)
        total = a + b + c
        expected = qutip.tensor(*[qutip.basis(2, v) for v in (a, b, total % 2, total // 2)])
        # the unique fixed point: QuTiP's ground state of H_in(x) + H_prop against the history state
        h = input_hamiltonian(x, k + 1) + prop
        energies = h.eigenenergies()
        energy, ground = h.groundstate()
        eta = history_state(gates, x)
        worst_ground = min(worst_ground, float(abs(eta.overlap(ground)) ** 2))
        worst_energy = max(worst_energy, abs(float(energy)))
        smallest_gap = min(smallest_gap, float(energies[1] - energies[0]))
        slot = project_end * ground
        worst_readout = min(worst_readout, float(abs(expected.overlap(slot)) ** 2 / slot.norm() ** 2))
        # Feynman's evolution, conditioned on the final clock slot
        start = qutip.tensor(*[qutip.basis(2, v) for v in x], qutip.basis(k + 1, 0))
        result = qutip.sesolve(feynman, start, times, e_ops=[clock_end], options={"atol": 1e-12, "rtol": 1e-10})
        success = np.real(np.asarray(result.expect[0]))
        success_curves.append(success)
        peak = int(np.argmax(success))
        best.append(success[peak])
        final = qutip.sesolve(feynman, start, [0.0, times[peak]], options={"atol": 1e-12, "rtol": 1e-10}).states[-1]
        register = project_end * final
        worst_fidelity = min(worst_fidelity, float(abs(expected.overlap(register)) ** 2 / register.norm() ** 2))
    mean_curve = np.mean(success_curves, axis=0)

    table = [size_of(bits) for bits in sizes]
    gates_n = np.array([row["gates"] for row in table], float)
    degree = (
        float(np.polyfit(np.log(gates_n), np.log([row["parameters"] for row in table]), 1)[0])
        if len(table) > 1
        else float("nan")
    )
    per_gate = max(row["parameters"] / row["gates"] for row in table)
    verdicts = (
        Verdict(
            "the history state is the unique fixed point (ground state)",
            bool(
                worst_ground >= 1 - 1e-10
                and worst_energy <= 1e-10
                and smallest_gap > 1e-3
                and worst_readout >= 1 - 1e-10
            ),
            f"QuTiP ground state vs history state: fidelity >= {worst_ground:.12f}, |E0| <= {worst_energy:.1e}, "
            f"gap >= {smallest_gap:.4f}, final clock slot holds f(x) to {1 - worst_readout:.1e}, all 8 inputs",
        ),
        Verdict(
            "polynomially many parameters",
            bool(len(table) > 1 and degree <= 1.5),
            f"parameters {', '.join(str(r['parameters']) for r in table)} for {', '.join(str(r['gates']) for r in table)} "
            f"gates (degree {degree:.2f}, <= {per_gate:.1f} per gate); dimension "
            f"{', '.join(str(r['dimension']) for r in table)}",
        ),
        Verdict(
            "Feynman's evolution reads out f(x) on the final clock slot",
            bool(worst_fidelity >= 1 - 1e-8 and min(best) > 0.2),
            f"conditional fidelity >= {worst_fidelity:.10f} for all 8 inputs; peak success probability {min(best):.3f}",
        ),
    )
    return ProofResult(
        name="theorem3",
        statement="A reversible Boolean circuit maps to a unique fixed point of a Schrödinger ODE whose Hamiltonian has "
        "polynomially many parameters; evolved, it computes the circuit's output on the final clock slot.",
        source="the unification paper, Theorem 3 and supplementary A (Feynman 1986; Kitaev et al. 2002)",
        figures={
            "worst_ground_state_fidelity": worst_ground,
            "worst_ground_energy": worst_energy,
            "smallest_gap": smallest_gap,
            "worst_ground_state_readout": worst_readout,
            "worst_conditional_fidelity": worst_fidelity,
            "min_peak_success_probability": float(min(best)),
            "peak_time": float(times[int(np.argmax(mean_curve))]),
            "size_table": table,
            "parameter_degree": degree,
            "mean_success_curve": mean_curve.tolist(),
            "times": times.tolist(),
        },
        verdicts=verdicts,
        instance={
            "circuit": "full adder",
            "register_qubits": wires,
            "clock_levels": k + 1,
            "final_time": final_time,
            "adder_bits": list(sizes),
        },
        notes="The fixed point is checked on Kitaev's form of the clock Hamiltonian (a propagation term plus an input "
        "penalty). Feynman's hopping form, used for the evolution, has a degenerate ground space (one quantum walk "
        "per register state); the input penalty is what makes the fixed point unique. Its conditional fidelity is 1 by construction; the success probability is that of a "
        "quantum walk on k + 1 sites and peaks below 1. The parameter count is that of the local terms, checked to "
        "add up to the full Hamiltonian, whose dimension grows exponentially.",
    )
