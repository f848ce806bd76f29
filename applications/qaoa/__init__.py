"""QAOA and DC-QAOA: problems, ansatz, circuits, optimisers, baselines, metrics and learned initialisers."""

from .ansatz import CD_POOL, DCQAOA, QAOA, BatchedQAOA, make_ansatz, parameter_count, stacked_energy
from .baselines import (
    FIXED_ANGLES_3_REGULAR,
    DegreeRule,
    ansatz_optimum,
    degree_rule,
    fixed_angles,
    linear_ramp,
    random_init,
)
from .large_girth import large_girth_cut_fraction
from .meta import (
    MetaOptimizer,
    MetaTrajectory,
    ProblemDistribution,
    fit_start_rules,
    meta_train,
    observed_improvement_loss,
    two_phase,
    weighted_cost_loss,
)
from .metrics import approximation_ratio, iterations_to_convergence, optimal_probability, relative_error
from .optimize import OptimizationResult, batch_energy, optimize
from .problems import (
    FAMILIES,
    MAX_BRUTE_FORCE_QUBITS,
    SK,
    MaxCut,
    Problem,
    complete_weighted_maxcut,
    erdos_renyi_maxcut,
    random_regular_maxcut,
    random_sk,
)
from .shipped import pretrained
from .solve import SolveResult, read_graph, solve

__all__ = [
    "Problem",
    "FAMILIES",
    "MaxCut",
    "SK",
    "MAX_BRUTE_FORCE_QUBITS",
    "random_regular_maxcut",
    "complete_weighted_maxcut",
    "erdos_renyi_maxcut",
    "random_sk",
    "QAOA",
    "DCQAOA",
    "BatchedQAOA",
    "stacked_energy",
    "CD_POOL",
    "make_ansatz",
    "parameter_count",
    "relative_error",
    "approximation_ratio",
    "optimal_probability",
    "iterations_to_convergence",
    "optimize",
    "OptimizationResult",
    "batch_energy",
    "random_init",
    "linear_ramp",
    "fixed_angles",
    "degree_rule",
    "DegreeRule",
    "FIXED_ANGLES_3_REGULAR",
    "ansatz_optimum",
    "large_girth_cut_fraction",
    "MetaOptimizer",
    "MetaTrajectory",
    "ProblemDistribution",
    "fit_start_rules",
    "meta_train",
    "pretrained",
    "two_phase",
    "solve",
    "SolveResult",
    "read_graph",
    "weighted_cost_loss",
    "observed_improvement_loss",
]
