r"""Learned QAOA initialisation: any registered cell as a meta-optimiser (Chandarana et al., arXiv:2206.09966; Verdon et al., arXiv:1907.05415).

Three proposal rules share one module.

``proposal="residual"`` (the default). The meta-optimiser owns a zero-query start rule,
theta_0 = a + c (x - x_ref) with x = 1 / sqrt(mean degree) (the degree rule's variable), fitted
by least squares to optimised angles of training graphs and then trained with the cell. The
cell proposes bounded corrections around that start,

    theta_{t+1} = theta_0 + s * tanh(head(output_t)),     s = ``step_scale``,

reading u_t = [(theta_t - theta_0) / s, k (F~_t - F~_0) / |F~_0|, k (F~_t - F~_{t-1}) / |F~_0|,
k (F~_t - min_{j<=t} F~_j) / |F~_0|, t / T] with k = 10: where it stands, how the cost moved
relative to the start, to the previous step and to the best so far, and how much of the
horizon is left. The head starts small, so an untrained optimiser proposes points near the
start rule (not on it: proposals tied with the start would receive no gradient through the
best-so-far loss), and the best of the T + 1 evaluated points is never worse than the start.

``proposal="incumbent"`` keeps the start rule and the inputs but anchors the corrections at the best
point evaluated so far, theta*_t (the incumbent), instead of the start:

    theta_{t+1} = theta*_t + s * tanh(head(output_t)),

reading (theta_t - theta*_t) / s where the residual rule reads (theta_t - theta_0) / s. A step that
improves moves the anchor, so even a schedule the cell repeats for every problem walks downhill (a
learned pattern search), where the residual rule's proposals all lie within s of the start. The
shipped 3-regular QAOA initialisers use it; the DC-QAOA recipe trains under both rules and keeps the better on
problems of its own (``shipped.RECIPES``; measured in ``benchmarks/RESULTS.md``).

``proposal="absolute"`` is the sequence-model paper's rule: u_t = [theta_t, F~(theta_t),
F~(theta_t) - F~(theta_{t-1})] from the fixed start theta_0 = 0.1 and
theta_{t+1} = pi * tanh(head(output_t)) ("g(h_t) = pi h_t = theta_{t+1}").

Basins. A start rule sits in one basin of the energy landscape, and on some graphs the best optimum lies in
another. :meth:`MetaOptimizer.fit_start` keeps a second start rule across gamma_1 - pi where that basin wins on
the training problems (on graphs whose degrees are all odd, a first cost layer at gamma_1 = -pi is Z on every
qubit), and the cell then unrolls from both rules. For DC-QAOA, :meth:`MetaOptimizer.fit_impulse` also keeps
an impulse probe where it pays: a point near gamma = beta = 0, where the counterdiabatic layers act alone,
evaluated once in Phase I (no unroll). :func:`two_phase` runs Phase II from the best point of each basin and
keeps the lowest end.

F~ is the energy divided by the problem's total coupling weight sum |w_ij| (the number of
edges for unweighted MaxCut), so a cut fraction in [-1, 0] is what the cell sees whatever the
graph's size: one trained optimiser transfers across sizes.

Losses over an unrolled horizon T (scaled energies F~_0..F~_T, row 0 the start):

* ``"best"`` (the default): L = mean_{t>=1} min_{j<=t} F~_j + min_j F~_j + mean_{t>=1} F~_t, the
  area under the best-so-far curve plus the best value (what Phase I hands to Phase II) plus the
  mean proposal, which gives every proposal a gradient;
* ``"weighted"`` (Chandarana et al., Eq. 5): L = sum_{t>=1} w_t F~(theta_t), weights default 1;
* ``"improvement"`` (Verdon et al. 2019): L = sum_{t>=1} min(F~_t - min_{j<t} F~_j, 0).

:func:`meta_train` trains over a seeded problem distribution with checkpoints written
atomically after every epoch; ``resume=True`` continues from the last one and, because
each epoch's problems are drawn from (seed, epoch), reproduces an uninterrupted run.
:func:`two_phase` is the sequence-model paper's protocol: Phase I runs the trained cell T steps,
Phase II fine-tunes the best Phase I point with a classical optimiser.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import torch
from torch import nn

import cells  # noqa: F401  (registers the cell zoo, so cells can be named)
import ornn
from ornn import _checks, _io, distributed
from ornn.training import History, NonFiniteLossError, check_step, fit, make_optimizer, restore

from .ansatz import QAOA, make_ansatz
from .baselines import fixed_angles, linear_ramp
from .optimize import OptimizationResult, batch_energy, optimize
from .problems import FAMILIES, Problem, complete_weighted_maxcut, erdos_renyi_maxcut, random_regular_maxcut, random_sk

__all__ = [
    "MetaOptimizer",
    "MetaTrajectory",
    "TwoPhaseResult",
    "PROPOSALS",
    "best_so_far_loss",
    "weighted_cost_loss",
    "observed_improvement_loss",
    "ProblemDistribution",
    "fit_start_rules",
    "meta_train",
    "two_phase",
]

#: the proposal rules of :class:`MetaOptimizer` (module docstring)
PROPOSALS = ("residual", "incumbent", "absolute")
#: the format tag of :meth:`MetaOptimizer.save` files
META_FORMAT = "ornn.meta/1"
_GAIN = 10.0  # k: relative cost changes of a few per cent become inputs of order 0.1..1
_PAPER_START = 0.1  # the sequence-model paper's fixed start for the absolute rule
#: the least gain (mean scaled energy per training problem) for which fit_start keeps a second start (or a probe)
SECOND_START_GAIN = 1e-4
#: DC-QAOA's impulse probe (MetaOptimizer.fit_impulse): the most grid points over (alpha_1..alpha_p), at most 24
#: values per layer, and the offset off the plane gamma = beta = 0
IMPULSE_GRID_POINTS = 576
IMPULSE_OFFSET = 0.05


def _least_squares(
    centred: torch.Tensor, optima: torch.Tensor, rows: Optional[torch.Tensor] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, c) of theta ~ a + c x over the problems ``rows`` (default all, whose ``centred`` x then has mean zero);
    closed form, deterministic (unlike LAPACK's threaded drivers). A constant x gives c = 0 and a = the mean."""
    x_rows, y = (centred, optima) if rows is None else (centred[rows], optima[rows])
    mean_x = 0.0 if rows is None else float(x_rows.mean())
    local = x_rows - mean_x
    local_spread = float((local**2).sum())
    zero = torch.zeros(optima.shape[1], dtype=optima.dtype)
    slope = (local[:, None] * y).sum(0) / local_spread if local_spread > 1e-24 else zero
    return y.mean(0) - slope * mean_x, slope


