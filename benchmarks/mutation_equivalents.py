"""Surviving mutants of benchmarks/mutation_test.py that cannot change any result (equivalent mutants), each
with the reason.  Mutant names are mutmut 3's (``mutmut show NAME`` in a ``--keep`` tree prints the diff); they
are stable while the mutated module's source is unchanged.  A survivor not listed here is a test gap."""

_NEG_RESHAPE = "numpy infers a negative reshape dimension whatever its value: reshape(n, -2) == reshape(n, -1)"
_ASTYPE_NONE = "astype(None) is astype(float64)"

EQUIVALENT = {
    # emulation/agreement.py
    "emulation.agreement.x_exact_agreement__mutmut_12": _NEG_RESHAPE,
    "emulation.agreement.x_exact_agreement__mutmut_23": _NEG_RESHAPE,
    "emulation.agreement.x_exact_agreement__mutmut_32": _ASTYPE_NONE,
    "emulation.agreement.x_exact_agreement__mutmut_68": "len(per_ev) == n_events >= 1 always: zero events already "
                                                        "fail the reshape, so the `or True` changes nothing",
    "emulation.agreement.x_exact_agreement__mutmut_70": "the else branch (no events) is unreachable, see mutmut_68",
    # analysis/report.py (physics_section)
    "analysis.report.x_physics_section__mutmut_92": "dict.setdefault(key) inserts None, as setdefault(key, None)",
    # analysis/references.py
    "analysis.references.x_source_entry__mutmut_68": "eff >= 0 vs eff > 0 differ only at eff = 0, where the "
                                                     "cross-section v is already None (xsec_for_events_pb)",
    # quantize/precision.py
    "quantize.precision.xǁPrecisionǁfrom_qkeras__mutmut_20": "drops rounding=RND_CONV, which is the dataclass "
                                                             "default",
    "quantize.precision.x_quantize_np__mutmut_24": "WRAP: mod(y + lo, 2**W) == mod(y - lo, 2**W) since 2 lo = -2**W "
                                                   "(signed) or lo = 0 (unsigned)",
    # analysis/working_points.py
    "analysis.working_points.x_threshold_at_fpr__mutmut_4": "sorting in the scores' own dtype: the threshold is "
        "float() of one element and `s > t` compares exactly for integer / float16 / float32 / float64 scores",
    "analysis.working_points.x_threshold_at_fpr__mutmut_6": "as mutmut_4 (dtype argument dropped)",
}
