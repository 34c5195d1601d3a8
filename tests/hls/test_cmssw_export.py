"""build_hls.py export-cmssw: the hls4mlEmulator::Model library, compiled against a stand-in of hls4mlEmulatorExtras's
interface header, reproduces the project's golden vectors bit for bit (port values in) and its C-simulation on raw
features (input scaling baked in)."""

import json
import shutil
import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.slow

STANDIN = """#pragma once
// test stand-in of hls4mlEmulatorExtras's include/hls4ml/emulator.h (the Model interface only)
#include <any>
namespace hls4mlEmulator {
class Model {
public:
    virtual void prepare_input(std::any input) = 0;
    virtual void predict() = 0;
    virtual void read_result(std::any result) = 0;
    virtual ~Model() = default;
};
typedef Model *create_model_cls();
typedef void destroy_model_cls(Model *);
}  // namespace hls4mlEmulator
"""

DRIVER = """#include <dlfcn.h>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include "emulator.h"
#include "NN/{project}.h"
// usage: driver LIB port|raw INPUT.dat  -> one line of outputs per event (%.17g)
int main(int argc, char **argv) {{
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {{ std::fprintf(stderr, "%s\\n", dlerror()); return 2; }}
    auto create = (hls4mlEmulator::create_model_cls *)dlsym(h, "create_model");
    auto destroy = (hls4mlEmulator::destroy_model_cls *)dlsym(h, "destroy_model");
    hls4mlEmulator::Model *m = create();
    const bool raw = std::string(argv[2]) == "raw";
    std::ifstream in(argv[3]);
    std::string line;
    while (std::getline(in, line)) {{
        std::istringstream ss(line);
        std::vector<double> x;
        double v;
        while (ss >> v) x.push_back(v);
        {input_t} port[{n_in}];
        float rawx[{n_in}];
        for (int i = 0; i < {n_in}; ++i) {{ port[i] = {input_t}(x[i]); rawx[i] = (float)x[i]; }}
        if (raw) m->prepare_input(static_cast<float *>(rawx)); else m->prepare_input(static_cast<{input_t} *>(port));
        m->predict();
        double out[{n_out}];
        m->read_result(static_cast<double *>(out));
        for (int j = 0; j < {n_out}; ++j) std::printf(j ? " %.17g" : "%.17g", out[j]);
        std::printf("\\n");
    }}
    destroy(m);
    return 0;
}}
"""


def test_export_cmssw_matches_golden_and_csim(small_project, tmp_path):
    import build_hls
    from emulation.csim import CSimEmulator
    from hls.project import read_metadata, write_golden_vectors

    src, _ = small_project
    proj = tmp_path / "proj"
    shutil.copytree(src, proj)
    rng = np.random.default_rng(5)
    md = read_metadata(proj)
    n_in = md["n_inputs"]
    mean = rng.normal(0, 3, n_in).astype(np.float32)
    std = rng.uniform(0.3, 4, n_in).astype(np.float32)
    md["standardization"] = {"mean": mean.tolist(), "std": std.tolist(), "applied": "upstream of the input port"}
    (proj / "metadata.json").write_text(json.dumps(md))
    csim = CSimEmulator(src)
    xg = np.concatenate([rng.normal(0, 3, (400, n_in)), np.round(rng.normal(0, 8, (200, n_in)) * 2048) / 2048])
    write_golden_vectors(proj, xg.astype(np.float32), csim.predict(xg.astype(np.float32)), {"source": "C-sim"})

    inc = tmp_path / "standin"
    inc.mkdir()
    (inc / "emulator.h").write_text(STANDIN)
    out = tmp_path / "cmssw"
    assert build_hls.main(["export-cmssw", str(proj), "--output", str(out), "--name", "small_ad",
                           "--emulator-include", str(inc)]) == 0
    lib = out / "libsmall_ad.so"
    assert lib.is_file()
    assert not list((out / "NN" / "weights").glob("*.txt"))  # weights baked in: no run-time files
    assert "load_weights_from_txt" not in (out / "NN" / "myproject.cpp").read_text()
    sig = json.loads((out / "export.json").read_text())
    drv = tmp_path / "driver.cpp"
    drv.write_text(DRIVER.format(project="myproject", **sig))
    exe = tmp_path / "driver"
    subprocess.run(["g++", "-O1", "-std=c++17", f"-I{inc}", f"-I{src / 'firmware' / 'ap_types'}", f"-I{out}",
                    f"-I{out / 'NN'}", str(drv), "-o", str(exe), "-ldl"], check=True, capture_output=True)

    def run(mode, path):
        r = subprocess.run([str(exe), str(lib), mode, str(path)], check=True, capture_output=True, text=True)
        return np.loadtxt(r.stdout.splitlines(), ndmin=2)

    golden_out = np.loadtxt(proj / "tb_data" / "tb_output_predictions.dat", ndmin=2)
    y_port = run("port", proj / "tb_data" / "tb_input_features.dat")
    assert y_port.shape == golden_out.shape and np.count_nonzero(y_port != golden_out) == 0
    assert np.unique(golden_out).size > 50
    # raw features: the baked-in scaling, in float32 as the build does it, then the C-sim
    raw = (rng.normal(0, 6, (600, n_in)) + mean).astype(np.float32)
    np.savetxt(tmp_path / "raw.dat", raw.astype(np.float64), fmt="%.17g")
    want = csim.predict(((raw - mean) / std).astype(np.float32))
    assert np.count_nonzero(run("raw", tmp_path / "raw.dat") != want) == 0


def test_export_cmssw_refuses_non_project(tmp_path):
    from hls.cmssw import export_cmssw

    with pytest.raises(FileNotFoundError, match="metadata.json"):
        export_cmssw(tmp_path)
