"""Fuzzing the public entry points with malformed tensors, graphs, states, tableaus and flags.

Every call either succeeds with a correct (finite, where the input was finite) result, or raises
``ValueError``/``TypeError`` whose message starts with the name of an argument of that entry point.
A foreign exception (IndexError, RuntimeError from torch, AttributeError), a message naming no
argument, or NaN from finite input fails the property.
"""

import contextlib
import importlib
import io
import math
import os

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import cells
import ornn
from applications.dynamics import evolve_exact
from applications.qaoa.ansatz import DCQAOA, QAOA
from applications.qaoa.problems import SK, MaxCut
from ornn import stability

pytestmark = pytest.mark.filterwarnings("ignore")
#: examples per property = base x SCALE (default 4, ~10 s); ORNN_FUZZ_SCALE=40 searches ten times deeper
SCALE = int(os.environ.get("ORNN_FUZZ_SCALE", "4"))

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.complex128, torch.int64, torch.bool]
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e6, -1e6]


@st.composite
def tensors(draw, max_dims=3, sizes=(0, 1, 2, 3, 4, 8)):
    """Tensors of any rank up to ``max_dims``, odd sizes (zeros included), any dtype, sometimes non-finite."""
    shape = tuple(draw(st.lists(st.sampled_from(sizes), max_size=max_dims)))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    values = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if values.numel() and draw(st.booleans()):
        values.view(-1)[draw(st.integers(0, values.numel() - 1))] = draw(st.sampled_from(SPECIAL))
    if dtype.is_complex:
        return torch.complex(values, values.flip(-1) if values.dim() else values).to(dtype)
    return values.to(dtype) if dtype != torch.bool else values > 0


def malformed(max_dims=3):
    """Tensors, plus the non-tensors users pass: lists, numpy arrays, numbers, strings, None."""
    return st.one_of(
        tensors(max_dims),
        st.lists(st.floats(allow_nan=True), max_size=4),
        st.builds(np.ones, st.sampled_from([(2,), (2, 3), (4,)])),
        st.sampled_from([None, "x", 3, 2.5, True]),
    )


def names_an_argument(err, arguments):
    head = str(err).split(":")[0]
    return any(head == a or head.startswith(a + "[") or head.startswith(a + " ") for a in arguments), str(err)


def finite_input(value):
    return isinstance(value, torch.Tensor) and bool(torch.isfinite(value).all()) and value.numel() > 0


def check(call, value, arguments, finite_result=True):
    """Run ``call(value)``: refusal must name an argument; success from finite input must be finite."""
    try:
        result = call(value)
    except (ValueError, TypeError) as err:
        ok, message = names_an_argument(err, arguments)
        assert ok, f"{type(err).__name__}: {message}"
        return None
    if finite_result and finite_input(value):
        leaves = result if isinstance(result, (tuple, list)) else (result,)
        for leaf in ornn._tree.leaves(leaves):
            if isinstance(leaf, torch.Tensor):
                assert bool(torch.isfinite(leaf).all()), f"non-finite result from finite input {value!r}"
    return result


CELL_NAMES = ["lstm", "gru", "urnn", "cw_rnn", "sru", "arnn", "qunn"]


@settings(max_examples=60 * SCALE)
@given(name=st.sampled_from(CELL_NAMES), x=malformed(3))
def test_cells_and_recurrent_refuse_malformed_input_by_name(name, x):
    torch.manual_seed(0)
    cell = cells.create(name, 3, 4)
    check(
        lambda v: cell(v[0] if isinstance(v, torch.Tensor) and v.dim() == 3 and len(v) else v),
        x,
        ["x_t", "hx", "state"],
    )
    check(lambda v: ornn.Recurrent(cell)(v), x, ["x", "hx", "state", "x_t"])


