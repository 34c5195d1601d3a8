"""benchmarks/vae57_seed_ensembles.py: a seed ensemble scores the event-wise sum of its members' chip scores, gets its
own 1 kHz threshold and is paired with the reference on the same events."""

import numpy as np
import pytest


def _write(d, name, bkg, sig):
    np.savez(d / f"{name}.npz", background=bkg, s=sig)


def test_ensemble_sum_threshold_and_pairing(tmp_path, capsys):
    from benchmarks.vae57_seed_ensembles import ensemble, main

    rng = np.random.default_rng(5)
    n_sm = 400_000  # 10 SM events above FPR 2.5e-5
    _write(tmp_path, "ref", rng.random(n_sm), np.array([2.0, 2.0, 0.0, 0.0]))  # the reference selects events 0, 1
    # two members with independent uniform SM scores: alone each threshold is ~1 - 2.5e-5, the sum's ~2 - 0.007
    sig = np.array([0.999, 0.0, 0.99995, 0.2])
    _write(tmp_path, "m1", rng.random(n_sm), sig)
    _write(tmp_path, "m2", rng.random(n_sm), sig)
    ens = ensemble([dict(np.load(tmp_path / "m1.npz")), dict(np.load(tmp_path / "m2.npz"))])
    assert ens["s"].tolist() == pytest.approx([1.998, 0.0, 1.9999, 0.4])
    assert np.array_equal(ens["background"], np.load(tmp_path / "m1.npz")["background"]
                          + np.load(tmp_path / "m2.npz")["background"])
    assert main(["--scores-dir", str(tmp_path), "--reference", "ref", "--models", "m1", "m2", "--k", "1", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    # alone, neither member selects a signal event (both lose the reference's 2: z = -2 / sqrt(2))
    assert sum(x.strip().startswith(("m1 ", "m2 ")) and " s " in x and " 0 z -1.41 (10 SM above)" in x
               for x in out) == 2
    assert out[3].endswith("s 0 / 0") and out[3].strip().startswith("k=1: 2 ensembles")
    # together events 0 and 2 pass (1.998, 1.9999 above the sum's threshold): 0 shared, 1 lost, 2 gained -> z = 0
    line = next(x for x in out if x.strip().startswith("m1 + m2"))
    assert line.endswith(" 2 z +0.00 (10 SM above)")
    assert out[-1].strip() == ("k=2: 1 ensembles; per signal, ensembles at least the reference's count (z >= 0) / "
                               "beyond -2 sigma below it: s 1 / 0")


def test_ensemble_refuses_other_events_and_missing_files(tmp_path):
    from benchmarks.vae57_seed_ensembles import ensemble, main

    with pytest.raises(ValueError, match="different events"):
        ensemble([{"background": np.zeros(3)}, {"background": np.zeros(4)}])
    _write(tmp_path, "ref", np.zeros(10), np.zeros(2))
    with pytest.raises(SystemExit, match="no such scores file.*here: ref"):
        main(["--scores-dir", str(tmp_path), "--reference", "ref", "--models", "absent", "--k", "1"])
    with pytest.raises(SystemExit, match="--k"):
        main(["--scores-dir", str(tmp_path), "--reference", "ref", "--models", "ref", "--k", "2"])
