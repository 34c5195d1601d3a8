"""Run the same small builds of every build family into one folder, so two versions of the toolkit can be
compared report by report with ``benchmarks/report_diff.py``.

    python benchmarks/reference_builds.py OUT [--only vae21,cwola]

Each build gets a fresh cache under ``OUT/cache/<name>/`` (data generated and models trained from the seeds),
so the comparison also covers training reproducibility.  The families: vae21; a user ``.keras`` model (the
vae21 deployable model, on events written here); ae57; vae57 with its HGQ2-native companion vae57hgq; cwola
on generated dijets; a legacy Keras 2 / QKeras classifier (JSON + weights, softmax) and a full-model CNN ``.h5``.
Sizes are the test suite's small ones: the point is identical numbers, not physics.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--n-train", "4000", "--n-signal", "2000", "--n-test-bkg", "20000", "--fpr", "1e-3", "--epochs", "2",
         "--min-spearman", "0.5"]
L1 = [*SMALL, "--rate", "30000"]
CWOLA = ["--n-bkg", "40000", "--n-inject", "600", "--epochs", "2", "--folds", "3", "--window-centres", "3200,3717"]


def _legacy_inputs(out: Path) -> dict[str, list[str]]:
    """Keras 2 files written by the test helpers (no Keras 2 here), with inputs and reference outputs."""
    import h5py

    sys.path.insert(0, str(ROOT / "tests" / "models"))
    from keras2_files import (classifier_reference, classifier_weights, cnn_reference, cnn_weights,
                              write_full_h5, write_json_and_weights)

    d = out / "inputs"
    d.mkdir(parents=True, exist_ok=True)
    w = classifier_weights()
    js, wp = write_json_and_weights(d, "qkeras_classifier.json", w)
    x = np.random.default_rng(21).normal(0, 3, (3000, 16)).astype(np.float32)
    np.save(d / "cls_x.npy", x)
    np.savetxt(d / "cls_ref.dat", classifier_reference(x, w)[1], fmt="%.9g")
    wc = cnn_weights()
    full = write_full_h5(d, "qkeras_cnn_sequential.json", wc)
    xc = (np.round(np.clip(np.random.default_rng(22).normal(0, 2, (1500, 36)), -7.9, 7.9) * 256) / 256).astype(np.float32)
    with h5py.File(d / "cnn_x.h5", "w") as f:
        f.create_dataset("features", data=xc)
    with h5py.File(d / "cnn_ref.h5", "w") as f:
        f.create_dataset("outputs", data=cnn_reference(xc.reshape(-1, 6, 6, 1), wc, lambda v: v))
    xu = np.random.default_rng(3).normal(size=(3000, 21)).astype(np.float32)
    with h5py.File(d / "user_ev.h5", "w") as f:
        f.create_dataset("background/features", data=xu)
    return {
        "legacy_classifier": ["--model", str(js), "--weights", str(wp), "--data", str(d / "cls_x.npy"),
                              "--reference", str(d / "cls_ref.dat")],
        "legacy_cnn": ["--model", str(full), "--data", str(d / "cnn_x.h5"), "--reference", str(d / "cnn_ref.h5")],
        "user_keras": ["--model", str(out / "vae21" / "model" / "deployable.keras"), "--data", str(d / "user_ev.h5"),
                       "--fpr", "0.005"],
    }


def builds(out: Path) -> dict[str, list[str]]:
    extra = _legacy_inputs(out)
    return {
        "vae21": ["--model", "vae21", *SMALL],
        "user_keras": extra["user_keras"],
        "ae57": ["--model", "ae57", *L1],
        "vae57": ["--model", "vae57", *L1],
        "cwola": ["--model", "cwola", *CWOLA],
        "legacy_classifier": extra["legacy_classifier"],
        "legacy_cnn": extra["legacy_cnn"],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for the projects (OUT/<name>/report/report.json)")
    ap.add_argument("--only", help="comma-separated subset of the build names")
    ap.add_argument("--python", default=sys.executable, help="interpreter running build_hls.py")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    todo = builds(out)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(names) - set(todo))
        if unknown:
            ap.error(f"unknown build names {unknown}; choose from {sorted(todo)}")
        todo = {n: todo[n] for n in names}
    failed = []
    for name, cli in todo.items():
        cmd = [args.python, str(ROOT / "build_hls.py"), *cli, "--output", str(out / name),
               "--cache-dir", str(out / "cache" / name)]
        t0 = time.perf_counter()
        with open(out / f"{name}.log", "w") as log:
            rc = subprocess.call(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        print(f"{name}: exit {rc} in {time.perf_counter() - t0:.0f} s ({out / name / 'report' / 'report.json'})",
              flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"builds that exited non-zero: {failed} (see OUT/<name>.log)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