@settings(max_examples=60 * SCALE)
@given(params=malformed(2), dc=st.booleans())
def test_qaoa_energy_and_state_refuse_malformed_parameters(params, dc):
    problem = MaxCut(nx.cycle_graph(4))
    ansatz = DCQAOA(problem, 1) if dc else QAOA(problem, 2)
    energy = check(ansatz.energy, params, ["params"])
    if energy is not None:  # a good call: the energy lies in [min H_c, max H_c]
        assert bool((energy >= problem.optimum - 1e-9).all()) and bool((energy <= problem.cost.max() + 1e-9).all())
    check(ansatz.state, params, ["params"])


@settings(max_examples=40 * SCALE)
@given(psi0=malformed(2), n=st.sampled_from([1, 2, 3]), method=st.sampled_from(["eig", "krylov", "auto"]))
def test_evolve_exact_refuses_malformed_states(psi0, n, method):
    if isinstance(psi0, torch.Tensor) and psi0.is_complex() and psi0.shape and psi0.shape[-1] == 2**n:
        norms = torch.linalg.vector_norm(psi0, dim=-1, keepdim=True)
        if bool(torch.isfinite(norms).all()) and bool((norms > 0).all()):
            psi0 = psi0 / norms  # some draws are valid states: their evolution keeps the norm
    path = check(lambda v: evolve_exact(v, n, 3, method=method), psi0, ["psi0", "n_spins", "steps"])
    if path is not None and path.numel():
        assert torch.allclose(torch.linalg.vector_norm(path, dim=-1), torch.ones(()).to(path.real.dtype), atol=1e-5)


@settings(max_examples=40 * SCALE)
@given(y0=malformed(2), state_shape=st.sampled_from([None, (3,)]))
def test_ode_solve_refuses_malformed_initial_values(y0, state_shape):
    f = torch.nn.Linear(3, 3).double()
    with torch.no_grad():
        f.weight.mul_(0.1)
    cell = ornn.ODECell(f, step_size=0.1, state_shape=state_shape)
    check(lambda v: cell.solve(v, 3), y0, ["y0", "steps"])


@settings(max_examples=40 * SCALE)
@given(inputs=malformed(3), require=st.sampled_from(["bounded", "gradient-preserving", "stable"]))
def test_stability_check_refuses_malformed_inputs(inputs, require):
    cell = cells.create("lstm", 3, 4).double()
    report = check(
        lambda v: stability.check(cell, v, require=require), inputs, ["inputs", "state", "x_t", "require"], False
    )
    if report is not None:
        assert math.isfinite(report.lyapunov_exponent) and report.steps == inputs.shape[0]


@settings(max_examples=60 * SCALE)
@given(
    z=st.one_of(
        st.complex_numbers(allow_nan=True, allow_infinity=True),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
        st.text(max_size=3),
        st.sampled_from([None, [1j, "a"], {"z": 1}]),
    ),
    tab=st.sampled_from(["euler", "rk4", "heun", "nope", 3]),
)
def test_stability_functions_refuse_malformed_arguments(z, tab):
    value = check(lambda v: stability.stability_function(tab, v), z, ["z", "tab", "tableau"], False)
    if value is not None:
        assert np.all(np.isfinite(value))
    check(lambda v: stability.is_stable(tab, v), z, ["h_lambda", "tab", "tableau"], False)


@settings(max_examples=60 * SCALE)
@given(
    a=st.one_of(
        st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3), max_size=3),
        st.sampled_from(["abc", None, 1.0, [[1]], [[0.0, 0.0], [1.0, 0.0]]]),
    ),
    b=st.one_of(st.lists(st.floats(allow_nan=True), max_size=3), st.sampled_from([None, "b", [0.5, 0.5], [1.0]])),
    c=st.one_of(st.lists(st.floats(allow_nan=True), max_size=3), st.sampled_from([None, [0.0, 1.0], [0.0]])),
)
def test_tableaus_refuse_malformed_coefficients(a, b, c):
    try:
        tab = ornn.Tableau(a, b, c)
    except (ValueError, TypeError) as err:
        ok, message = names_an_argument(err, ["a", "b", "c", "name", "order"])
        assert ok, message
        return
    # an accepted tableau (explicit or implicit) is consistent: R(z) = 1 + z + O(z^2), read at a tiny z
    z = -1e-9
    try:
        slope = (complex(stability.stability_function(tab, z)) - 1.0) / z
    except ValueError as err:  # a pole of an implicit method at this z is reported by name
        assert str(err).startswith("z: "), str(err)
        return
    scale = max(1.0, max((abs(v) for row in tab.a for v in row), default=1.0)) ** tab.stages
    assert abs(slope - 1.0) < 1e-6 * scale + 1e-6


