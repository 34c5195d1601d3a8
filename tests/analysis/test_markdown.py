"""The shared markdown helpers, the report writers that use them, and the shape of analysis/'s imports."""

import ast
import subprocess
import sys
from pathlib import Path

from analysis.import_report import write_import_report
from analysis.markdown import BLANK, checks_line, fmt, fmt_rate, saturation_md, table, table_row

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"


def test_fmt_and_rate():
    assert fmt(None) == "n/a" and fmt(1 / 3) == "0.3333" and fmt(1 / 3, 3) == "0.333" and fmt(7) == "7"
    assert fmt("x") == "x" and fmt(True) == "True"
    assert (fmt_rate(0.0123), fmt_rate(12.34), fmt_rate(45678.0)) == ("12.3 mHz", "12.3 Hz", "45.7 kHz")


def test_table_rows_and_blank_cells():
    assert table(["a", "b"], [[1, None], ["", BLANK]]) == ["| a | b |", "|---|---|", "| 1 | None |", "|  | |"]
    assert table_row([2.5, "`x`"]) == "| 2.5 | `x` |"
    assert table(["only"]) == ["| only |", "|---|"]


def test_saturation_and_checks():
    sat = {"q1": {"precision": "ap_fixed<8,3>", "samples": {"bkg": {"frac_events": 0.25, "events_out_of_range": 3},
                                                             "sig": {"frac_events": 0.0, "events_out_of_range": 0}}}}
    assert saturation_md(sat) == ("| layer | precision | bkg | sig |\n|---|---|---|---|\n"
                                  "| q1 | `ap_fixed<8,3>` | 0.25 (3) | 0 (0) |\n")
    assert saturation_md({}) == "No quantizer layers found.\n"
    assert checks_line({"passed": False, "failures": ["a", "b"]}) == "Checks: **FAILED** a; b"


def test_import_report_layers_table(tmp_path):
    report = {
        "model": "m", "checks": {"passed": True, "failures": []}, "saturation": {}, "timings_s": {"total": 1.0},
        "hls": {"project_dir": "p", "backend": "Vitis", "part": "xc", "clock_period_ns": 5, "io_type": "io_parallel",
                "strategy": "Latency", "reuse_factor": 1},
        "agreement": {"emulator_vs_keras": {"output": "y", "n_mismatched": 0, "n_events": 10, "max_abs_diff": 0.0}},
        "import": {"name": "m", "layers": [{"name": "a", "class": "Dense"},
                                           {"name": "b", "class": "Dense", "imported_as": "QDense", "units": 3}],
                   "n_events": 10},
    }
    write_import_report(report, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "Project: `p` (Vitis, part xc, clock 5 ns, io_parallel, Latency, reuse factor 1).\nChecks: **PASSED** \n" in md
    assert "| a | Dense |  | |\n| b | Dense | QDense | `{'units': 3}` |\n" in md
    assert md.endswith("## Timings [s]\n\n```\n{'total': 1.0}\n```\n")


def _imports(path: Path) -> set[str]:
    """analysis modules imported by ``path`` (relative or absolute, at any depth)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1:
                out |= {base} if base else {a.name for a in node.names}
            elif base.startswith("analysis."):
                out.add(base.split(".")[1])
            elif base == "analysis":
                out |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("analysis.")}
    return out


def test_no_import_cycles_in_analysis():
    graph = {p.stem: _imports(p) & {q.stem for q in ANALYSIS.glob("*.py")} for p in ANALYSIS.glob("*.py")}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, f"import cycle: {' -> '.join(stack + [m, n])}"
            if n not in state:
                visit(n, stack + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
    assert "report" not in graph["import_report"] and graph["markdown"] == set()


def test_analysis_does_not_import_tensorflow():
    code = ("import sys, analysis.report, analysis.import_report, analysis.budgets, analysis.compare, "
            "analysis.cwola_report, analysis.markdown; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ANALYSIS.parent).stdout
    assert out.strip() == "[]"
