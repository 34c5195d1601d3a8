"""The trained-model cache: written atomically (no partial entry, no temp folder left), loaded, replaced by
--retrain."""

from types import SimpleNamespace

from models.training import train_or_load


class _Model:
    def __init__(self, value):
        self.value = value

    def save_weights(self, path):
        path.write_text(str(self.value))

    def load_weights(self, path):
        self.value = int(path.read_text())


def _run(tmp_path, value, retrain=False):
    cfg = SimpleNamespace(cache_dir=tmp_path, retrain=retrain)
    ds = SimpleNamespace(meta={"cache_key": "data-1"}, x_train=[0] * 5)
    models = {"qat": _Model(0), "float_twin": _Model(0)}
    info = train_or_load(cfg, "toy", {"n": 1}, ds, models,
                         lambda name, m: setattr(m, "value", value) or {"epochs": 1}, {})
    return info, models


def test_cache_written_atomically_then_loaded_then_replaced(tmp_path):
    info, _ = _run(tmp_path, 7)
    assert info["from_cache"] is False
    entries = list((tmp_path / "models").iterdir())
    assert [e.name for e in entries] == [info["cache_dir"].rsplit("/", 1)[1]]  # no temp folder left behind
    assert sorted(p.name for p in entries[0].iterdir()) == ["float_twin.weights.h5", "info.json", "qat.weights.h5"]
    info2, models = _run(tmp_path, 9)  # cached: the trained values come back, training does not run
    assert info2["from_cache"] is True and models["qat"].value == 7
    info3, models = _run(tmp_path, 9, retrain=True)
    assert info3["from_cache"] is False and len(list((tmp_path / "models").iterdir())) == 1
    info4, models = _run(tmp_path, 1)
    assert info4["from_cache"] is True and models["float_twin"].value == 9
