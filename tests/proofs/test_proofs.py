"""Every proof holds on drawn instances, reports its figures, and the table and CLI behave."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import proofs
from ornn_cli.main import main as ornn_main


@settings(max_examples=4)
@given(input_size=st.integers(1, 4), hidden=st.integers(1, 6), layers=st.integers(1, 3), seed=st.integers(0, 99))
def test_claim1_on_drawn_sizes(input_size, hidden, layers, seed):
    r = proofs.claim1.check(input_size=input_size, hidden_size=hidden, num_layers=layers, length=5, batch=2, seed=seed)
    assert r.verdict and r.figures["max_error_lstm"] <= 1e-10 and r.figures["(n,t)_lstm"] == "2-1"


@settings(max_examples=4)
@given(hidden=st.integers(1, 12), seed=st.integers(0, 99))
def test_claim2_on_drawn_sizes(hidden, seed):
    r = proofs.claim2.check(hidden_size=hidden, length=5, seed=seed)
    assert r.verdict and r.figures["||W^H W - I||_F"] <= 1e-12


@settings(max_examples=4)
@given(periods=st.sampled_from([(1, 2), (1, 3, 9), (2, 5, 7, 11)]), seed=st.integers(0, 99))
def test_claim3_on_drawn_schedules(periods, seed):
    r = proofs.claim3.check(hidden_size=len(periods) * 2, periods=periods, length=25, seed=seed)
    assert r.verdict and r.figures["(n,t)"] == "1-1"


@settings(max_examples=3)
@given(size=st.integers(2, 5), seed=st.integers(0, 99))
def test_theorem1_boundary_is_the_schemes(size, seed):
    r = proofs.theorem1.check(size=size, steps=1500, seed=seed)
    assert r.verdict and r.figures["bounded_below_1"]
    assert 1.8 <= r.figures["measured_boundary"] <= 2.05  # symplectic Euler: |h lambda| < 2


@settings(max_examples=3)
@given(hidden=st.integers(2, 8), seed=st.integers(0, 99))
def test_theorem2_round_trips_at_round_off(hidden, seed):
    r = proofs.theorem2.check(hidden_size=hidden, steps=1000, seed=seed)
    assert r.verdict
    assert r.figures["round_trip_1-ARNN"] <= 1e-9 and r.figures["round_trip_2-ARNN"] <= 1e-9
    assert r.figures["tanh_rnn_reconstruction_error"] > 1e-3  # the contrast: no exact inverse


def test_theorem3_full_adder_on_every_input():
    r = proofs.theorem3.check(samples=61)
    assert r.verdict and r.figures["worst_conditional_fidelity"] >= 1 - 1e-8
    assert 0.2 < r.figures["min_peak_success_probability"] <= 1.0


def test_clock_hamiltonian_is_hermitian_and_gates_are_permutations():
    from proofs.theorem3 import FULL_ADDER, clock_hamiltonian, permutation

    h = clock_hamiltonian(FULL_ADDER, 4)
    assert h.isherm and h.shape == (96, 96)
    for gate in FULL_ADDER:
        u = permutation(gate, 4)
        assert (u @ u.T == __import__("numpy").eye(16)).all()


@settings(max_examples=2)
@given(spins=st.integers(2, 4), seed=st.integers(0, 99))
def test_theorem4_first_order_convergence(spins, seed):
    r = proofs.theorem4.check(dimension=6, spins=spins, dts=(0.04, 0.02, 0.01), stability_steps=400, seed=seed)
    assert r.verdict
    assert abs(r.figures["random_slope"] - 1.0) < 0.15 and abs(r.figures["ising_slope"] - 1.0) < 0.15


def test_table_json_and_exit_codes(tmp_path, capsys):
    out = tmp_path / "proofs.json"
    assert ornn_main(["prove", "claim3", "theorem3", "--quick", "--markdown", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| claim3 |" in printed and "holds" in printed and "\\|" in printed  # pipes escaped in Markdown
    data = json.loads(out.read_text())
    assert [d["name"] for d in data] == ["claim3", "theorem3"] and all(d["verdict"] for d in data)
    with pytest.raises(SystemExit) as exit_info:
        ornn_main(["prove", "nope"])
    assert exit_info.value.code == 2
    assert "unknown proof 'nope'" in capsys.readouterr().err
    assert ornn_main(["prove", "claim2", "--quick"]) == 0
    with pytest.raises(ValueError, match="name: unknown proof 'x'"):
        proofs.run(["x"])


def test_failed_verdict_exits_1(monkeypatch):
    failing = proofs.ProofResult(
        name="claim1", statement="s", source="the unification paper, Claim 1", figures={}, key_figure="k", verdict=False
    )
    monkeypatch.setitem(proofs.PROOFS, "claim1", lambda **_: failing)
    assert ornn_main(["prove", "claim1"]) == 1
    assert ornn_main(["prove", "claim1"]) == 1


def test_instance_options_pass_through(tmp_path, capsys):
    out = tmp_path / "t1.json"
    assert ornn_main(["prove", "theorem1", "--set", "size=3", "--set", "steps=500", "--json", str(out)]) == 0
    assert json.loads(out.read_text())[0]["instance"]["size"] == 3
    assert ornn_main(["prove", "claim1", "--set", "steps=5"]) == 2
    assert "proof 'claim1' has no option 'steps'; its options are input_size" in capsys.readouterr().err
    assert ornn_main(["prove", "claim1", "--set", "oops"]) == 2
    assert ornn_main(["prove", "claim3", "--set", "length=5"]) == 0
