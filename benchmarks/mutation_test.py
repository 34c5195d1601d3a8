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

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["analysis", "data", "emulation", "flow", "hls", "models", "quantize", "sweep", "build_hls.py"]

# module -> the fast targeted tests that should kill its mutants (no builds, no training)
TARGETS = {
    "analysis/working_points.py": ["tests/analysis/test_working_points.py", "tests/analysis/test_physics_references.py"],
    "analysis/report.py": ["tests/analysis/test_physics_references.py"],
    "analysis/cwola.py": ["tests/analysis/test_cwola_hunt.py", "tests/analysis/test_significance_references.py"],
    "analysis/cwola_stats.py": ["tests/analysis/test_cwola_stats.py"],
    "analysis/references.py": ["tests/analysis/test_references.py"],
    "analysis/budgets.py": ["tests/analysis/test_budgets.py"],
    "analysis/compare.py": ["tests/analysis"],
    "emulation/agreement.py": ["tests/emulation/test_agreement.py"],
    "quantize/precision.py": ["tests/quantize/test_precision.py"],
}

# modules of which only some functions are the physics (the rest formats markdown): mutants elsewhere not counted
FUNCTIONS = {"analysis/report.py": ("physics_section",)}


@dataclass
class ModuleResult:
    module: str
    counts: dict
    survivors: list

    @property
    def killed_fraction(self) -> float | None:
        tested = sum(v for k, v in self.counts.items() if k in ("killed", "survived", "timeout", "suspicious"))
        return (self.counts.get("killed", 0) + self.counts.get("timeout", 0)) / tested if tested else None


def _scratch_tree(dest: Path) -> None:
    """The committed tree (git archive HEAD): uncommitted edits are not tested."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def _configure(dest: Path, module: str, tests: list[str]) -> None:
    py = (dest / "pyproject.toml").read_text()
    py = re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", py)
    py += ("\n[tool.mutmut]\n"
           f"source_paths = {PACKAGES!r}\n".replace("'", '"')
           + f'only_mutate = ["{module}"]\n'
           + f"pytest_add_cli_args_test_selection = {tests!r}\n".replace("'", '"')
           + 'pytest_add_cli_args = ["-x", "-q", "-m", "not slow", "-p", "no:randomly"]\n')
    (dest / "pyproject.toml").write_text(py)


def _in_functions(name: str, functions: tuple[str, ...] | None) -> bool:
    """mutmut 3 names a mutant ``pkg.module.x_<function>__mutmut_<n>`` (methods: ``xǁClassǁmethod__mutmut_<n>``)."""
    return functions is None or any(f"x_{f}__mutmut_" in name or f"ǁ{f}__mutmut_" in name for f in functions)


def _results(dest: Path, mutmut: str, functions: tuple[str, ...] | None = None) -> tuple[dict, list]:
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=dest, capture_output=True, text=True).stdout
    counts, survivors = {}, []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+): (\w[\w ]*)$", line)
        if not m or not _in_functions(m.group(1), functions):
            continue
        status = m.group(2).strip()
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            survivors.append(m.group(1))
    return counts, survivors


def run_module(module: str, tests: list[str], mutmut: str, keep: Path | None, max_children: int) -> ModuleResult:
    work = Path(tempfile.mkdtemp(prefix="mutmut_")) if keep is None else keep / module.replace("/", "_")
    work.mkdir(parents=True, exist_ok=True)
    try:
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
    opts = ap.parse_args(argv)
    unknown = [m for m in opts.modules if m not in TARGETS]
    if unknown:
        ap.error(f"no targeted tests for {unknown}; known: {sorted(TARGETS)}")
    mutmut = shutil.which("mutmut") or str(Path(sys.executable).with_name("mutmut"))
    if not Path(mutmut).exists():
        ap.error("mutmut is not installed: pip install -e '.[test]'")
    results = [run_module(m, TARGETS[m], mutmut, opts.keep, opts.max_children) for m in (opts.modules or TARGETS)]
    print("\nmodule                          killed/tested  kill rate  counts (source: mutmut results)")
    ok = True
    for r in results:
        f = r.killed_fraction
        tested = sum(v for k, v in r.counts.items() if k in ("killed", "survived", "timeout", "suspicious"))
        print(f"{r.module:32s} {r.counts.get('killed', 0) + r.counts.get('timeout', 0):6d}/{tested:<6d}  "
              f"{'n/a' if f is None else f'{f:.1%}':>9s}  {r.counts}")
        for s in r.survivors:
            print(f"    survived: {s}")
        ok &= f is not None and f >= opts.goal
    print(f"goal >= {opts.goal:.0%} killed in every module: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
