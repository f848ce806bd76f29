"""The device paths on CUDA: every registered cell, the QAOA engine, the large-girth tree value and meta-training, the exact
Ising evolution and predictor training, each against the same computation on the CPU.

Marked ``gpu``: deselected by default and skipped without CUDA. Run them on a CUDA machine with
``pytest -m gpu``. Float64 on both sides; the tolerances allow for the GPU's different
reduction orders (1e-10 relative on forward values, 1e-8 after training steps).
"""

import pytest
import torch

import cells

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

CUDA = torch.device("cuda")


def cpu_and_cuda(build):
    """The same module twice, with equal weights: on the CPU and on CUDA."""
    torch.manual_seed(0)
    cpu = build().double()
    gpu = build().double()
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu.to(CUDA)


@pytest.mark.parametrize("name", cells.available())
def test_registered_cell_on_cuda_equals_cpu(name):
    cpu, gpu = cpu_and_cuda(lambda: cells.recurrent(name, 3, 4, num_layers=2, batch_first=True))
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    out_cpu, _ = cpu(x)
    out_gpu, state = gpu(x.to(CUDA))
    assert out_gpu.device.type == CUDA.type
    assert all(
        t.device.type == CUDA.type
        for t in (state if isinstance(state, tuple) else (state,))
        if isinstance(t, torch.Tensor)
    )
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, rtol=1e-10, atol=1e-12)
    out_gpu.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == CUDA.type for p in gpu.parameters() if p.requires_grad)
    cell = cells.create(name, 3, 4).to(CUDA)
    y = cell.initial_state(2, dtype=torch.float32, device=CUDA)
    leaves = y if isinstance(y, tuple) else (y,)
    assert all(t.device.type == CUDA.type for t in leaves if isinstance(t, torch.Tensor))


def test_stability_check_runs_on_cuda():
    from ornn import stability

    cpu, gpu = cpu_and_cuda(lambda: cells.create("arnn", 3, 4, scheme="leapfrog"))
    x = torch.randn(20, 2, 3, dtype=torch.float64)
    a = stability.check(cpu, x, generator=torch.Generator().manual_seed(0))
    b = stability.check(gpu, x.to(CUDA), generator=torch.Generator(device=CUDA).manual_seed(0))
    assert a.stable == b.stable and b.round_trip_error < 1e-9


def test_odecell_on_cuda_matches_torchdiffeq_on_cuda():
    from torchdiffeq import odeint

    import ornn

    weight = torch.randn(16, 16, dtype=torch.float64, device=CUDA) / 4

    def f(y):
        return torch.tanh(y @ weight.T)

    cell = ornn.ODECell(f, tableau="rk4_38", step_size=0.05)
    y0 = torch.randn(3, 16, dtype=torch.float64, device=CUDA)
    path = cell.solve(y0, 100)
    reference = odeint(lambda t, y: f(y), y0, cell.times(100).to(CUDA), method="rk4")
    torch.testing.assert_close(path, reference, rtol=1e-12, atol=1e-12)


