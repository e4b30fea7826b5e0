"""Shared hypothesis settings for the test suite.

Two profiles, chosen with the HYPOTHESIS_PROFILE environment variable: "ci" (the default,
60 examples a test, derandomized: the same examples on every run, so that CI fails only
for a change) and "thorough" (1000, random: run it to look for new failures). Tests never fix their own max_examples: they
take a share of the loaded profile's (jacchain.testing.profile_examples), and so do the
seeded loops, so that "thorough" scales every one of them up.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
