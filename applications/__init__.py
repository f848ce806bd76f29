"""Applications of the cells: QAOA/DC-QAOA initialisation (``applications.qaoa``) and Ising dynamics (``applications.dynamics``)."""

from ornn.demo import register_section as _register_section


def _qaoa_section(config: dict) -> tuple:
    from .qaoa.demo import qaoa_section

    return qaoa_section(config)


_register_section("QAOA and DC-QAOA: random starts, baselines and meta-learned starts", _qaoa_section, order=30)


def _dynamics_section(config: dict) -> tuple:
    from .dynamics.demo import dynamics_section

    return dynamics_section(config)


_register_section("Ising-chain dynamics: a small predictor against exact evolution and persistence", _dynamics_section, order=40)
