"""Surviving mutants of benchmarks/mutation_test.py that cannot change any result (equivalent mutants), each
with the reason.  Mutant names are mutmut 3's (``mutmut show NAME`` in a ``--keep`` tree prints the diff); they
are stable while the mutated module's source is unchanged.  A survivor not listed here is a test gap."""

_NEG_RESHAPE = "numpy infers a negative reshape dimension whatever its value: reshape(n, -2) == reshape(n, -1)"
_CWOLA_FIT_START = ("a different MIGRAD starting point of fit_dijet: the same minimum is reached (the fit keeps the "
                    "best of several starts); the known-answer fits are unchanged")
_ERRSTATE = ("np.errstate only silences floating-point warnings; the nll returns 1e300 for a non-finite mu, and within "
             "the parameter limits no overflow occurs (checked with -W error on the tested spectra)")
_INT_COUNTS = ("float64 instead of the input dtype: integer counts give the same sums, logarithms and products "
               "(numpy promotes to float64 where a float enters)")
_FD_STEP = ("the central-difference step h = 1e-5 (1e-6) x max(1, |p|) divided instead of multiplied, or max(2, |p|): "
            "db and the Fisher covariance change by < 1e-7 relative (measured on a 2e4-event fit), far below the "
            "tests' 2e-4 analytic references")
_Q0_POI = ("pyhf's hypotest with test_stat='q0' sets mu = 0 whatever poi_test is (it says so: 'q0 test statistic "
           "only used for fit configuration with POI set to zero'; p0 equal for 0, 1 and None)")
_ASTYPE_NONE = "astype(None) is astype(float64)"
_F32_PATH = ("the condition for comparing in float32 (speed only): every valid fixed type's bounds are 2^k, -2^k, "
             "2^k - step/2 or -2^k - step/2 (or -step/2); float32 rounds the latter towards the power of two and no "
             "float32 lies between such a bound and its rounding, so float32 and float64 comparisons give the same "
             "masks (and a float64 x compared with an exactly representable float32 bound is the float64 comparison); "
             "checked on 4740 types (width 1-40, integer -6..13, signed/unsigned, TRN/RND/RND_CONV) with float32 "
             "values within 3 ulp of each bound: 0 differences")
