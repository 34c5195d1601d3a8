"""cicada student: trains on synthetic region images, tracks the teacher, and converts with hls4ml 1.3
io_parallel bit-exactly (C simulation == float64 Keras on every test event).  ~45 s on 2 shared cores."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from data.calo import generate_calo
    from models.cicada import train_student, train_teacher

    ds = generate_calo(seed=11, n_train=1500, n_val=300, n_test_bkg=500, n_signal=500)
    teacher = train_teacher(ds.x_train, ds.x_val, seed=1, epochs=5)
    student = train_student(teacher, ds.x_train, ds.x_val, seed=2, epochs=15)
    return ds, teacher, student, tmp_path_factory.mktemp("cicada_hls")


@pytest.mark.slow
def test_student_tracks_teacher(trained):
    from models.cicada import student_input, teacher_score

    ds, teacher, student, _ = trained
    x = np.concatenate([ds.x_test_bkg, ds.x_test_signal["hpm_taunu"]])
    t = teacher_score(teacher, x)
    s = student.predict(student_input(x), verbose=0)[:, 0]
    rank = lambda v: np.argsort(np.argsort(v))
    assert np.corrcoef(rank(t), rank(s))[0, 1] > 0.7  # Spearman correlation student vs teacher


@pytest.mark.slow
def test_student_hls4ml_io_parallel_bit_exact(trained):
    import hls4ml

    from models.cicada import CLOCK_PERIOD_NS, PART, student_input

    ds, _, student, out = trained
    cfg = hls4ml.utils.config_from_keras_model(student, granularity="name", backend="Vitis")
    hm = hls4ml.converters.convert_from_keras_model(student, hls_config=cfg, output_dir=str(out), backend="Vitis",
                                                    io_type="io_parallel", part=PART,
                                                    clock_period=CLOCK_PERIOD_NS)
    hm.compile()
    x = np.ascontiguousarray(student_input(np.concatenate([ds.x_test_bkg, ds.x_test_signal["hpm_taunu"]]))
                             .astype(np.float64))
    ref = student.predict(x, verbose=0)[:, 0].astype(np.float64)
    got = np.asarray(hm.predict(x), np.float64).reshape(-1)
    assert np.unique(ref).size > 10  # a non-trivial output
    assert int(np.sum(got != ref)) == 0
