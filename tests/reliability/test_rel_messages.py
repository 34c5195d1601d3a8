"""Messages that pointed the wrong way (the issue's item 6).  Milliseconds, no build."""

import numpy as np


def test_no_argmax_agreement_for_regression_outputs():
    from flow.steps.legacy import _emu_stats

    a = np.arange(12.0).reshape(4, 3)
    assert "argmax_agreement" not in _emu_stats(a, a + 0.1)
    assert _emu_stats(a, a + 0.1, classifier=True)["argmax_agreement"] == 1.0


def test_import_report_lists_only_applied_tolerances():
    from flow.checks import tolerances_dict
    from flow.config import BuildConfig
    from models.registry import ReportKind

    cfg = BuildConfig(reference_tolerance=1e-3)
    t = tolerances_dict(cfg, ReportKind.IMPORT)
    assert t == {"max_mismatched": cfg.tolerances.max_mismatched, "reference_tolerance": 1e-3}
    assert "min_spearman_float_view" in tolerances_dict(cfg, ReportKind.TRIGGER)


def test_reference_mismatch_first_asks_whether_reference_is_the_model_output():
    from flow.checks import import_checks
    from flow.config import BuildConfig

    rep = {"agreement": {"emulator_vs_keras": {"n_mismatched": 0, "output": "model output"}},
           "import": {"reference_max_abs_diff": 0.5, "reference_n_events_differing": 10,
                      "inserted_input_quantizer": {"precision": "ap_fixed<16,4>"}}}
    ok, failures = import_checks(rep, BuildConfig())
    assert not ok and "not e.g. an autoencoder's targets" in failures[0]
    assert failures[0].index("--reference holds the model's own outputs") < failures[0].index("input quantizer")


def test_compile_error_does_not_quote_a_path_that_moves(tmp_path):
    """The g++ error names build_lib.log of the failed build (kept in .failed/), not the staging path."""
    from hls.project import compile_csim

    (tmp_path / "firmware").mkdir()
    (tmp_path / "build_lib.sh").write_text('INCFLAGS="-Ifirmware/ap_types/"\nWEIGHTS_DIR="x"\nexit 1\n')
    try:
        compile_csim(tmp_path)
    except RuntimeError as exc:
        assert "build_lib.log of the failed build" in str(exc) and str(tmp_path) not in str(exc)
    else:
        raise AssertionError("compile_csim did not fail")


def test_hls4ml_bit_exactness_warning_is_surfaced_and_explained(capsys):
    import warnings

    from hls.project import _surface_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            warnings.warn("max is not a multiple of delta. Bit-exactness may be compromised.")
    assert _surface_warnings(caught) == ["max is not a multiple of delta. Bit-exactness may be compromised."]
    out = capsys.readouterr().out
    assert out.count("[hls4ml] warning:") == 1 and "BatchNorm folded" in out
