"""Shared test settings.

Hypothesis: the "ci" profile (selected when CI is set) derandomises the search so a
CI run is reproducible; locally the default profile explores new examples.
No deadlines: first calls pay for torch's lazy initialisation.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
