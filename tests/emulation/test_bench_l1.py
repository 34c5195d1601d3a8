"""The benchmark generates the model's own inputs: HLT21 for 21-input projects, the 57 L1 inputs for L1 projects."""

import numpy as np
import pytest


def test_bench_event_features(tmp_path):
    import h5py

    from emulation.bench import _feature_function, write_events_h5

    with pytest.raises(ValueError, match="HLT21 \\(21\\) or L1 \\(57\\)"):
        _feature_function(10)
    scale = np.full(57, 2.0, np.float32)
    write_events_h5(tmp_path / "e.h5", 500, np.zeros(57, np.float32), scale, seed=3, chunk=200)
    with h5py.File(tmp_path / "e.h5") as f:
        x = f["x"][:]
    assert x.shape == (500, 57) and np.all(np.isfinite(x))
    assert np.any(x == 0) and np.any(x > 0)  # zero-padded objects and non-zero pT
