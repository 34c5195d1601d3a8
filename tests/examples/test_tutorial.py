"""The tutorial notebook (examples/tutorial.ipynb) executed with nbclient on reduced event counts, sharing the
CLI fixture's data and model cache (so it does not train).  ~2-3 min: one vae21 build, a check, a 2-point sweep."""

import os
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "tutorial.ipynb"


def test_notebook_is_generated_from_its_source(tmp_path):
    """examples/tutorial.ipynb is what examples/make_tutorial.py writes (no stale copy)."""
    import runpy
    import shutil

    src = tmp_path / "make_tutorial.py"
    shutil.copy(ROOT / "examples" / "make_tutorial.py", src)
    runpy.run_path(str(src), run_name="__main__")
    fresh = nbformat.read(tmp_path / "tutorial.ipynb", as_version=4)
    stored = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in fresh.cells] == [c.source for c in stored.cells]


@pytest.mark.slow
def test_tutorial_notebook_runs(cli_run, tmp_path, monkeypatch):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.setenv("TUTORIAL_SCALE", "small")
    monkeypatch.setenv("TUTORIAL_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("TUTORIAL_CACHE", str(cli_run[2] / "cache"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if o.get("output_type") == "stream")
    assert "checks passed: True" in text
    assert "emulator vs quantized Keras: 0 mismatched" in text
    assert "C-sim == emulator on 2000 of them" in text
    assert "{'ok': 2}" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2
    assert (tmp_path / "work" / "vae21" / "build.yml").is_file()
    assert (tmp_path / "work" / "sweep" / "results.parquet").is_file()