def coupling_scale(problem: Problem) -> float:
    """sum |w_ij| over the problem's terms: the energy unit the meta-optimiser sees."""
    return sum(abs(w) for _, _, w in problem.terms)


def coupling_scales(ansatzes: Sequence[QAOA], dtype: torch.dtype, device: Any) -> torch.Tensor:
    """(B,) :func:`coupling_scale` of each ansatz's problem."""
    return torch.tensor([coupling_scale(a.problem) for a in ansatzes], dtype=dtype, device=device)


def inverse_sqrt_degree(problem: Problem) -> float:
    """x = 1 / sqrt(mean degree), the degree rule's variable (mean degree = 2 * terms / n)."""
    return 1.0 / math.sqrt(2.0 * len(problem.terms) / problem.n)


@dataclass(frozen=True)
class MetaTrajectory:
    """Phase I on a batch: params (T + 1, B, P) from the start; energies (T + 1, B) raw; scaled: energies / coupling scale.

    Each row costs one energy evaluation per problem, so ``evaluations`` = T + 1 and the best
    point seen is known without further cost. An optimiser with two start rules gives 2 (T + 1) rows:
    the unroll from the first start, then the one from the second; one with an impulse probe adds its one
    evaluated row last. ``segments`` gives those parts' row counts, one per basin (empty: a single part).
    """

    params: torch.Tensor
    energies: torch.Tensor
    scaled: torch.Tensor
    segments: tuple[int, ...] = ()

    def parts(self) -> list["MetaTrajectory"]:
        """The trajectory of each basin's rows (:attr:`segments`), in order; itself where there is one part."""
        if len(self.segments) <= 1:
            return [self]
        bounds = [0]
        for count in self.segments:
            bounds.append(bounds[-1] + count)
        return [
            MetaTrajectory(self.params[a:b], self.energies[a:b], self.scaled[a:b]) for a, b in zip(bounds, bounds[1:])
        ]

    @property
    def evaluations(self) -> int:
        """Energy evaluations per problem (the start and every proposal)."""
        return self.energies.shape[0]

    @property
    def best_index(self) -> torch.Tensor:
        """(B,) the row of each problem's lowest energy."""
        return torch.argmin(self.energies, dim=0)

    @property
    def best_energies(self) -> torch.Tensor:
        """(B,) the lowest energy seen per problem."""
        return self.energies.min(dim=0).values

    @property
    def best_params(self) -> torch.Tensor:
        """(B, P) the parameters of the lowest energy seen per problem."""
        return self.params[self.best_index, torch.arange(self.params.shape[1], device=self.params.device)]

    @property
    def best_so_far(self) -> torch.Tensor:
        """(T + 1, B) raw energies, the running minimum: what a user holds after each evaluation."""
        return torch.cummin(self.energies, dim=0).values


