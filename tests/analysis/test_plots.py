"""HEP-style figures (analysis/plots.py, mplhep): every figure written as PNG and PDF with a "Simulation" label;
the binomial intervals behind the efficiency bands.  ~5 s."""

import numpy as np
import pytest

from analysis import plots


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_clopper_pearson():
    lo, hi = plots.clopper_pearson(np.array([0, 5, 10]), np.array([10, 10, 10]))
    a = (1 - plots.CL68) / 2
    assert lo[0] == 0 and hi[2] == 1
    assert hi[0] == pytest.approx(1 - a ** (1 / 10))  # k = 0: the exact upper limit
    assert lo[2] == pytest.approx(a ** (1 / 10))
    assert lo[1] < 0.5 < hi[1] and hi[1] - 0.5 == pytest.approx(0.5 - lo[1])


def test_build_plots_png_pdf_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    s = {"background": rng.exponential(1.0, 20000), "sigA": rng.exponential(3.0, 2000), "sigB": rng.exponential(1.5, 2000)}
    view = {k: v * 1.01 for k, v in s.items()}
    sat = {"input_quant": {"precision": "ap_fixed<16,6>", "mode": "saturate", "samples": {
        k: {"n_events": len(v), "events_out_of_range": int(i * 3), "frac_events": i * 3 / len(v), "frac_values": 0.0}
        for i, (k, v) in enumerate(s.items())}}}
    report = {"working_points": [{"name": "fpr_0.001", "fpr": 1e-3, "background_rate_hz": 71.6}], "saturation": sat,
              "model_details": {"score": "sum(mu^2)"}}
    paths = plots.build_plots(tmp_path, report, s, view, view)
    assert [p.name for p in paths] == ["score_distributions.png", "roc.png", "efficiency_vs_rate.png", "saturation.png"]
    for p in paths:
        assert p.stat().st_size > 1000 and p.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    with plots.hep_figures() as plt:
        fig = plots.efficiency_vs_rate(plt, s, 71.6e3, "emulator")
        assert "Simulation" in _texts(fig)
        line = fig.axes[0].lines[0]
        x, y = line.get_data()
        assert np.all(np.diff(x) > 0) and np.all(np.diff(y) >= 0)  # efficiency grows with the allowed rate
        assert len(fig.axes[0].collections) >= 2  # the 68 % bands
        plt.close(fig)
        assert plots.saturation(plt, {}, "x") is None
