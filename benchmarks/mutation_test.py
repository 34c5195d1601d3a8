"""Mutation testing of the physics and agreement code with mutmut (a separate command, not run in CI).

For each module (one at a time: mutation runs are CPU heavy) the repository's committed tree is copied into a
scratch directory, a ``[tool.mutmut]`` section selects that module and its targeted tests, ``mutmut run`` mutates
it, and the kill rate and the surviving mutants are printed.  Nothing is written into the worktree.

    nice -n 15 python benchmarks/mutation_test.py                 # every module below
    nice -n 15 python benchmarks/mutation_test.py analysis/working_points.py --keep /tmp/mut

Goal (issue 22): >= 90 % of the mutants killed per module; survivors are killed with tests or listed as harmless.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutation_equivalents import EQUIVALENT  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["analysis", "data", "emulation", "flow", "hls", "models", "quantize", "sweep", "build_hls.py"]

# module -> the fast targeted tests that should kill its mutants (no builds, no training)
TARGETS = {
    "analysis/working_points.py": ["tests/analysis/test_working_points.py", "tests/analysis/test_physics_references.py"],
    "analysis/report.py": ["tests/analysis/test_physics_references.py"],
    "analysis/cwola.py": ["tests/analysis/test_cwola_hunt.py", "tests/analysis/test_significance_references.py",
                          "tests/analysis/test_cwola_mutants.py"],
    # test_cwola_stats.py's 200-toy test takes ~25 s per mutant: the fast known answers instead
    "analysis/cwola_stats.py": ["tests/analysis/test_cwola_stats_mutants.py",
                                "tests/analysis/test_cwola_stats.py::test_null_pvalue_summary_uniform_and_not"],
    "analysis/eff_bootstrap.py": ["tests/analysis/test_eff_bootstrap.py", "tests/analysis/test_eff_bootstrap_reference.py"],
    "analysis/score_candidates.py": ["tests/analysis/test_score_candidates.py"],
    "analysis/references.py": ["tests/analysis/test_references.py"],
    "analysis/budgets.py": ["tests/analysis/test_budgets.py"],
    "analysis/compare.py": ["tests/analysis/test_compare.py"],
    "emulation/agreement.py": ["tests/emulation/test_agreement.py"],
    "quantize/precision.py": ["tests/quantize/test_precision.py"],
}

# modules of which only some functions are the physics (the rest formats markdown): mutants elsewhere not counted
FUNCTIONS = {
    "analysis/report.py": ("physics_section",),
    "analysis/references.py": ("clopper_pearson", "source_entry", "reference_table"),
    "analysis/budgets.py": ("Budgets", "_values", "evaluate_budgets"),
    "analysis/cwola.py": ("balanced_weights", "_bin_integrals", "FitResult", "fit_dijet", "fisher_covariance",
                          "poisson_deviance", "gof_pvalue", "discovery_significance", "asimov_z",
                          "threshold_for_efficiency", "hunt_window"),
    "analysis/compare.py": ("_wp_name", "_rel", "model_summary", "comparison"),
    "analysis/score_candidates.py": ("side_by_side",),
}


# statuses that count as a tested mutant; "no tests" (no selected test reaches the mutated function) counts as
# not killed, so that a function without tests lowers the rate instead of vanishing from it
TESTED = ("killed", "timeout", "survived", "suspicious", "no tests")
KILLED = ("killed", "timeout")


@dataclass
class ModuleResult:
    module: str
    counts: dict
    survivors: list  # every tested mutant that was not killed

    @property
    def n_tested(self) -> int:
        return sum(v for k, v in self.counts.items() if k in TESTED)

    @property
    def n_killed(self) -> int:
        return sum(self.counts.get(k, 0) for k in KILLED)

    @property
    def equivalent(self) -> list:
        return [s for s in self.survivors if s in EQUIVALENT]

    @property
    def unexplained(self) -> list:
        return [s for s in self.survivors if s not in EQUIVALENT]

    @property
    def killed_fraction(self) -> float | None:
        return self.n_killed / self.n_tested if self.n_tested else None


def _scratch_tree(dest: Path) -> None:
    """The committed tree (git archive HEAD): uncommitted edits are not tested."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def _exclude_other_functions(path: Path, functions: tuple[str, ...]) -> None:
    """In the scratch copy only: wrap every other top-level function / class in ``# pragma: no mutate start/end``
    so that mutmut neither generates nor runs their mutants."""
    import ast

    lines = path.read_text().splitlines()
    spans = [(min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]), n.end_lineno)
             for n in ast.parse("\n".join(lines)).body
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name not in functions]
    for start, end in sorted(spans, reverse=True):
        lines[end:end] = ["# pragma: no mutate end"]
        lines[start - 1:start - 1] = ["# pragma: no mutate start"]
    path.write_text("\n".join(lines) + "\n")


def _configure(dest: Path, module: str, tests: list[str]) -> None:
    if module in FUNCTIONS:
        _exclude_other_functions(dest / module, FUNCTIONS[module])
    py = (dest / "pyproject.toml").read_text()
    py = re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", py)
    py += ("\n[tool.mutmut]\n"
           f"source_paths = {PACKAGES!r}\n".replace("'", '"')
           + f'only_mutate = ["{module}"]\n'
           + f"pytest_add_cli_args_test_selection = {tests!r}\n".replace("'", '"')
           + 'pytest_add_cli_args = ["-x", "-q", "-m", "not slow", "-p", "no:randomly"]\n')
    (dest / "pyproject.toml").write_text(py)


