"""The fast emulator's plan file (``model/fast_plan.npz``) and its fused C kernel: same values as the numpy path."""

import subprocess
import sys

import numpy as np


def test_plan_round_trip_is_exact_and_needs_no_tensorflow(small_vae, rng, adversarial_inputs, tmp_path):
    from emulation.fast import FastEmulator
    from emulation.fast_plan import load_plan, save_plan
    from models.vae21 import deployable_model

    vae, _ = small_vae
    emu = FastEmulator(deployable_model(vae))
    x = adversarial_inputs(rng, 21)
    y = emu.predict(x)
    path = save_plan(emu, tmp_path / "plan.npz")
    np.testing.assert_array_equal(load_plan(path).predict(x), y)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np; from emulation.fast_plan import load_plan; "
            f"e = load_plan({str(path)!r}); y = e.predict(np.load({str(tmp_path / 'x.npy')!r}), threads=2); "
            f"np.save({str(tmp_path / 'y.npy')!r}, y); print(e.backend, [m for m in ('tensorflow', 'keras') if m in sys.modules])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "native C kernel []", p.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), y)


def test_native_kernel_equals_numpy_path_on_every_chunk_tail(small_vae, rng, adversarial_inputs, monkeypatch):
    """Event counts that are not multiples of the kernel's 8-event block, float32 and float64 inputs."""
    from emulation.fast import FastEmulator
    from models.vae21 import deployable_model

    vae, _ = small_vae
    deploy = deployable_model(vae)
    x = adversarial_inputs(rng, 21)
    native = FastEmulator(deploy)
    assert native.backend == "native C kernel", native.native()[1]
    monkeypatch.setenv("LHC_TRIGGER_FAST_BACKEND", "numpy")
    ref = FastEmulator(deploy).predict(x)
    for n in (1, 7, 8, 9, 1001):
        np.testing.assert_array_equal(native.predict(x[:n], threads=1), ref[:n])
    np.testing.assert_array_equal(native.predict(x.astype(np.float64), chunk=999), ref)
    assert len(np.unique(ref)) > 100


def test_plan_rejects_other_files(tmp_path):
    import pytest

    from emulation.fast_plan import load_plan

    bad = tmp_path / "plan.npz"
    np.savez(bad, header=np.array('{"format": "other"}'))
    with pytest.raises(ValueError, match="plan format 'other'"):
        load_plan(bad)
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a fast-emulator plan"):
        load_plan(tmp_path / "junk.npz")


def test_float_numpy_is_the_float_keras_graph(small_vae, rng):
    """The bench's float-numpy row computes the same network as the float Keras row (float32 rounding apart)."""
    from emulation.bench import float_equivalent
    from emulation.float_numpy import FloatNumpy
    from models.vae21 import deployable_model

    vae, _ = small_vae
    deploy = deployable_model(vae)
    x = rng.normal(0, 2, (5000, 21)).astype(np.float32)
    y_np = FloatNumpy(deploy).predict(x)
    y_k = float_equivalent(deploy).predict(x, verbose=0, batch_size=5000)
    np.testing.assert_allclose(y_np, y_k, rtol=1e-4, atol=1e-5)
    assert y_np.std() > 0
