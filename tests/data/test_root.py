"""ROOT input (data/root.py): small ROOT files written here with uproot are read into the 57-feature L1 layout
(ragged per-object collections and flat feature branches) and the 21 HLT features; errors name the tree and the
branch; (slow) a ROOT file builds an L1 model through build_hls.py."""

import json

import awkward as ak
import numpy as np
import pytest
import uproot

from data import l1
from data.dataset import read_hlt_h5
from data.features import HLT21_FEATURES
from data.root import read_l1_root

COLL = {"e": slice(1, 5), "mu": slice(5, 9), "j": slice(9, 19)}


def _particles(n, seed=3):
    from data.generator import generate, generate_sm_cocktail

    rng = np.random.default_rng(seed)
    return (l1.l1_particles(generate_sm_cocktail(n, rng)[0], rng),
            l1.l1_particles(generate("A_4l", max(n // 5, 10), rng), rng))


def _ragged_tree(p):
    """Per-object branches (variable-length lists of the present objects)."""
    d = {"MET_pt": p[:, 0, 0], "MET_phi": p[:, 0, 2]}
    for obj, sl in COLL.items():
        cols = {k: [] for k in ("pt", "eta", "phi")}
        for ev in p[:, sl]:
            ev = ev[ev[:, 0] > 0]
            for i, k in enumerate(cols):
                cols[k].append(ev[:, i])
        d.update({f"{obj}_{k}": ak.Array(v) for k, v in cols.items()})
    return d


def test_ragged_l1_ntuple_gives_the_57_features(tmp_path):
    bkg, sig = _particles(600)
    f = tmp_path / "l1.root"
    with uproot.recreate(f) as out:
        out["background"] = _ragged_tree(bkg)
        out["train"] = _ragged_tree(bkg[:200])
        out["signals/Ato4l"] = _ragged_tree(sig)
    ds = l1.read_l1_h5(f)  # the L1 family's reader dispatches on the file type
    np.testing.assert_array_equal(ds.x_test_bkg, l1.particles_to_features(bkg).astype(np.float32))
    np.testing.assert_array_equal(ds.x_train, l1.particles_to_features(bkg[:200]).astype(np.float32))
    np.testing.assert_array_equal(ds.x_test_signal["Ato4l"], l1.particles_to_features(sig).astype(np.float32))
    assert ds.x_val.shape == (0, 57) and ds.feature_names == l1.L1_FEATURES


def test_collections_are_pt_ordered_and_truncated(tmp_path):
    f = tmp_path / "o.root"
    with uproot.recreate(f) as out:
        out["background"] = {"MET_pt": np.array([50.0]), "MET_phi": np.array([0.5]),
                             "e_pt": ak.Array([[10.0, 30.0, 20.0]]), "e_eta": ak.Array([[0.1, 0.3, 0.2]]),
                             "e_phi": ak.Array([[1.0, 3.0, 2.0]]), "mu_pt": ak.Array([[1.0]])[:, :0],
                             "mu_eta": ak.Array([[1.0]])[:, :0], "mu_phi": ak.Array([[1.0]])[:, :0], "j_pt": ak.Array([list(range(21, 33))]),
                             "j_eta": ak.Array([[0.0] * 12]), "j_phi": ak.Array([[0.0] * 12])}
    x = read_l1_root(f).x_test_bkg[0]
    np.testing.assert_array_equal(x[:3], [50.0, 0.0, 0.5])
    np.testing.assert_allclose(x[3:12], [30, 0.3, 3, 20, 0.2, 2, 10, 0.1, 1], rtol=1e-6)
    np.testing.assert_array_equal(x[12:27], 0.0)  # 4th e/gamma and all muons: padding
    np.testing.assert_array_equal(x[27::3], np.arange(32, 22, -1))  # 10 hardest of 12 jets, descending


def test_flat_feature_branches_and_hlt_trees(tmp_path):
    bkg, _ = _particles(300, seed=5)
    x = l1.particles_to_features(bkg)
    f = tmp_path / "flat.root"
    with uproot.recreate(f) as out:
        out["background"] = {n: x[:, i] for i, n in enumerate(l1.L1_FEATURES)}
    np.testing.assert_array_equal(read_l1_root(f).x_test_bkg, x.astype(np.float32))

    rng = np.random.default_rng(1)
    h = rng.normal(size=(400, 21))
    g = tmp_path / "hlt.root"
    with uproot.recreate(g) as out:
        out["background"] = {**{n: h[:300, i] for i, n in enumerate(HLT21_FEATURES)},
                             "process": np.arange(300, dtype=np.int32) % 4}
        out["signals/X"] = {n: h[300:, i] for i, n in enumerate(HLT21_FEATURES)}
    ds = read_hlt_h5(g)
    np.testing.assert_array_equal(ds.x_test_bkg, h[:300].astype(np.float32))
    np.testing.assert_array_equal(ds.x_test_signal["X"], h[300:].astype(np.float32))
    np.testing.assert_array_equal(ds.test_bkg_process, np.arange(300) % 4)


def test_errors_name_tree_and_branch(tmp_path):
    f = tmp_path / "bad.root"
    with uproot.recreate(f) as out:
        out["events"] = {"MET_pt": np.ones(3)}
    with pytest.raises(ValueError, match=r"no TTree 'background'.*found \['events'\]"):
        read_l1_root(f)
    with uproot.recreate(f) as out:
        out["background"] = {"MET_pt": np.ones(3), "MET_phi": np.zeros(3), "e_pt": ak.Array([[1.0]] * 3)}
    with pytest.raises(ValueError, match=r"bad.root:background: missing branch\(es\) \['e_eta', 'e_phi'\]"):
        read_l1_root(f)
    with uproot.recreate(f) as out:
        out["background"] = {n: np.full(2, np.nan) for n in HLT21_FEATURES}
    with pytest.raises(ValueError, match=r"background: 42 NaN/inf values in 2 of 2 events"):
        read_hlt_h5(f)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_l1_root(tmp_path / "missing.root")


@pytest.mark.slow
def test_root_file_builds_an_l1_model(tmp_path):
    """vae57 trained and emulated on a ROOT file written here (~60-90 s: 2 epochs, 6000 + 10000 + 1000 events)."""
    import build_hls

    bkg, sig = _particles(16000, seed=8)
    f = tmp_path / "run.root"
    with uproot.recreate(f) as out:
        out["train"] = _ragged_tree(bkg[:6000])
        out["background"] = _ragged_tree(bkg[6000:])
        out["signals/Ato4l"] = _ragged_tree(sig[:1000])
    out_dir = tmp_path / "vae57"
    rc = build_hls.main(["--model", "vae57", "--data", str(f), "--output", str(out_dir), "--cache-dir",
                         str(tmp_path / "cache"), "--fpr", "2e-3", "--epochs", "2", "--no-companion",
                         "--min-spearman", "0.5", "--no-rtl"])  # the RTL path (L1 default): test_rtl.py
    rep = json.loads((out_dir / "report" / "report.json").read_text())
    assert rc == 0 and rep["model"] == "vae57"
    assert rep["data"]["n_train"] == 6000 and rep["data"]["n_test_background"] == 10000
    assert rep["data"]["n_test_signal"] == {"Ato4l": 1000}
    assert rep["agreement"]["emulator_vs_keras"]["n_mismatched"] == 0
    assert rep["agreement"]["emulator_vs_csim"]["n_mismatched"] == 0