class MetaOptimizer(nn.Module):
    """A registered cell (by name or instance) plus a linear head, proposing QAOA parameters.

    Args:
        cell: a registry name (``"lstm"``, ``"gru"``, ...) or a cell whose input size is
            :attr:`input_size` (``MetaOptimizer.input_size_for(...)`` gives it before building).
        num_params: P, the ansatz's parameter count.
        hidden_size: the cell's hidden size when built by name.
        proposal: ``"residual"`` (corrections around a fitted start rule), ``"incumbent"`` (corrections
            around the best point so far, from the same start rule) or ``"absolute"`` (the sequence-model
            paper's rule); see the module docstring.
        step_scale: s, the largest correction per parameter and step of the residual and incumbent rules (radians).
        problem_features: also feed (n / 20, mean degree / 10), cheap graph features.
        use_delta: also feed the change of the scaled cost since the previous step.
        cell_kwargs: extra arguments for the registry factory.
    """

    def __init__(
        self,
        cell: Union[str, nn.Module] = "lstm",
        num_params: int = 2,
        *,
        hidden_size: int = 20,
        proposal: str = "residual",
        step_scale: float = 0.5,
        problem_features: bool = False,
        use_delta: bool = True,
        cell_kwargs: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__()
        if proposal not in PROPOSALS:
            raise ValueError(f"proposal: expected one of {', '.join(PROPOSALS)}, got {proposal!r}")
        self.num_params = _checks.positive_int("num_params", num_params)
        self.proposal = proposal
        self.step_scale = _checks.positive_float("step_scale", step_scale)
        self.problem_features = bool(problem_features)
        self.use_delta = bool(use_delta)
        self.cell_kwargs = dict(cell_kwargs or {})
        self.input_size = self.input_size_for(num_params, proposal, use_delta, problem_features)
        if isinstance(cell, str):
            self.hidden_size = _checks.positive_int("hidden_size", hidden_size)
            self.cell = ornn.create_cell(cell, self.input_size, self.hidden_size, **self.cell_kwargs)
            self.cell_name = cell
        elif isinstance(cell, nn.Module) and hasattr(cell, "initial_state"):
            if getattr(cell, "input_size", self.input_size) != self.input_size:
                raise ValueError(
                    f"cell: expected input_size {self.input_size} for the {proposal} rule with P = {num_params}"
                    f"{', the cost change' if use_delta else ''}{', 2 features' if problem_features else ''}, "
                    f"got {cell.input_size}"
                )
            self.cell = cell
            self.cell_name = type(cell).__name__
            self.hidden_size = getattr(cell, "hidden_size", hidden_size)
        else:
            raise TypeError(f"cell: expected a registered cell name or a cell module, got {_checks.describe(cell)}")
        self.head = nn.Linear(getattr(self.cell, "hidden_size", hidden_size), num_params)
        #: the Phase I horizon T it was trained for (set by :func:`meta_train` and :meth:`load`); None until then
        self.steps: Optional[int] = None
        #: plain data saved with it (a shipped file's recipe)
        self.notes: dict[str, Any] = {}
        # the start rule theta_0 = start_bias + start_slope * (x - start_reference)
        self.start_bias = nn.Parameter(torch.full((num_params,), _PAPER_START))
        self.start_slope = nn.Parameter(torch.zeros(num_params))
        self.register_buffer("start_reference", torch.zeros(()))
        self.register_buffer("start_fitted", torch.zeros((), dtype=torch.bool))
        # a second start rule in the basin across gamma_1 - pi, kept by fit_start only where it pays (module docstring)
        self.register_buffer("second_bias", torch.zeros(num_params))
        self.register_buffer("second_slope", torch.zeros(num_params))
        self.register_buffer("second_fitted", torch.zeros((), dtype=torch.bool))
        # DC-QAOA only: a probe in the impulse basin (gamma, beta ~ 0), kept by fit_impulse only where it pays (module
        # docstring)
        self.register_buffer("impulse_bias", torch.zeros(num_params))
        self.register_buffer("impulse_slope", torch.zeros(num_params))
        self.register_buffer("impulse_fitted", torch.zeros((), dtype=torch.bool))
        if self.has_start_rule:  # an untrained optimiser proposes points close to its start rule
            with torch.no_grad():  # small, not zero: proposals that tie with the start would get no gradient
                self.head.weight.mul_(0.1)
            nn.init.zeros_(self.head.bias)
        else:  # the paper's start is fixed
            self.start_bias.requires_grad_(False)
            self.start_slope.requires_grad_(False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # weights saved before the start rule existed (the absolute rule, whose start is fixed) lack its entries,
        # and weights saved before the second start or the impulse probe existed have none (unfitted ones, as they
        # were trained)
        for name in ("second_bias", "second_slope", "second_fitted", "impulse_bias", "impulse_slope", "impulse_fitted"):
            state_dict.setdefault(prefix + name, torch.zeros_like(getattr(self, name)))
        if self.proposal == "absolute":
            for name in ("start_bias", "start_slope", "start_reference", "start_fitted"):
                state_dict.setdefault(prefix + name, getattr(self, name).detach().clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @staticmethod
    def input_size_for(num_params: int, proposal: str, use_delta: bool = True, problem_features: bool = False) -> int:
        """The cell input size the rule needs (the module docstring lists the features)."""
        base = num_params + (2 if proposal == "absolute" else 4)
        return base - (0 if use_delta else 1) + (2 if problem_features else 0)

    # ------------------------------------------------------------------ the start rule

    def start(self, ansatzes: Union[QAOA, Sequence[QAOA]]) -> torch.Tensor:
        """(B, P) the start rule's theta_0 for each ansatz (zero queries: it reads the graph only)."""
        return self._rule(self.start_bias, self.start_slope, ansatzes)

    @property
    def has_start_rule(self) -> bool:
        """Whether Phase I starts from the fitted start rule (the residual and incumbent rules; the absolute
        rule starts from the sequence-model paper's fixed point)."""
        return self.proposal != "absolute"

    @property
    def has_two_starts(self) -> bool:
        """Whether Phase I unrolls from a second start rule too (an optimiser with a start rule whose fit kept one)."""
        return self.has_start_rule and bool(self.second_fitted)

    def second_start(self, ansatzes: Union[QAOA, Sequence[QAOA]]) -> Optional[torch.Tensor]:
        """(B, P) the second start rule's theta_0 (the basin across gamma_1 - pi), or None where none was kept."""
        if not self.has_two_starts:
            return None
        return self._rule(self.second_bias, self.second_slope, ansatzes)

    @property
    def has_impulse_probe(self) -> bool:
        """Whether Phase I also evaluates the impulse probe (a DC-QAOA optimiser whose :meth:`fit_impulse` kept one)."""
        return self.has_start_rule and bool(self.impulse_fitted)

    def impulse_start(self, ansatzes: Union[QAOA, Sequence[QAOA]]) -> Optional[torch.Tensor]:
        """(B, P) the impulse probe's point (gamma, beta ~ 0: the counterdiabatic layers act alone), or None."""
        if not self.has_impulse_probe:
            return None
        return self._rule(self.impulse_bias, self.impulse_slope, ansatzes)

    def _rule(self, bias: torch.Tensor, slope: torch.Tensor, ansatzes: Union[QAOA, Sequence[QAOA]]) -> torch.Tensor:
        """(B, P) a linear rule's point theta = bias + slope (x - x_ref) for each ansatz (the start rules, the probe)."""
        return bias + slope * self._centred_x(self._check_ansatzes(ansatzes))[:, None]

    def _centred_x(self, ansatzes: Sequence[QAOA]) -> torch.Tensor:
        x = torch.tensor(
            [inverse_sqrt_degree(a.problem) for a in ansatzes], dtype=self.start_bias.dtype, device=self.device
        )
        return x - self.start_reference

    def fit_start(self, problems: Sequence[Problem], p: int, *, dc: bool = False, steps: int = 150) -> "MetaOptimizer":
        """Fit the start rule by least squares to Adam-optimised angles (from the linear ramp) of ``problems``.

        theta*(problem) ~ a + c (x - mean x) per parameter; when every x is equal (regular graphs)
        the rule is the mean optimised angles. The fit then competes with the zero-query baselines
        (the linear ramp, and Wurtz & Lykov's fixed angles when every problem is 3-regular MaxCut at a
        tabulated depth): the rule with the lowest mean scaled energy on ``problems`` is kept.

        Then the second basin: Adam from the kept rule with gamma_1 - pi, on the same problems. Where the
        local optima found there beat those of the first basin by more than :data:`SECOND_START_GAIN` in
        mean scaled energy (taking, per problem, the better of the two), a rule fitted to the optima of the
        problems where that basin wins is kept as a second start, and Phase I explores from both (module
        docstring).
        """
        if not problems:
            raise ValueError("problems: expected at least one training problem, got none")
        ansatzes = [make_ansatz(q, p, dc=dc) for q in problems]
        if ansatzes[0].num_params != self.num_params:
            raise ValueError(
                f"p, dc: the ansatz has {ansatzes[0].num_params} parameters, the optimiser {self.num_params}"
            )
        init = torch.stack([linear_ramp(a) for a in ansatzes])
        first = optimize(ansatzes, init, optimizer="adam", lr=0.05, steps=steps)
        best = first.final_params.cpu()
        x = torch.tensor([inverse_sqrt_degree(q) for q in problems], dtype=torch.float64)
        centred = x - x.mean()
        zero = torch.zeros(self.num_params, dtype=torch.float64)
        candidates = [_least_squares(centred, best), (init[0].cpu(), zero)]
        try:  # every problem 3-regular MaxCut at a tabulated depth: the published angles compete too
            candidates.append(([fixed_angles(a) for a in ansatzes][0].cpu(), zero))
        except ValueError:
            pass
        scales = coupling_scales(ansatzes, torch.float64, "cpu")

        def mean_cost(bias: torch.Tensor, slope: torch.Tensor) -> float:
            with torch.no_grad():
                return float((batch_energy(ansatzes, bias + slope * centred[:, None]) / scales).mean())

        bias, slope = min(candidates, key=lambda c: mean_cost(*c))
        shifted = bias + slope * centred[:, None]
        shifted[:, 0] -= math.pi
        second = optimize(ansatzes, shifted, optimizer="adam", lr=0.05, steps=steps)
        usual, across = first.final_energies.cpu() / scales, second.final_energies.cpu() / scales
        gain = float((usual - torch.minimum(usual, across)).mean())
        wins = across < usual  # the problems whose optimum lies across: the second rule is fitted to those alone
        second_bias, second_slope = (
            _least_squares(centred, second.final_params.cpu(), wins) if bool(wins.any()) else (zero, zero)
        )
        with torch.no_grad():
            self.start_reference.fill_(float(x.mean()))
            self.start_bias.copy_(bias)
            self.start_slope.copy_(slope)
            self.start_fitted.fill_(True)
            keep = gain > SECOND_START_GAIN
            self.second_bias.copy_(second_bias if keep else zero)
            self.second_slope.copy_(second_slope if keep else zero)
            self.second_fitted.fill_(keep)
        return self

    def fit_impulse(self, problems: Sequence[Problem], p: int, *, steps: int = 150) -> "MetaOptimizer":
        """Fit DC-QAOA's impulse probe on ``problems``, after :meth:`fit_start`: a third basin, kept where it pays.

        With gamma = beta = 0 the state is the counterdiabatic layers' alone; on a few per cent of 3-regular
        graphs the best DC-QAOA p = 2 optimum lies close to that plane, in a basin neither start rule reaches
        (``benchmarks/RESULTS.md``). The fit:

        1. the points of a product grid over alpha_1..alpha_p in [-pi, pi) (m values per layer, m^p at most
           :data:`IMPULSE_GRID_POINTS` and m at most 24), gamma = beta = 0, of least mean scaled energy over
           ``problems`` (up to 4 that tie to 1e-9: on 3-regular graphs at p = 2, (0, pi/4), (pi/4, 0) and
           (-pi, -pi/4) tie on the plane, and only the last leads off it to the basin that pays);
        2. each moved off the plane by :data:`IMPULSE_OFFSET` (gamma_k = +-offset, beta_k = -gamma_k): the
           energy is even in (gamma, beta) jointly (the ansatz is real up to complex conjugation, which maps
           (gamma, beta, alpha) to (-gamma, -beta, alpha)), so its gradient there is zero and descent from a
           point on the plane never leaves it;
        3. Adam (lr 0.05, ``steps`` steps) from those points and from the start rules on every problem. The
           candidate whose local optima gain most over the rules' (mean scaled energy, per problem the better)
           is kept where that gain exceeds :data:`SECOND_START_GAIN`; the probe is then the least-squares rule
           theta ~ a + c (x - x_ref) through its optima on the problems it wins, each mirrored to gamma_1 >= 0.

        Phase I then evaluates the probe once (no unroll) and Phase II also runs from it (:func:`two_phase`).
        """
        if not self.has_start_rule or not bool(self.start_fitted):
            raise ValueError("fit_impulse: expected an optimiser whose start rule is fitted (call fit_start first)")
        if not problems:
            raise ValueError("problems: expected at least one training problem, got none")
        ansatzes = [make_ansatz(q, p, dc=True) for q in problems]
        if ansatzes[0].num_params != self.num_params:
            raise ValueError(
                f"p: the DC-QAOA ansatz has {ansatzes[0].num_params} parameters, the optimiser {self.num_params}"
            )
        batch, layer = len(ansatzes), ansatzes[0].layer_size
        scales = coupling_scales(ansatzes, torch.float64, "cpu")
        centred = torch.tensor([inverse_sqrt_degree(q) for q in problems], dtype=torch.float64)
        centred = centred - float(self.start_reference)

        def mean_cost(point: torch.Tensor) -> float:
            with torch.no_grad():
                return float((batch_energy(ansatzes, point.expand(batch, -1).clone()) / scales).mean())

        values = min(24, int(round(IMPULSE_GRID_POINTS ** (1.0 / p))))
        while values**p > IMPULSE_GRID_POINTS:
            values -= 1
        axis = torch.arange(values, dtype=torch.float64) * (2 * math.pi / values) - math.pi
        graded = []
        for alphas in itertools.product(axis.tolist(), repeat=p):
            candidate = torch.zeros(self.num_params, dtype=torch.float64)
            candidate[2::layer] = torch.tensor(alphas, dtype=torch.float64)
            graded.append((mean_cost(candidate), len(graded), candidate))
        graded.sort(key=lambda item: item[:2])
        seeds = [c for cost, _, c in graded[:4] if cost <= graded[0][0] + 1e-9 * abs(graded[0][0])]
        signs = torch.tensor([(-1.0) ** k for k in range(p)], dtype=torch.float64)
        for point in seeds:
            point[0::layer], point[1::layer] = IMPULSE_OFFSET * signs, -IMPULSE_OFFSET * signs
        with torch.no_grad():
            rules = [self.start(ansatzes)] + ([self.second_start(ansatzes)] if self.has_two_starts else [])
        rules = [rule.detach().to(torch.float64).cpu() for rule in rules]
        starts = rules + [point.expand(batch, -1) for point in seeds]
        runs = optimize(ansatzes * len(starts), torch.cat(starts), lr=0.05, steps=steps)
        finals = (runs.final_energies.detach().cpu().view(len(starts), batch) / scales).to(torch.float64)
        others = finals[: len(rules)].min(0).values
        gains = [float((others - torch.minimum(others, mine)).mean()) for mine in finals[len(rules) :]]
        pick = max(range(len(seeds)), key=gains.__getitem__)  # the first on a tie
        gain, wins = gains[pick], finals[len(rules) + pick] < others
        optima = runs.final_params.detach().cpu().to(torch.float64)[(len(rules) + pick) * batch :][:batch].clone()
        mirrored = optima[:, 0] < 0  # one chart of the (gamma, beta) -> (-gamma, -beta) pair
        for column in [c for k in range(p) for c in (layer * k, layer * k + 1)]:
            optima[mirrored, column] = -optima[mirrored, column]
        keep = gain > SECOND_START_GAIN  # a positive gain means the probe wins somewhere
        zero = torch.zeros(self.num_params, dtype=torch.float64)
        bias, slope = _least_squares(centred, optima, wins) if keep else (zero, zero)
        with torch.no_grad():
            self.impulse_bias.copy_(bias)
            self.impulse_slope.copy_(slope)
            self.impulse_fitted.fill_(keep)
        return self

    # ------------------------------------------------------------------ Phase I

    @property
    def device(self) -> torch.device:
        """Where the optimiser's weights live (its proposals and inputs are made there)."""
        return self.head.weight.device

    def _check_ansatzes(self, ansatzes: Union[QAOA, Sequence[QAOA]]) -> list[QAOA]:
        ansatzes = [ansatzes] if isinstance(ansatzes, QAOA) else list(ansatzes)
        if not ansatzes:
            raise ValueError("ansatzes: expected at least one ansatz, got none")
        for a in ansatzes:
            if not isinstance(a, QAOA):
                raise TypeError(f"ansatzes: expected QAOA or DCQAOA ansatzes, got {_checks.describe(a)}")
            if a.num_params != self.num_params:
                raise ValueError(
                    f"ansatzes: expected {self.num_params} parameters per ansatz, got {a.num_params} ({a!r})"
                )
        return ansatzes

    def _default_start(self, ansatzes: list[QAOA]) -> torch.Tensor:
        if self.has_start_rule:
            return self.start(ansatzes)
        return torch.full(
            (len(ansatzes), self.num_params), _PAPER_START, dtype=self.head.weight.dtype, device=self.device
        )

    def forward(
        self,
        ansatzes: Union[QAOA, Sequence[QAOA]],
        steps: int,
        start: Optional[torch.Tensor] = None,
        *,
        probe: bool = True,
    ) -> MetaTrajectory:
        """Unroll ``steps`` proposals on a batch of ansatzes from ``start`` ((P,) shared or (B, P); default: the rule's).

        With a second start rule (:meth:`fit_start`) and no ``start`` given, the cell unrolls from both
        rules and the trajectory holds the first's T + 1 rows, then the second's: 2 (T + 1) evaluations.
        With an impulse probe (:meth:`fit_impulse`), no ``start`` and ``probe`` true, its one evaluated row comes
        last. :func:`meta_train` leaves it out (``probe=False``): the cell cannot move that point, so in the loss
        it would only mask the cell's own proposals, and without it the cell trains exactly as it would without a
        probe, so a probe can only lower Phase I's best energy.
        """
        ansatzes = self._check_ansatzes(ansatzes)
        steps = _checks.positive_int("steps", steps)
        dtype = self.head.weight.dtype
        batch = len(ansatzes)
        if start is None:
            theta = self._default_start(ansatzes).to(dtype)
            second = self.second_start(ansatzes)
            if second is not None:  # one unroll over both starts, then the second's rows after the first's
                both = self._unroll(ansatzes + ansatzes, steps, torch.cat([theta, second.to(dtype)]))
                parts = (torch.cat(t.split(batch, dim=1), dim=0) for t in (both.params, both.energies, both.scaled))
                trajectory = MetaTrajectory(*parts, segments=(steps + 1, steps + 1))
            else:
                trajectory = self._unroll(ansatzes, steps, theta)
            return self._with_impulse_probe(ansatzes, trajectory) if probe else trajectory
        else:
            _checks.tensor("start", start)
            theta = start.to(dtype).expand(batch, self.num_params) if start.dim() == 1 else start.to(dtype)
            if theta.shape != (batch, self.num_params):
                raise ValueError(
                    f"start: expected shape ({self.num_params},) or ({batch}, {self.num_params}), got {tuple(start.shape)}"
                )
        return self._unroll(ansatzes, steps, theta)

    def _with_impulse_probe(self, ansatzes: list[QAOA], trajectory: MetaTrajectory) -> MetaTrajectory:
        """``trajectory`` with the impulse probe's evaluated row appended (unchanged without a probe)."""
        probe = self.impulse_start(ansatzes)
        if probe is None:
            return trajectory
        dtype = self.head.weight.dtype
        probe = probe.to(dtype)
        energy = batch_energy(ansatzes, probe).to(dtype)
        scaled = energy / coupling_scales(ansatzes, dtype, self.device)
        return MetaTrajectory(
            torch.cat([trajectory.params, probe[None]]),
            torch.cat([trajectory.energies, energy[None]]),
            torch.cat([trajectory.scaled, scaled[None]]),
            segments=(trajectory.segments or (trajectory.evaluations,)) + (1,),
        )

    def _unroll(self, ansatzes: list[QAOA], steps: int, theta: torch.Tensor) -> MetaTrajectory:
        """The cell's T proposals from the (B, P) starts ``theta``: (T + 1) rows, the start first."""
        dtype = self.head.weight.dtype
        batch = len(ansatzes)
        scales = coupling_scales(ansatzes, dtype, self.device)
        features = self._features(ansatzes, dtype) if self.problem_features else None
        energy = batch_energy(ansatzes, theta).to(dtype)
        first = scaled = previous = best = energy / scales
        unit = first.abs().clamp_min(1e-2) / _GAIN  # relative changes, |F~_0| guarded for near-zero starts
        anchor = theta  # theta_0 (residual) or the incumbent theta*_t (incumbent)
        params, energies = [theta], [energy]
        state = self.cell.initial_state(batch, dtype=dtype)
        for step in range(steps):
            if self.has_start_rule:
                parts = [(theta - anchor) / self.step_scale, ((scaled - first) / unit)[:, None]]
                if self.use_delta:
                    parts.append(((scaled - previous) / unit)[:, None])
                parts += [
                    ((scaled - best) / unit)[:, None],
                    torch.full((batch, 1), step / steps, dtype=dtype, device=self.device),
                ]
            else:
                parts = [theta, scaled[:, None]] + ([(scaled - previous)[:, None]] if self.use_delta else [])
            if features is not None:
                parts.append(features)
            output, state = self.cell(torch.cat(parts, dim=1), state)
            if self.has_start_rule:
                theta = anchor + self.step_scale * torch.tanh(self.head(output))
            else:
                theta = math.pi * torch.tanh(self.head(output))
            if not bool(torch.isfinite(theta).all()):
                raise NonFiniteLossError(
                    f"meta: the cell proposed non-finite parameters at Phase I step {step + 1} of {steps} "
                    "(its weights or state are no longer finite)"
                )
            previous = scaled
            energy = batch_energy(ansatzes, theta).to(dtype)
            scaled = energy / scales
            if self.proposal == "incumbent":  # a strict improvement moves the anchor (a tie keeps the earlier point)
                anchor = torch.where((scaled < best)[:, None], theta, anchor)
            best = torch.minimum(best, scaled)
            params.append(theta)
            energies.append(energy)
        energies_t = torch.stack(energies)
        return MetaTrajectory(torch.stack(params), energies_t, energies_t / scales)

    def propose(self, ansatzes: Union[QAOA, Sequence[QAOA]], steps: Optional[int] = None) -> torch.Tensor:
        """(B, P) the best of Phase I's evaluated points per ansatz: ``steps`` proposals (default the trained
        horizon :attr:`steps`) from the start rule, T + 1 energy evaluations each, no gradient recorded."""
        if steps is None:
            if self.steps is None:
                raise ValueError(
                    "steps: this optimiser has no trained horizon (meta.steps is None: not trained by meta_train "
                    "nor loaded from a file); pass steps"
                )
            steps = self.steps
        with torch.no_grad():
            return self(ansatzes, steps).best_params

    def _features(self, ansatzes: Sequence[QAOA], dtype: torch.dtype) -> torch.Tensor:
        rows = [[a.n / 20.0, 2.0 * len(a.problem.terms) / a.n / 10.0] for a in ansatzes]
        return torch.tensor(rows, dtype=dtype, device=self.device)

    # ------------------------------------------------------------------ files

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this optimiser (cells built by name only)."""
        if not isinstance(self.cell_name, str) or self.cell_name not in ornn.available_cells():
            raise ValueError(
                f"cell: only optimisers built from a registered cell name can be saved, got a {self.cell_name} instance"
            )
        return {
            "cell": self.cell_name,
            "num_params": self.num_params,
            "hidden_size": self.hidden_size,
            "proposal": self.proposal,
            "step_scale": self.step_scale,
            "problem_features": self.problem_features,
            "use_delta": self.use_delta,
            "cell_kwargs": self.cell_kwargs,
        }

    def save(self, path: Union[str, Path], *, steps: Optional[int] = None, notes: Optional[dict] = None) -> Path:
        """Write the constructor arguments and the weights to ``path`` atomically (read back by :meth:`load`).

        ``steps`` records the horizon T the optimiser was trained for (default :attr:`steps`); ``notes`` any
        plain data, such as its recipe (default :attr:`notes`).
        """
        steps = self.steps if steps is None else steps
        notes = self.notes if notes is None else notes
        if steps is not None:
            _checks.positive_int("steps", steps)
        if notes is not None and not isinstance(notes, dict):
            raise TypeError(f"notes: expected a dict of plain data or None, got {_checks.describe(notes)}")
        payload = {
            "format": META_FORMAT,
            "config": self.config(),
            "steps": steps,
            "notes": dict(notes or {}),
            "state": {k: v.detach().cpu() for k, v in self.state_dict().items()},
        }
        return _io.save_torch(Path(path), payload)

    @classmethod
    def load(cls, path: Union[str, Path], map_location: Any = "cpu") -> "MetaOptimizer":
        """An optimiser written by :meth:`save`, in float64 on ``map_location``; ``.steps`` and ``.notes`` as saved."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"path: expected a meta-optimiser file written by MetaOptimizer.save, got {str(path)!r}, which does not exist"
            )
        try:
            saved = torch.load(path, weights_only=True, map_location="cpu")
        except Exception as err:  # torch raises several kinds for a damaged file
            raise ValueError(f"path: {path} is not a readable meta-optimiser file ({type(err).__name__})") from None
        if (
            not isinstance(saved, dict)
            or saved.get("format") != META_FORMAT
            or not isinstance(saved.get("config"), dict)
        ):
            raise ValueError(f"path: {path} is not a {META_FORMAT} file written by MetaOptimizer.save")
        config = dict(saved["config"])
        try:
            meta = cls(config.pop("cell"), config.pop("num_params"), **config)
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"path: {path} holds settings that do not build a meta-optimiser ({err})") from None
        meta = meta.double()
        restore(meta, saved.get("state"), f"path ({path})")
        meta.steps, meta.notes = saved.get("steps"), saved.get("notes", {})
        return meta.to(map_location)


def best_so_far_loss(scaled: torch.Tensor) -> torch.Tensor:
    """mean_{t>=1} min_{j<=t} F~_j + min_j F~_j + mean_{t>=1} F~_t, averaged over the batch; ``scaled`` is (T + 1, B).

    The last term reaches every proposal: through the running minimum alone, proposals worse than the
    start get no gradient, and training from a good start rule stalls (measured: 1 seed in 3).
    """
    running = torch.cummin(scaled, dim=0).values
    return (running[1:].mean(0) + running[-1] + scaled[1:].mean(0)).mean()


def weighted_cost_loss(scaled: torch.Tensor, weights: Optional[Sequence[float]] = None) -> torch.Tensor:
    """Chandarana et al. Eq. (5): sum_{t >= 1} w_t F~(theta_t), averaged over the batch; ``scaled`` is (T + 1, B)."""
    steps = scaled.shape[0] - 1
    w = torch.ones(steps, dtype=scaled.dtype) if weights is None else torch.as_tensor(weights, dtype=scaled.dtype)
    if w.shape != (steps,):
        raise ValueError(f"weights: expected {steps} weights (one per step), got shape {tuple(w.shape)}")
    return (w[:, None].to(scaled.device) * scaled[1:]).sum(0).mean()


def observed_improvement_loss(scaled: torch.Tensor) -> torch.Tensor:
    """Verdon et al.: sum_{t >= 1} min(F~_t - min_{j<t} F~_j, 0), averaged over the batch."""
    best = torch.cummin(scaled, dim=0).values
    return torch.clamp(scaled[1:] - best[:-1], max=0.0).sum(0).mean()


#: the edge factors j of the default Erdős–Rényi training distribution (edge probability min(1, j / n)): sparse
#: (j = 2) to complete graphs at n <= 8, so a trained start rule interpolates in 1 / sqrt(mean degree)
ERDOS_RENYI_EDGE_FACTORS = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)