EDGE_WEIGHTS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-1.0, 0, 1, True, "heavy", None, 1e308, 1 + 1j])
)


@settings(max_examples=60 * SCALE)
@given(
    edges=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), EDGE_WEIGHTS), max_size=6),
    kind=st.sampled_from(["graph", "digraph", "multigraph"]),
)
def test_maxcut_refuses_malformed_graphs(edges, kind):
    graph = {"graph": nx.Graph, "digraph": nx.DiGraph, "multigraph": nx.MultiGraph}[kind]()
    for u, v, w in edges:
        graph.add_edge(u, v, **({} if w is None else {"weight": w}))
    try:
        problem = MaxCut(graph)
    except (ValueError, TypeError) as err:
        ok, message = names_an_argument(err, ["graph"])
        assert ok, message
        return
    # accepted: the optimum is the brute-force maximum cut
    nodes = list(graph.nodes)
    best = max(
        sum(
            graph[u][v].get("weight", 1.0)
            for u, v in graph.edges
            if ((mask >> nodes.index(u)) ^ (mask >> nodes.index(v))) & 1
        )
        for mask in range(2 ** len(nodes))
    )
    assert problem.max_cut == pytest.approx(best, rel=1e-9, abs=1e-9)


@settings(max_examples=40 * SCALE)
@given(couplings=malformed(2))
def test_sk_refuses_malformed_couplings(couplings):
    problem = check(SK, couplings, ["couplings", "n"], False)
    if problem is not None:
        assert math.isfinite(problem.optimum)


FLAG_VALUES = st.sampled_from(["0", "-1", "1", "3", "2.5", "nan", "inf", "abc", "", "1e9", "--resume"])


@settings(max_examples=80 * SCALE)
@given(
    command=st.sampled_from(
        ["qaoa train", "qaoa evaluate", "qaoa compare", "dynamics train", "dynamics evaluate", "check lstm"]
    ),
    flags=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "--p",
                    "--steps",
                    "--epochs",
                    "--lr",
                    "--hidden",
                    "--batch",
                    "--seed",
                    "--spins",
                    "--width",
                    "--decay",
                    "--per-size",
                    "--test-sizes",
                    "--kind",
                    "--cell",
                    "--epoch",
                    "--hid",
                    "--nproc",
                    "--count",
                ]
            ),
            FLAG_VALUES,
        ),
        max_size=3,
    ),
)
def test_command_line_parsers_refuse_malformed_flags_in_one_line(command, flags):
    """Parse only (nothing runs): every malformed flag is refused at parse time with exit 2 and one line."""

    name, *rest = command.split()
    module = importlib.import_module(f"ornn_cli.commands.{name}")
    argv = [*rest, *(token for pair in flags for token in pair), *(["--out", "x"] if "train" in command else [])]
    argv += ["--run", "x"] if "evaluate" in command else []
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = getattr(module, "_parser", getattr(module, "parser", None))().parse_args(argv)
    except SystemExit as exit_:
        err = stderr.getvalue()
        assert exit_.code == 2 and "Traceback" not in err, err
        assert len([line for line in err.splitlines() if "error:" in line]) == 1, err
        return
    for value in vars(args).values():  # what was accepted is what the flags promise
        if isinstance(value, float):
            assert math.isfinite(value)
    for flag in ("--epoch", "--hid"):
        assert flag not in argv, f"{flag} was accepted as an abbreviation"