def test_large_girth_value_and_gradient_on_cuda_equal_cpu():
    from applications.qaoa import large_girth_cut_fraction

    params = torch.tensor([-0.42, 0.61, -0.8, 0.46, -0.94, 0.24], dtype=torch.float64, requires_grad=True)
    on_gpu = params.detach().to(CUDA).requires_grad_(True)
    cpu, gpu = large_girth_cut_fraction(params, 3), large_girth_cut_fraction(on_gpu, 3)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.detach().cpu(), cpu.detach(), rtol=1e-12, atol=1e-12)
    cpu.backward()
    gpu.backward()
    torch.testing.assert_close(on_gpu.grad.cpu(), params.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dc", [False, True])
def test_qaoa_energy_and_gradient_on_cuda_equal_cpu(dc):
    from applications import qaoa

    problem = qaoa.random_regular_maxcut(12, seed=3)
    kind = qaoa.DCQAOA if dc else qaoa.QAOA
    cpu, gpu = kind(problem, 2), kind(problem, 2, device=CUDA)
    theta = torch.randn(5, cpu.num_params, dtype=torch.float64)
    theta_gpu = theta.clone().to(CUDA).requires_grad_(True)
    theta.requires_grad_(True)
    e_cpu, e_gpu = cpu.energy(theta), gpu.energy(theta_gpu)
    torch.testing.assert_close(e_gpu.detach().cpu(), e_cpu.detach(), rtol=1e-10, atol=1e-10)
    e_cpu.sum().backward()
    e_gpu.sum().backward()
    torch.testing.assert_close(theta_gpu.grad.cpu(), theta.grad, rtol=1e-9, atol=1e-10)
    # the adjoint gradient on CUDA equals plain autograd through the state on CUDA
    theta_ad = theta.detach().to(CUDA).requires_grad_(True)
    state = gpu.state(theta_ad)
    energy = (state.abs() ** 2 * problem.cost.to(CUDA)).sum(-1)
    energy.sum().backward()
    torch.testing.assert_close(theta_ad.grad, theta_gpu.grad, rtol=1e-9, atol=1e-10)
    with pytest.raises(ValueError, match="params: expected a tensor on the ansatz's device"):
        gpu.energy(theta.detach())


def test_meta_training_on_cuda_equals_cpu():
    from applications import qaoa

    def run(device):
        torch.manual_seed(0)
        meta = qaoa.MetaOptimizer("gru", 2, hidden_size=4).double().to(device)
        history = qaoa.meta_train(
            meta,
            qaoa.ProblemDistribution("3-regular", (6, 8)),
            p=1,
            steps=3,
            epochs=2,
            batches_per_epoch=2,
            batch_size=4,
            seed=0,
        )
        return meta, history

    (cpu, h_cpu), (gpu, h_gpu) = run("cpu"), run(CUDA)
    assert h_gpu.val_loss == pytest.approx(h_cpu.val_loss, rel=1e-8)
    for (name, a), b in zip(cpu.state_dict().items(), gpu.state_dict().values()):
        torch.testing.assert_close(b.cpu(), a, rtol=1e-8, atol=1e-10, msg=name)


@pytest.mark.parametrize("spins", [3, 6, 9])
def test_exact_evolution_on_cuda_equals_qutip(spins):
    from applications import dynamics

    psi0 = dynamics.haar_states(spins, 3, generator=torch.Generator().manual_seed(1))
    reference = dynamics.evolve_qutip(psi0, spins, 40)
    ours = dynamics.evolve_exact(psi0.to(CUDA), spins, 40)  # eig up to 8 spins, Lanczos above
    assert ours.device.type == CUDA.type
    assert (ours.cpu() - reference).abs().max() < 1e-8


def test_predictor_training_on_cuda_equals_cpu():
    from applications import dynamics

    spec = dynamics.SequenceSpec(spins=(2, 3), per_spin=20, steps=6, seed=0)

    def run(device):
        torch.manual_seed(0)
        model = (
            dynamics.DynamicsPredictor(max_spins=3, width=8, cell="sru", num_layers=1, dropout=0.0).double().to(device)
        )
        history = dynamics.train_predictor(model, spec, epochs=2, batch_size=5, lr=3e-3)
        return model, history, dynamics.evaluate_predictor(model, spec, steps=6)

    (_, h_cpu, e_cpu), (_, h_gpu, e_gpu) = run("cpu"), run(CUDA)
    assert h_gpu.val_loss == pytest.approx(h_cpu.val_loss, rel=1e-8)
    assert e_gpu[3]["predictor"]["mre"] == pytest.approx(e_cpu[3]["predictor"]["mre"], rel=1e-6, abs=1e-12)
    norm = dynamics.NormPreservingPredictor((2, 3)).to(CUDA)
    rolled = norm.rollout(
        dynamics.haar_states(3, 2, generator=torch.Generator().manual_seed(0)).to(torch.complex64).to(CUDA), 10
    )
    assert rolled.device.type == CUDA.type


@pytest.mark.parametrize("name", cells.available())
def test_device_factory_keyword_builds_on_cuda(name):
    cell = cells.create(name, 3, 4, device="cuda", dtype=torch.float64)
    assert all(p.device.type == "cuda" for p in cell.parameters())
    out, _ = cell(torch.randn(2, 3, dtype=torch.float64, device=CUDA))
    assert out.device.type == "cuda" and out.dtype == torch.float64