def _in_functions(name: str, functions: tuple[str, ...] | None) -> bool:
    """mutmut 3 names a mutant ``pkg.module.x_<function>__mutmut_<n>``, a method ``xǁClassǁmethod__mutmut_<n>``."""
    return functions is None or any(f"x_{f}__mutmut_" in name or f"ǁ{f}__mutmut_" in name or f"xǁ{f}ǁ" in name
                                    for f in functions)


def _results(dest: Path, mutmut: str, functions: tuple[str, ...] | None = None) -> tuple[dict, list]:
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=dest, capture_output=True, text=True).stdout
    counts, survivors = {}, []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+): (\w[\w ]*)$", line)
        if not m or not _in_functions(m.group(1), functions):
            continue
        status = m.group(2).strip()
        counts[status] = counts.get(status, 0) + 1
        if status in TESTED and status not in KILLED:
            survivors.append(m.group(1))
    return counts, survivors


def run_module(module: str, tests: list[str], mutmut: str, keep: Path | None, max_children: int,
               run: bool = True) -> ModuleResult:
    work = Path(tempfile.mkdtemp(prefix="mutmut_")) if keep is None else keep / module.replace("/", "_")
    if run and keep is not None and work.exists():
        # mutmut keeps the results of an earlier run for every unchanged function (even when the tests changed):
        # a new run starts from an empty tree
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        if run:
            _scratch_tree(work)
            _configure(work, module, tests)
            subprocess.run([mutmut, "run", "--max-children", str(max_children)], cwd=work, check=False)
        counts, survivors = _results(work, mutmut, FUNCTIONS.get(module))
        res = ModuleResult(module, counts, survivors)
        if survivors:
            diffs = [subprocess.run([mutmut, "show", s], cwd=work, capture_output=True, text=True).stdout
                     for s in survivors]
            (Path(tempfile.gettempdir()) / f"mutmut_survivors_{module.replace('/', '_')}.txt").write_text("\n".join(diffs))
        return res
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help=f"modules to mutate (default: all of {sorted(TARGETS)})")
    ap.add_argument("--keep", type=Path, help="keep the scratch trees (mutmut browse / show) under this directory")
    ap.add_argument("--max-children", type=int, default=1, help="parallel mutmut workers (the machine is shared)")
    ap.add_argument("--goal", type=float, default=0.90)
    ap.add_argument("--no-run", action="store_true",
                    help="only summarize the results already in the --keep trees (of an earlier run)")
    opts = ap.parse_args(argv)
    if opts.no_run and opts.keep is None:
        ap.error("--no-run reads the trees of an earlier --keep run: give --keep DIR")
    unknown = [m for m in opts.modules if m not in TARGETS]
    if unknown:
        ap.error(f"no targeted tests for {unknown}; known: {sorted(TARGETS)}")
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).with_name("mutmut"))
    if not Path(mutmut).exists():
        ap.error("mutmut is not installed: pip install -e '.[test]'")
    results = [run_module(m, TARGETS[m], mutmut, opts.keep, opts.max_children, not opts.no_run)
               for m in (opts.modules or TARGETS)]
    return 0 if print_summary(results, opts.goal) else 1


def _rate(k: int, n: int) -> str:
    return f"{k / n:.1%}" if n else "n/a"


def print_summary(results: list[ModuleResult], goal: float) -> bool:
    """Per-module and overall table (markdown, pasted into README), then every survivor with its status."""
    print("\n| module | mutants tested | killed | not killed | of which equivalent (explained) | kill rate | "
          "kill rate without the equivalent ones |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ok, tot = True, [0, 0, 0, 0]
    for r in results:
        n, k, sv, eq = r.n_tested, r.n_killed, len(r.survivors), len(r.equivalent)
        print(f"| {r.module} | {n} | {k} | {sv} | {eq} | {_rate(k, n)} | {_rate(k, n - eq)} |")
        tot = [tot[0] + n, tot[1] + k, tot[2] + sv, tot[3] + eq]
        ok &= r.killed_fraction is not None and r.killed_fraction >= goal
    n, k, sv, eq = tot
    print(f"| **overall** | {n} | {k} | {sv} | {eq} | {_rate(k, n)} | {_rate(k, n - eq)} |")
    print("(source: mutmut results in a scratch copy of the committed tree; equivalents: "
          "benchmarks/mutation_equivalents.py)")
    for r in results:
        for s in r.survivors:
            print(f"    {'equivalent' if s in EQUIVALENT else 'SURVIVED, unexplained'}: {s}"
                  + (f"  -- {EQUIVALENT[s]}" if s in EQUIVALENT else ""))
    unexplained = sum(len(r.unexplained) for r in results)
    ok &= n > 0 and k / n >= goal
    print(f"goal >= {goal:.0%} killed in every module and overall: {'met' if ok else 'NOT met'}; "
          f"unexplained survivors: {unexplained}")
    return ok

if __name__ == "__main__":
    sys.exit(main())
