"""Latency / LUT / DSP of a built project's model across da4ml pipelining (latency cutoff) and DSP use, with yosys.

    python -m benchmarks.l1_rtl_scan PROJECT_DIR --cutoffs 5 8 12 --nodsp

For every cutoff the project's deployable model (``model/deployable.keras``: the RND variant da4ml traces) is traced
with da4ml, written as pipelined Verilog into a temporary directory and synthesized with yosys (``synth_xilinx``, as
the build does; ``--nodsp`` adds a run with multipliers in LUTs).  Latency here is da4ml's pipeline depth in cycles
(the build's Verilator measurement checks that it equals the measured latency); whether a stage meets the clock is not
checked (yosys does no timing): a larger cutoff puts more logic between registers.  Not a test: a scan for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path


def scan(project: Path, cutoffs: list[float], nodsp: bool) -> list[dict]:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from da4ml.codegen import VerilogModel
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    from emulation.synth import run_yosys
    from hls.config import HLSConfig
    from hls.parts import find_part
    from hls.project import read_metadata
    from quantize.hgq_native import input_precision, kif

    md = read_metadata(project)
    cfg = HLSConfig.from_dict(md["hls"])
    from quantize.hgq_native import load_deployable

    model = load_deployable(project / "model" / "deployable.keras")
    inp, out = trace_model(model, inputs_kif=kif(input_precision(model)))
    comb = comb_trace(inp, out)
    rows = []
    for cut in cutoffs:
        for dsp in ([True, False] if nodsp else [True]):
            with tempfile.TemporaryDirectory(prefix="rtlscan-") as tmp:
                vm = VerilogModel(comb, cfg.project_name, Path(tmp), latency_cutoff=cut, part_name=cfg.part,
                                  clock_period=cfg.clock_period_ns)
                vm.write()
                stages = len(vm._pipe.solutions)
                ys = run_yosys(Path(tmp), cfg.project_name, cfg.part, dsp=dsp)
            part = find_part(cfg.part)
            rows.append({"model": md.get("model"), "latency_cutoff": cut, "dsp_allowed": dsp, "cycles": stages,
                         "ns": stages * cfg.clock_period_ns, "LUT": ys["LUT"], "LUT_percent": ys["percent"].get("LUT"),
                         "FF": ys["FF"], "DSP": ys["DSP"], "CARRY": ys["CARRY"], "yosys_s": ys["time_s"],
                         "part": part.name if part else cfg.part})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.l1_rtl_scan", description=__doc__.split("\n")[0])
    ap.add_argument("project", type=Path)
    ap.add_argument("--cutoffs", type=float, nargs="+", default=[5.0])
    ap.add_argument("--nodsp", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    rows = scan(a.project, a.cutoffs, a.nodsp)
    print("| model | cutoff | DSP allowed | cycles | ns | LUT | LUT % | FF | DSP |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['latency_cutoff']:g} | {r['dsp_allowed']} | {r['cycles']} | {r['ns']:g} | {r['LUT']} | "
              f"{r['LUT_percent']:.3f} | {r['FF']} | {r['DSP']} |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
