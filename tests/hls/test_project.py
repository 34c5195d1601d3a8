"""Firmware project lifecycle and the bit-exactness of the C-simulation vs the quantized Keras model."""

import json
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_csim_equals_keras_exactly(small_project, rng, adversarial_inputs):
    from emulation.agreement import exact_agreement
    from emulation.csim import CSimEmulator

    project_dir, deploy = small_project
    x = adversarial_inputs(rng, deploy.inputs[0].shape[-1])
    emu = CSimEmulator(project_dir)
    y_emu = emu.predict(x)
    y_keras = deploy.predict(x, batch_size=4096, verbose=0)
    assert y_emu.shape == (len(x), 1)
    a = exact_agreement(y_emu, y_keras)
    assert a.n_mismatched == 0
    # scores are sums of squares of 12-bit values: exact in float32 for this small model
    np.testing.assert_array_equal(y_emu, y_keras.astype(np.float64))


def test_emulator_rejects_wrong_shape(small_project):
    from emulation.csim import CSimEmulator

    emu = CSimEmulator(small_project[0])
    with pytest.raises(ValueError, match=r"shape \(n, 21\)"):
        emu.predict(np.zeros((3, 20), dtype=np.float32))


def test_project_contents(small_project):
    project_dir, _ = small_project
    md = json.loads((project_dir / "metadata.json").read_text())
    assert md["hls"]["part"] == "xcvu13p-flga2577-2-e" and md["n_inputs"] == 21
    assert (project_dir / "build_prj.tcl").is_file()
    assert (project_dir / md["csim_library"]).is_file()
    assert (project_dir / "model" / "deployable.keras").is_file()


def test_moved_project_reads_its_own_weights(small_project, tmp_path):
    """The C-sim library finds firmware/weights beside itself (builds are staged aside, then renamed): a moved
    copy emulates identically, reads the copy's weights, and a copy without weights gives a clear error."""
    import numpy as np

    from emulation.csim import CSimEmulator

    x = np.random.default_rng(0).normal(size=(64, CSimEmulator(small_project[0]).n_inputs))
    moved = tmp_path / "moved"
    shutil.copytree(small_project[0], moved)
    np.testing.assert_array_equal(CSimEmulator(moved).predict(x), CSimEmulator(small_project[0]).predict(x))
    zeroed = tmp_path / "zeroed"
    shutil.copytree(small_project[0], zeroed)
    for w in (zeroed / "firmware" / "weights").glob("*.txt"):
        w.write_text(",".join("0" for _ in w.read_text().split(",")))
    assert not np.any(CSimEmulator(zeroed).predict(x))  # all weights and biases 0 -> all outputs 0
    gone = tmp_path / "gone"
    shutil.copytree(small_project[0], gone)
    shutil.rmtree(gone / "firmware" / "weights")
    with pytest.raises(RuntimeError, match="moved or is incomplete"):
        CSimEmulator(gone)


def test_failed_build_keeps_previous_project(small_project, tmp_path, monkeypatch):
    import hls.project as hp
    from hls.config import HLSConfig

    project_dir, deploy = small_project
    target = tmp_path / "proj"
    shutil.copytree(project_dir, target)
    before = sorted(p.relative_to(target) for p in target.rglob("*"))

    def broken(*a, **k):
        raise RuntimeError("g++ exploded")

    monkeypatch.setattr(hp, "compile_csim", broken)
    with pytest.raises(RuntimeError, match="previous project .* is untouched"):
        hp.build_project(deploy, HLSConfig(), target, {"model": "x"})
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
    failed = list((tmp_path / ".failed").iterdir())
    assert len(failed) == 1 and "g++ exploded" in (failed[0] / "ERROR.txt").read_text()


def test_invalid_reuse_factor_rejected_before_build(small_project, tmp_path):
    from hls.config import HLSConfig
    from hls.project import build_project

    with pytest.raises(RuntimeError, match="reuse factor 5 is not valid"):
        build_project(small_project[1], HLSConfig(reuse_factor=5), tmp_path / "p", {})
    assert not (tmp_path / "p").exists()


def test_saturation_counts_out_of_range_inputs(small_project):
    from emulation.saturation import saturation_counts

    _, deploy = small_project
    x = np.zeros((10, 21), dtype=np.float32)
    x[:3, 0] = 40.0  # above ap_fixed<16,6>'s max
    x[3, 5] = -33.0  # below its min
    sat = saturation_counts(deploy, {"bkg": x, "sig": np.zeros((4, 21), np.float32)})
    s = sat["input_quant"]["samples"]
    assert s["bkg"]["events_out_of_range"] == 4 and s["bkg"]["frac_values"] == pytest.approx(4 / 210)
    assert s["sig"]["events_out_of_range"] == 0
    assert sat["input_quant"]["precision"] == "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"


@pytest.mark.parametrize("first,second,rc", [("true", "true", 0), ("false", "true", 1), ("true", "false", 1)])
def test_parallel_object_compiles_still_stop_on_a_failure(first, second, rc, tmp_path):
    """compile_csim compiles the network and the bridge concurrently; a failed compile still fails the script."""
    import subprocess

    from hls.project import _parallel_objects

    script = ("#!/bin/bash\nset -e\nCC=true\n${CC} -O3 -c firmware/a.cpp -o a.o\n${CC} -O3 -c b.cpp -o b.o\n"
              "${CC} -O3 -shared a.o b.o -o x.so\ntouch linked\n")
    par = _parallel_objects(script).replace("${CC} -O3 -c firmware", f"{first} -c firmware").replace(
        "${CC} -O3 -c b.cpp", f"{second} -c b.cpp")
    assert par.count("& PIDS+=($!)") == 2
    r = subprocess.run(["bash", "-s"], input=par, cwd=tmp_path, capture_output=True, text=True)
    assert (r.returncode != 0) == bool(rc) and (tmp_path / "linked").exists() == (rc == 0)