@dataclass(frozen=True)
class ProblemDistribution:
    """A seeded family of problems: ``kind`` one of :data:`~applications.qaoa.problems.FAMILIES`; sizes to draw n from."""

    kind: str
    sizes: tuple[int, ...]
    edge_factor: tuple[float, ...] = ERDOS_RENYI_EDGE_FACTORS  # erdos-renyi: p = min(1, j / n), j drawn from these

    def __post_init__(self) -> None:
        if self.kind not in FAMILIES:
            raise ValueError(f"kind: expected one of {', '.join(FAMILIES)}, got {self.kind!r}")
        if not self.sizes or any(isinstance(n, bool) or not isinstance(n, int) or n < 2 for n in self.sizes):
            raise ValueError(f"sizes: expected integers >= 2, got {self.sizes!r}")
        if self.kind == "3-regular" and any(n % 2 or n < 4 for n in self.sizes):
            raise ValueError(f"sizes: 3-regular graphs need even n >= 4, got {self.sizes}")
        if not self.edge_factor or any(not (isinstance(j, (int, float)) and j > 0) for j in self.edge_factor):
            raise ValueError(
                f"edge_factor: expected positive numbers j (edge probability j / n), got {self.edge_factor!r}"
            )

    def sample(self, count: int, seed: int) -> list[Problem]:
        generator = torch.Generator().manual_seed(seed)
        problems = []
        for _ in range(count):
            n = self.sizes[int(torch.randint(len(self.sizes), (1,), generator=generator))]
            s = int(torch.randint(2**31 - 1, (1,), generator=generator))
            if self.kind == "3-regular":
                problems.append(random_regular_maxcut(n, seed=s))
            elif self.kind == "complete-weighted":
                problems.append(complete_weighted_maxcut(n, seed=s))
            elif self.kind == "sk":
                problems.append(random_sk(n, seed=s))
            else:
                j = self.edge_factor[int(torch.randint(len(self.edge_factor), (1,), generator=generator))]
                problems.append(erdos_renyi_maxcut(n, min(1.0, j / n), seed=s))
        return problems


LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "best": best_so_far_loss,
    "weighted": weighted_cost_loss,
    "improvement": observed_improvement_loss,
}

#: how many training problems :func:`meta_train` fits a residual optimiser's start rule on
START_FIT_PROBLEMS = 16
#: and DC-QAOA's impulse probe on: its basin wins on a few per cent of problems, so 16 would often see none
IMPULSE_FIT_PROBLEMS = 128


def _ansatzes(problems: Sequence[Problem], p: int, dc: bool, device=None) -> list[QAOA]:
    return [make_ansatz(problem, p, dc=dc, device=device) for problem in problems]


def _check_meta_and_distribution(meta: Any, distribution: Any) -> None:
    if not isinstance(meta, MetaOptimizer):
        raise TypeError(f"meta: expected a MetaOptimizer, got {_checks.describe(meta)}")
    if not isinstance(distribution, ProblemDistribution):
        raise TypeError(f"distribution: expected a ProblemDistribution, got {_checks.describe(distribution)}")


#: the tensors :func:`fit_start_rules` sets: the start rules and the impulse probe (the first two also train)
FITTED_START_STATE = (
    "start_bias",
    "start_slope",
    "start_reference",
    "start_fitted",
    "second_bias",
    "second_slope",
    "second_fitted",
    "impulse_bias",
    "impulse_slope",
    "impulse_fitted",
)


