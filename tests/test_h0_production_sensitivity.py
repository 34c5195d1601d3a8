"""benchmarks/h0_production_sensitivity.py's event generation: the default variant is the generator's own model
(the same events), ``generate(counts=...)`` draws no random numbers and counts the documented acceptance.  Seeded,
pure numpy, a few seconds; writes nothing."""

import math

import numpy as np
import pytest

from benchmarks import h0_production_sensitivity
from data.generator import generate


def test_default_variant_is_the_generator_and_counting_draws_nothing():
    m = h0_production_sensitivity
    plain = generate("h0_tautau", 500, np.random.default_rng(5))
    counts = {}
    counted = generate("h0_tautau", 500, np.random.default_rng(5), counts=counts)
    x_variant, c_variant = m.generate_variant("gluon fusion", 500, np.random.default_rng(5))
    from data.features import compute_hlt21

    x_plain = compute_hlt21(plain)
    np.testing.assert_array_equal(compute_hlt21(counted), x_plain)
    np.testing.assert_array_equal(x_variant, x_plain)
    assert c_variant == counts
    assert counts["generated"] >= counts["accepted"] >= counts["triggered"] >= 500


def test_default_variant_acceptance_as_documented():
    """h0_tautau's acceptance 0.0340 (README / data.validation, seed 42, 200k events) within 4 binomial standard
    errors of the events generated for 3000 stream events; a bracket is harder (its acceptance > 0.06)."""
    m = h0_production_sensitivity
    _, c = m.generate_variant("gluon fusion", 3000, m.variant_rng(1, "gluon fusion"))
    n = c["generated"]
    assert c["accepted"] / n == pytest.approx(0.0340, abs=4 * math.sqrt(0.034 * 0.966 / n))
    from benchmarks.scalar_production_variants import BRACKETS

    _, cb = m.generate_variant(BRACKETS[0], 3000, m.variant_rng(1, BRACKETS[0]))
    assert cb["accepted"] / cb["generated"] > 0.06