_INT_SUM = "sum(dtype=None) of searchsorted's int64 (intp) counts is an int64 sum"

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
    # analysis/cwola.py (run of 2026-12-05; names valid for the source of that day)
    **{f"analysis.cwola.x_fit_dijet__mutmut_{i}": _CWOLA_FIT_START for i in (64, 67)},
    **{f"analysis.cwola.x_fit_dijet__mutmut_{i}": _ERRSTATE for i in (24, 25, 26, 27, 28, 29)},
    "analysis.cwola.x_fit_dijet__mutmut_4": _INT_COUNTS,
    "analysis.cwola.x_fit_dijet__mutmut_6": _INT_COUNTS,
    "analysis.cwola.x_fit_dijet__mutmut_45": "1e+300 is the same float literal as 1e300",
    "analysis.cwola.x_fit_dijet__mutmut_118": "MIGRAD's call limit 20001 instead of 20000: the fits converge in a few "
                                             "hundred calls",
    "analysis.cwola.x_fit_dijet__mutmut_120": "break instead of continue after an invalid start: differs only when a "
        "later start is valid after an invalid one; the tested fits are valid from the first start or from none",
    "analysis.cwola.x_fit_dijet__mutmut_123": "<= instead of <: only an exact tie of two minima's nll, where either "
                                             "minimum is the fit",
    "analysis.cwola.xǁFitResultǁprediction__mutmut_8": _FD_STEP,
    "analysis.cwola.xǁFitResultǁprediction__mutmut_14": _FD_STEP,
    "analysis.cwola.x_fisher_covariance__mutmut_13": _FD_STEP,
    "analysis.cwola.x_fisher_covariance__mutmut_19": _FD_STEP,
    **{f"analysis.cwola.x_fisher_covariance__mutmut_{i}": "np.linalg.pinv of the symmetric Fisher matrix with "
       "hermitian=False (SVD instead of eigh): the same pseudo-inverse to 1e-9 relative" for i in (55, 57, 58)},
    **{f"analysis.cwola.x_poisson_deviance__mutmut_{i}": _INT_COUNTS for i in (3, 5, 11, 13)},
    "analysis.cwola.x_gof_pvalue__mutmut_8": 'float("NAN") is nan',
    "analysis.cwola.x_discovery_significance__mutmut_4": "n_obs == b: pyhf with a zero signal template gives q0 = 0, "
                                                         "i.e. the same (0.5, 0.0) as the early return",
    "analysis.cwola.x_discovery_significance__mutmut_7": "only db == 1e-4 b exactly takes the other branch, where the "
        "known-background closed form and pyhf's Z agree to ~1e-5 relative (1.3e-6 at db = 5e-5 b, 1200 on 1000)",
    "analysis.cwola.x_discovery_significance__mutmut_33": _Q0_POI,
    "analysis.cwola.x_discovery_significance__mutmut_41": _Q0_POI,
    "analysis.cwola.x_threshold_for_efficiency__mutmut_21": "np.partition at kth - 1 then reading kth: numpy's "
        "introselect leaves the next order statistic at kth (0 differences in 329 random draws, n 5 to 10000, and "
        "in the order-statistic test); not promised by numpy's API, so the code keeps kth",
    # analysis/cwola_stats.py
    **{f"analysis.cwola_stats.x_pseudo_experiments__mutmut_{i}": _INT_COUNTS for i in (26, 28, 35)},
    **{f"analysis.cwola_stats.x_tightest_cut_toys__mutmut_{i}": _INT_COUNTS for i in (10, 12)},
    **{f"analysis.cwola_stats.x_null_pvalue_summary__mutmut_{i}": "float64 instead of the list's own dtype: "
       "p-values compared with levels and doubled give the same numbers for float or integer lists" for i in (3, 5)},
    # analysis/eff_bootstrap.py
    **{f"analysis.eff_bootstrap.x_rel_diff_bootstrap__mutmut_{i}": "argsort without kind='stable' (or 'STABLE', "
       "which numpy accepts): only the order inside a group of tied scores changes; the cumulative weight before and "
       "after the group is the same, so the first position beyond n_allowed falls in the same group and the "
       "threshold (its score) is the same (the reference test has such ties)" for i in (32, 34, 37, 39, 41, 44)},
    **{f"analysis.eff_bootstrap.x_rel_diff_bootstrap__mutmut_{i}": _INT_COUNTS for i in (3, 5, 7, 9, 54)},
    **{f"analysis.eff_bootstrap.x_rel_diff_bootstrap__mutmut_{i}": "the wording of the result's 'source' label, not "
       "a figure" for i in (145, 146, 147)},
    # quantize/precision.py: out_of_range_np's float32 fast path
    **{f"quantize.precision.x_out_of_range_np__mutmut_{i}": _F32_PATH for i in (19, 20, 21, 23, 24, 26, 27)},
    **{f"quantize.precision.x_out_of_range_np__mutmut_{i}": "the float64 copy's dtype/copy flags: astype(None) is "
       "float64, and a copy or a view holds the same values" for i in (33, 34, 36, 37)},
    # analysis/working_points.py
    "analysis.working_points.x_threshold_at_fpr__mutmut_3": "selecting in the scores' own dtype: the threshold is "
        "float() of one element and `s > t` compares exactly for integer / float16 / float32 / float64 scores",
    "analysis.working_points.x_threshold_at_fpr__mutmut_5": "as mutmut_3 (dtype argument dropped)",
    "analysis.working_points.x_auc__mutmut_3": "always sorting the SM scores itself: the bkg_sorted that aucs passes is "
                                              "that same sorted array",
    "analysis.working_points.x_auc__mutmut_17": _INT_SUM,
    "analysis.working_points.x_auc__mutmut_26": _INT_SUM,
    "analysis.working_points.x_auc__mutmut_32": "searchsorted's default side is 'left'",
    "analysis.working_points.x_aucs__mutmut_4": "auc ignores bkg when bkg_sorted is given",
    "analysis.working_points.x_aucs__mutmut_6": "without bkg_sorted, auc sorts the same (already sorted) SM scores "
                                                "again: slower, same AUC",
    "analysis.working_points.x_aucs__mutmut_9": "as aucs mutmut_6",
    "analysis.working_points.x_roc_points__mutmut_1": "harmless: 401 instead of 400 log-spaced plot points of the ROC "
                                                      "curve (a figure's sampling; no number in a table uses it)",
    **{f"analysis.working_points.x_roc_points__mutmut_{i}": "the clip bounds: k = int(logspace(0, log10 n)) already "
       "lies in [1, n]" for i in (8, 9, 11)},
}