def fit_start_rules(
    meta: MetaOptimizer,
    distribution: ProblemDistribution,
    *,
    p: int,
    dc: bool = False,
    seed: int = 0,
    impulse_problems: int = IMPULSE_FIT_PROBLEMS,
) -> MetaOptimizer:
    """What :func:`meta_train` does first for an optimiser whose start rule is not fitted: :meth:`MetaOptimizer.fit_start`
    on :data:`START_FIT_PROBLEMS` problems drawn from (seed, -2), and for DC-QAOA :meth:`MetaOptimizer.fit_impulse`
    on ``impulse_problems`` (0: no probe) drawn from (seed, -3). The fit reads the problems and the rules only, not
    the cell or its proposal rule, so one fit (the tensors :data:`FITTED_START_STATE`) serves every optimiser
    trained with the same distribution, depth and seed."""
    _check_meta_and_distribution(meta, distribution)
    if not meta.has_start_rule:
        raise ValueError(
            f"meta: the {meta.proposal!r} proposal rule has a fixed start; expected a rule with a start rule"
        )
    impulse_problems = _checks.positive_int("impulse_problems", impulse_problems, minimum=0)
    meta.fit_start(distribution.sample(START_FIT_PROBLEMS, seed=seed * 1_000_003 + 999_979), p, dc=dc)
    if dc and impulse_problems:
        meta.fit_impulse(distribution.sample(impulse_problems, seed=seed * 1_000_003 + 999_973), p)
    return meta


