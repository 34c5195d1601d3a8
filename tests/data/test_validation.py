"""The generator against the published figures (data/validation.py).  ~5 s in total."""

import math

import numpy as np
import pytest

from data import validation as v
from data.generator import GENERATOR_VERSION, generate

N_PER_PROCESS = 40_000  # enough for <= 3 % relative statistical uncertainty on every compared figure


@pytest.fixture(scope="module")
def table():
    return v.validation_table(v.count_all(N_PER_PROCESS, seed=3))


def test_events_per_month_worked_example():
    # W: 58 nb x 0.556 x 0.68 x 5 fb^-1 = 58e6 fb x 0.37808 x 5 fb^-1 = 109,643,200 events
    assert v.events_per_month(58.0, 0.556, 0.68) == pytest.approx(109_643_200.0, rel=1e-12)
    # QCD: 1.6e5 nb = 1.6e11 fb; x 0.0008 x 0.096 x 5 = 61,440,000
    assert v.events_per_month(1.6e5, 0.0008, 0.096) == pytest.approx(61_440_000.0, rel=1e-12)
    assert v.events_per_month(1.0, 1.0, 1.0, lumi_fb=2.0) == pytest.approx(2.0e6)


def test_stream_fractions_worked_example():
    f = v.stream_fractions({"a": 30.0, "b": 10.0, "c": 60.0})
    assert f == pytest.approx({"a": 0.3, "b": 0.1, "c": 0.6})


def test_xsec_for_100_events_worked_example():
    # h0 -> tau tau: 100 / (0.09 x 0.70 x 5 fb^-1) = 100 / 0.315 = 317.46 fb
    assert v.xsec_for_events_fb(100.0, 0.09, 0.70) == pytest.approx(317.4603, rel=1e-6)
    assert v.xsec_for_events_fb(100.0, 0.5, 0.5, lumi_fb=10.0) == pytest.approx(40.0)


def test_relations_reproduce_the_published_table():
    """The published numbers satisfy the relations within their rounding (so L = 5 fb^-1 is the right luminosity)."""
    pub = v.PUBLISHED
    sm = {k: v.events_per_month(pub[k].xsec_nb, pub[k].acceptance, pub[k].trigger_efficiency)
          for k in ("W", "QCD", "Z", "ttbar")}
    for k, n in sm.items():
        assert n == pytest.approx(pub[k].events_per_month, rel=0.07), k
    for k, f in v.stream_fractions(sm).items():
        assert f == pytest.approx(pub[k].stream_fraction, rel=0.05 if k != "ttbar" else 0.2), k
    for k in ("h0_tautau", "hpm_taunu", "LQ_btau", "A_4l"):
        assert v.xsec_for_events_fb(100.0, pub[k].acceptance_x_trigger_eff, 1.0) == pytest.approx(
            pub[k].xsec_100_per_month_fb, rel=0.1), k


def test_luminosity_matches_the_working_points():
    from analysis.working_points import LUMI_PER_MONTH_PB

    assert v.LUMI_PER_MONTH_FB * 1000.0 == LUMI_PER_MONTH_PB


def test_binomial_error():
    assert v.binomial_error(25, 100) == pytest.approx(math.sqrt(0.25 * 0.75 / 100))
    assert v.binomial_error(0, 100) > 0 and v.binomial_error(0, 0) == 0.0


def test_generated_vs_published(table):
    """Every comparable figure within 25 % of the published one, except the documented deviations, and the
    list of documented deviations exactly the figures that are off (so it cannot go stale)."""
    off, statuses = set(), {}
    for proc, d in table["processes"].items():
        for f in d["figures"]:
            key = (proc, f["quantity"])
            statuses[key] = f["status"]
            if f["status"] == "off":
                off.add(key)
                assert f["note"] == v.KNOWN_DEVIATIONS[key]
            elif f["status"] == "within_25pct":
                assert abs(f["rel_diff"]) <= 0.25
                # the statistical uncertainty is small against the 25 % band: the comparison means something
                assert f["uncertainty"] <= 0.03 * f["generated"], key
    assert off == set(v.KNOWN_DEVIATIONS)
    assert {k for k, s in statuses.items() if s == "not_modelled"} == set(v.NOT_MODELLED)
    # the core single-lepton figures the fixes targeted stay within 25 %
    for key in [("W", "acceptance"), ("W", "trigger_efficiency"), ("W", "events_per_month"), ("Z", "acceptance"),
                ("Z", "trigger_efficiency"), ("ttbar", "acceptance"), ("LQ_btau", "acceptance"), ("LQ_btau", "trigger_efficiency"),
                ("A_4l", "trigger_efficiency"), ("h0_tautau", "trigger_efficiency"), ("hpm_taunu", "trigger_efficiency")]:
        assert statuses[key] == "within_25pct", key


def test_table_counts_and_rows(table):
    assert table["generator_version"] == GENERATOR_VERSION and "synthetic" in table["note"]
    for proc, d in table["processes"].items():
        c = d["counts"]
        assert c["n_generated"] == N_PER_PROCESS >= c["n_accepted"] >= c["n_triggered"] > 0, proc
        fig = {f["quantity"]: f for f in d["figures"]}
        assert fig["acceptance"]["generated"] == c["n_accepted"] / c["n_generated"]
        assert fig["acceptance_x_trigger_eff"]["generated"] == pytest.approx(
            fig["acceptance"]["generated"] * fig["trigger_efficiency"]["generated"])
    fr = [next(f["generated"] for f in table["processes"][k]["figures"] if f["quantity"] == "stream_fraction")
          for k in ("W", "QCD", "Z", "ttbar")]
    assert sum(fr) == pytest.approx(1.0)


def test_cached_and_keyed_by_generator_version(tmp_path):
    a = v.load_or_measure(2000, 5, tmp_path)
    b = v.load_or_measure(2000, 5, tmp_path)
    assert not a["from_cache"] and b["from_cache"]
    assert a["processes"] == b["processes"]
    (path,) = tmp_path.glob("validation_*.h5")
    assert GENERATOR_VERSION in path.name and "seed5" in path.name and "n2000" in path.name


def test_bad_input():
    with pytest.raises(ValueError, match="valid names"):
        v.count_process("Wprime", 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match=">= 1000"):
        v.count_all(10, 0)


def test_generated_events_pass_the_stream_selection():
    ev = generate("QCD", 3000, np.random.default_rng(4))
    fires = (ev.lep_pt > 23) & (np.abs(ev.lep_eta) < 2.5) & (ev.lep_iso_ch < 0.45)
    assert fires.any(axis=1).all()