def meta_train(
    meta: MetaOptimizer,
    distribution: ProblemDistribution,
    *,
    p: int = 1,
    dc: bool = False,
    steps: int = 10,
    epochs: int = 20,
    batches_per_epoch: int = 8,
    batch_size: int = 8,
    validation_size: int = 16,
    loss: str = "best",
    optimizer: str = "adam",
    lr: float = 0.01,
    grad_clip: Optional[float] = 1.0,
    patience: Optional[int] = 10,
    start: Optional[torch.Tensor] = None,
    seed: int = 0,
    checkpoint: Optional[Union[str, Path]] = None,
    resume: bool = False,
    progress: bool = False,
    impulse_problems: int = IMPULSE_FIT_PROBLEMS,
) -> History:
    """Meta-train ``meta`` on problems drawn from ``distribution`` through :func:`ornn.training.fit`; returns the history.

    An optimiser whose start rule is not fitted yet first fits it and, for DC-QAOA, its impulse probe on
    ``impulse_problems`` (default :data:`IMPULSE_FIT_PROBLEMS`; 0: no probe) with :func:`fit_start_rules`. Every epoch
    draws its batches from (seed, epoch) and a fixed validation set from (seed, -1); gradients are clipped to
    norm ``grad_clip``; the best validation state is kept and loaded into ``meta`` at the end. Training stops
    after ``patience`` epochs without a better validation loss. ``start`` overrides the optimiser's own start.
    The defaults are the Erdős–Rényi p = 1 recipe: with 4 batches per epoch instead of 8, QLSTM and QK-LSTM
    ended 0.0023 and 0.0021 short of the p = 1 optimum at one training seed in three (goal 0.002); with 8 every
    cell is within 0.0012 at every seed (``benchmarks/RESULTS.md``).

    Under ``torchrun`` (see :mod:`ornn.distributed`) every rank draws the same batch of
    ``batch_size`` problems and trains on its shard, ``DistributedDataParallel`` all-reduces
    the gradients, and rank 0 alone writes the checkpoint; the result equals the one-process
    run to round-off, and a checkpoint resumes under any number of processes.
    """
    _check_meta_and_distribution(meta, distribution)
    if loss not in LOSSES:
        raise ValueError(f"loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    if optimizer == "lbfgs":
        raise ValueError(
            "optimizer: meta_train steps once per batch; expected one of sgd, adam, adagrad, rmsprop, got 'lbfgs'"
        )
    _checks.positive_int("batch_size", batch_size)
    _checks.positive_int("batches_per_epoch", batches_per_epoch)
    _checks.positive_int("validation_size", validation_size)
    impulse_problems = _checks.positive_int("impulse_problems", impulse_problems, minimum=0)
    steps = _checks.positive_int("steps", steps)
    if grad_clip is not None:
        _checks.positive_float("grad_clip", grad_clip)
    device = meta.device
    if meta.has_start_rule and start is None and not resume and not bool(meta.start_fitted):
        fit_start_rules(meta, distribution, p=p, dc=dc, seed=seed, impulse_problems=impulse_problems)
    opt = make_optimizer(optimizer, [q for q in meta.parameters() if q.requires_grad], lr)
    validation, validation_factor = distributed.local_items(
        distribution.sample(validation_size, seed=seed * 1_000_003 + 999_983)
    )
    validation = _ansatzes(validation, p, dc, device)
    validation_weight = len(validation) if validation_factor else 0
    loss_fn = LOSSES[loss]

    def train_epoch(net: nn.Module, epoch: int) -> float:
        local_sum = 0.0  # this rank's factor-weighted batch losses; summed over the ranks once per epoch
        for b in range(batches_per_epoch):
            problems = distribution.sample(batch_size, seed=seed * 1_000_003 + epoch * batches_per_epoch + b)
            local, factor = distributed.local_items(problems)  # the same global batch on every rank, sharded
            opt.zero_grad()
            try:
                value = loss_fn(net(_ansatzes(local, p, dc, device), steps, start, probe=False).scaled)
            except NonFiniteLossError as err:
                raise NonFiniteLossError(f"training: at epoch {epoch}, batch {b}: {err}") from None
            (value * factor).backward()
            check_step(value, meta.parameters(), epoch=epoch, batch=b)
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(meta.parameters(), grad_clip)
            opt.step()
            local_sum += float(value.detach()) * factor
        return distributed.all_sum(local_sum) / (distributed.world_size() * batches_per_epoch)

    def validate() -> float:
        return (
            distributed.all_sum(float(loss_fn(meta(validation, steps, start, probe=False).scaled)) * validation_weight)
            / validation_size
        )

    history = fit(
        meta,
        train_epoch,
        validate,
        optimizer=opt,
        epochs=epochs,
        patience=patience,
        checkpoint=checkpoint,
        resume=resume,
        progress=f"meta-training {meta.cell_name}" if progress else None,
    )
    meta.steps = steps  # the horizon propose() and save() default to
    return history


@dataclass(frozen=True)
class TwoPhaseResult:
    """What :func:`two_phase` returns: the Phase I trajectory and the Phase II optimisation from its best point.

    Evaluation counts: Phase I costs ``phase_one.evaluations`` energy evaluations per problem (one row for a
    baseline start); Phase II costs one energy-and-gradient evaluation per step, ``phase_two_steps`` per problem.
    """

    phase_one: MetaTrajectory
    phase_two: OptimizationResult
    #: (B,) Phase II steps spent from the other basins' best points and then discarded (several basins only)
    discarded_steps: Optional[torch.Tensor] = None

    @property
    def phase_one_energies(self) -> torch.Tensor:
        """(B,) the best energy of Phase I per problem (the Phase II start)."""
        return self.phase_one.best_energies

    @property
    def final_energies(self) -> torch.Tensor:
        return self.phase_two.final_energies

    @property
    def final_params(self) -> torch.Tensor:
        return self.phase_two.final_params

    @property
    def phase_two_steps(self) -> torch.Tensor:
        """(B,) gradient steps each problem took before its stopping rule (all of them if it never stopped),
        plus, with several basins, the steps of the runs it discarded."""
        steps = self.phase_two.steps_taken
        return steps if self.discarded_steps is None else steps + self.discarded_steps

    @property
    def path(self) -> torch.Tensor:
        """(T + 1 + steps, B): the best-so-far Phase I energies, then the Phase II energies."""
        return torch.cat([self.phase_one.best_so_far, self.phase_two.energies[1:]])


def two_phase(
    ansatzes: Union[QAOA, Sequence[QAOA]],
    phase_one: Union[MetaOptimizer, torch.Tensor],
    *,
    steps: int = 10,
    start: Optional[torch.Tensor] = None,
    optimizer: str = "sgd",
    lr: float = 0.01,
    phase_two_steps: int = 100,
    tol: float = 1e-6,
) -> TwoPhaseResult:
    """The sequence-model paper's protocol. Phase I: the trained cell runs ``steps`` proposals from ``start`` (default
    its own start rule) and the best of the T + 1 evaluated points is kept; for a baseline, ``phase_one`` is the
    (B, P) or (P,) start itself and Phase I is that one evaluation. Phase II: :func:`optimize` from that point.

    An optimiser with two start rules (:meth:`MetaOptimizer.fit_start`) or an impulse probe
    (:meth:`MetaOptimizer.fit_impulse`), no ``start`` given, sits in several basins: Phase II then runs from the
    best point of each basin's rows (:attr:`MetaTrajectory.segments`) and keeps the lowest end (the earlier
    basin's on a tie), since the better Phase I point need not lie in the basin of the better optimum. Its steps
    count every run.
    """
    ansatz_list = [ansatzes] if isinstance(ansatzes, QAOA) else list(ansatzes)
    if not ansatz_list:
        raise ValueError("ansatzes: expected at least one ansatz, got none")
    if isinstance(phase_one, MetaOptimizer):
        with torch.no_grad():
            trajectory = phase_one(ansatz_list, steps, start)
    elif isinstance(phase_one, torch.Tensor):  # a baseline start: Phase I is its one evaluation
        init = phase_one if phase_one.dim() == 2 else phase_one.expand(len(ansatz_list), -1)
        if init.shape != (len(ansatz_list), ansatz_list[0].num_params):
            raise ValueError(
                f"phase_one: expected shape ({len(ansatz_list)}, {ansatz_list[0].num_params}), got {tuple(phase_one.shape)}"
            )
        with torch.no_grad():
            energies = batch_energy(ansatz_list, init)[None]
        scales = coupling_scales(ansatz_list, energies.dtype, energies.device)
        trajectory = MetaTrajectory(init[None], energies, energies / scales)
    else:
        raise TypeError(
            f"phase_one: expected a MetaOptimizer or a (batch, num_params) start tensor, got {_checks.describe(phase_one)}"
        )
    parts = trajectory.parts()
    if len(parts) == 1:
        init = trajectory.best_params.detach().double()
        result = optimize(ansatz_list, init, optimizer=optimizer, lr=lr, steps=phase_two_steps, tol=tol)
        return TwoPhaseResult(trajectory, result)
    # several basins: Phase II from each basin's best point, and the lowest end is kept (the earlier on a tie)
    batch = len(ansatz_list)
    runs = optimize(
        ansatz_list * len(parts),
        torch.cat([part.best_params for part in parts]).detach().double(),
        optimizer=optimizer,
        lr=lr,
        steps=phase_two_steps,
        tol=tol,
    )
    choice = torch.argmin(runs.final_energies.view(len(parts), batch), dim=0)  # the first minimum on a tie
    kept = torch.arange(batch, device=choice.device) + batch * choice
    result = OptimizationResult(runs.params[:, kept], runs.energies[:, kept], runs.converged_at[kept])
    discarded = runs.steps_taken.view(len(parts), batch).sum(0) - runs.steps_taken[kept]
    return TwoPhaseResult(trajectory, result, discarded)
