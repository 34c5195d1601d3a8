#!/usr/bin/env python
"""Command line: ``python build_hls.py [build] --model vae21``, ``python build_hls.py check DIR`` and
``python build_hls.py sweep ...``.  Thin: parses arguments into one
validated ``flow.config.BuildConfig`` and calls the library (``flow.run_build``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # start-up noise: see lhc_trigger/quiet.py


def _positive_int(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _add_build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="build configuration file (YAML, hls4ml-style keys: see "
                   "flow/config_file.py; every project has its effective one in PROJECT/build.yml); flags given "
                   "on the command line override it")
    p.add_argument("--model", default="vae21", help="registered model name (vae21), path to a .keras model, or a "
                   "legacy QKeras / Keras 2 model (.json architecture with --weights, or a full-model .h5)")
    p.add_argument("--data", type=Path, help="HDF5 file with events to emulate (layout: see data/dataset.py); for a "
                   "legacy .json/.h5 model: the inputs as .h5, .npy or whitespace-separated .dat")
    p.add_argument("--output", type=Path, help="project directory (default firmware_projects/<model>/)")
    p.add_argument("--retrain", action="store_true", help="train even if a trained model is cached")
    p.add_argument("--epochs", type=_positive_int, help="override training epochs")
    p.add_argument("--seed", type=int, default=42, help="data generation seed")
    p.add_argument("--n-train", type=_positive_int, help="training events (default 150000; cicada 20000)")
    p.add_argument("--n-test-bkg", type=_positive_int, help="SM test events (default: enough for every working point)")
    p.add_argument("--n-signal", type=_positive_int, help="test events per signal (default 50000; cicada 5000)")
    p.add_argument("--precision", type=int, help="QKeras bits (sign included) of weights, biases and activations "
                   "(legacy float models: bits of the post-training quantizers, default 16)")
    p.add_argument("--input-precision", help="input port precision, e.g. 'ap_fixed<16,6>'")
    p.add_argument("--reuse-factor", type=_positive_int, default=1)
    p.add_argument("--reuse-target", type=_positive_int, metavar="R",
                   help="reuse-factor target: each dense layer gets the largest valid reuse factor <= R (printed)")
    p.add_argument("--strategy", default="Latency", choices=["Latency", "Resource", "distributed_arithmetic", "da"],
                   help="hls4ml strategy; distributed_arithmetic (da): da4ml-generated multiplier-free dense layers, "
                        "no DSPs, reuse factor 1")
    p.add_argument("--layer-reuse-factor", action="append", default=[], metavar="LAYER=R",
                   help="per-layer reuse factor (hls4ml LayerName.<layer>.ReuseFactor), repeatable")
    p.add_argument("--layer-strategy", action="append", default=[], metavar="LAYER=STRATEGY",
                   help="per-layer strategy (hls4ml LayerName.<layer>.Strategy), repeatable")
    p.add_argument("--layer-precision", action="append", default=[], metavar="LAYER.PLACE=TYPE",
                   help="per-layer type, PLACE weight/bias (QDense) or result (QActivation), e.g. "
                        "enc_dense1.weight='ap_fixed<6,1>'; applied to that layer's quantizers (the bit-exact flow "
                        "takes its types from them)")
    p.add_argument("--part", default=None, help="FPGA part (default xcvu13p-flga2577-2-e)")
    p.add_argument("--clock-period", type=float, help="ns (default 5.0; cicada 6.25)")
    p.add_argument("--score", default=None,
                   help="on-chip score of a model with several (vae21: mu2 or reco); default: the best mean signal "
                        "efficiency at ~30 SM events/day on a validation split")
    p.add_argument("--emulator", default="fast", choices=["fast", "csim", "rtl", "da4ml"],
                   help="which bit-exact emulator produces the numbers (the C-sim is cross-checked on a subset; rtl needs --rtl)")
    p.add_argument("--csim-events", type=_positive_int, default=250_000,
                   help="events for the C-sim cross-check when --emulator fast")
    p.add_argument("--rate", type=float, action="append", default=[], help="extra working point: SM rate in Hz")
    p.add_argument("--fpr", type=float, action="append", default=[],
                   help="replace the default working points (FPR 1e-5 and 30 SM events/day) by these FPRs")
    p.add_argument("--min-spearman", type=float, default=0.98, help="tolerance: emulator vs float view")
    p.add_argument("--max-eff-rel-diff", type=float, default=0.10,
                   help="tolerance: |emulator - float view| / float view signal efficiency at the model's check "
                        "working point (L1 models: 1 kHz)")
    p.add_argument("--no-companion", action="store_true",
                   help="do not build the model's companion (vae57: the HGQ2-native vae57hgq, compared in the report)")
    p.add_argument("--cache-dir", type=Path, help="data/model cache (default .cache/ in the project root)")
    p.add_argument("--weights", type=Path, help="legacy model: Keras 2 weights .h5 for a --model .json architecture")
    p.add_argument("--reference", type=Path,
                   help="legacy model: reference outputs (.h5, .npy or .dat), one row per --data event")
    p.add_argument("--reference-tolerance", type=float, default=1e-4,
                   help="legacy model: largest |imported - reference| accepted")
    p.add_argument("--allow-overflow", action="store_true",
                   help="legacy model: accept input/PTQ quantizers inserted by the importer that saturate on --data")
    p.add_argument("--allow-saturation", action="store_true",
                   help="accept --data whose standardised values saturate the input port (absurd values or more than "
                        "1%% of a sample's events outside its range are otherwise an error)")
    g = p.add_argument_group("cwola (CWoLa hunting on dijets; --data is then an LHCO high-level-feature HDF file)")
    g.add_argument("--no-signal", action="store_true", help="background only (the no-sculpting check)")
    g.add_argument("--n-inject", type=int, default=None, help="W' signal events injected (default 400)")
    g.add_argument("--n-bkg", type=_positive_int, default=None, help="QCD dijet events (default 300000)")
    g.add_argument("--window", type=int, default=None, help="index of the window to deploy (default: most significant)")
    g.add_argument("--features", default=None, help="comma-separated classifier features (default mj1,mj2,tau21_1,tau21_2)")
    g.add_argument("--folds", type=_positive_int, default=5, help="nested k-fold: number of folds")
    g.add_argument("--inits", type=_positive_int, default=1, help="initialisations per network (best kept)")
    g.add_argument("--window-centres", default=None, help="first,last SR centre in GeV (default 3449,4800: the first "
                   "SR starts one sideband above the fit range, so every SR background is interpolated)")
    g.add_argument("--toys", type=int, default=None, help="pseudo-experiments per window checking the tightest cut's "
                   "fit uncertainty (default 200; 0: none)")
    g.add_argument("--no-mass-decorrelation", action="store_true", help="use raw jet masses (sculpting risk)")

    _add_hardware_args(p)


def _add_hardware_args(p: argparse.ArgumentParser, build: bool = True) -> None:
    g = p.add_argument_group("latency, resources and budgets")
    if build:
        _add_rtl_args(g)
    g.add_argument("--latency-budget-ns", type=float, default=50.0, help="latency budget in ns (default 50, CMS GT)")
    g.add_argument("--lut-budget-percent", type=float, help="LUT budget in %% of the part")
    g.add_argument("--dsp-budget", type=int, help="DSP budget (count)")
    g.add_argument("--ii-budget-ns", type=float, default=25.0,
                   help="initiation-interval budget in ns: II x clock (default 25, the 40 MHz bunch-crossing spacing)")
    g.add_argument("--enforce-budgets", action="store_true", help="exit non-zero when a budget fails")


def _add_rtl_args(g) -> None:
    g.add_argument("--rtl", action="store_true", default=None,
                   help="also trace the model with da4ml into <project>/rtl/ (Verilog), simulate it with Verilator: "
                        "measured latency and Keras == C-sim == RTL; the build then uses RND rounding (da4ml has no "
                        "RND_CONV). Default for the L1 models (ae57, vae57, vae57hgq), with --synth, when the tools exist")
    g.add_argument("--no-rtl", dest="rtl", action="store_false",
                   help="skip the RTL path and yosys (quick iterations of an L1 model)")
    g.add_argument("--synth", action="store_true", default=None,
                   help="synthesize the RTL with yosys (LUT/FF/CARRY/DSP); needs --rtl")
    g.add_argument("--rtl-latency-cutoff", type=float, default=5.0,
                   help="da4ml pipelining: maximum combinational delay per register stage (da4ml delay units)")


def _hardware_options(args: argparse.Namespace):
    from analysis.budgets import Budgets
    from flow.config import HardwareOptions

    rtl = getattr(args, "rtl", None)
    synth = getattr(args, "synth", None)
    return HardwareOptions(rtl=rtl, synth=False if rtl is False and synth is None else synth,
                           latency_cutoff=getattr(args, "rtl_latency_cutoff", 5.0),
                           budgets=Budgets(latency_ns=args.latency_budget_ns, lut_percent=args.lut_budget_percent,
                                           dsp=args.dsp_budget, enforce=args.enforce_budgets,
                                           ii_ns=args.ii_budget_ns))


def _print_outcome(report: dict, ok: bool, summary: str) -> int:
    """The end of every build: summary, timings, where the report is, and the exit code of the checks."""
    print()
    print(summary)
    print()
    print(f"timings [s]: {report['timings_s']}")
    print(f"report: {Path(report['hls']['project_dir']) / 'report' / 'report.md'}")
    for w in report["checks"].get("warnings", []):
        print(f"warning: {w}")
    if not ok:
        print("AGREEMENT CHECK FAILED: " + "; ".join(report["checks"]["failures"]), file=sys.stderr)
        return 1
    print("agreement checks passed")
    return 0


def _cwola_options(args: argparse.Namespace):
    from flow.config import CWoLaOptions

    kw = {}
    if args.n_inject is not None:
        kw["n_sig"] = args.n_inject
    if args.n_bkg is not None:
        kw["n_bkg"] = args.n_bkg
    if args.toys is not None:
        kw["n_toys"] = args.toys
    if args.features:
        kw["features"] = tuple(f.strip() for f in args.features.split(",") if f.strip())
    if args.window_centres:
        try:
            kw["first_center"], kw["last_center"] = (float(v) for v in args.window_centres.split(","))
        except ValueError:
            raise ValueError(f"--window-centres {args.window_centres!r}: give two numbers in GeV, e.g. 3000,4800") from None
    return CWoLaOptions(no_signal=args.no_signal, window=args.window, n_folds=args.folds, n_init=args.inits,
                        decorrelate_masses=not args.no_mass_decorrelation, **kw)


def config_from_args(args: argparse.Namespace):
    """The one validated BuildConfig of a build command line."""
    from data.arrays import file_part
    from flow.config import BuildConfig, Tolerances
    from hls.config import Strategy

    if args.data is not None and not file_part(args.data).is_file():
        raise FileNotFoundError(f"--data {args.data}: no such file")
    from flow.config_file import parse_layer_flags

    # part, clock and event counts not given: None, resolved by BuildConfig (the model family's defaults)
    hls = dict(reuse_factor=args.reuse_factor, strategy=Strategy.parse(args.strategy), reuse_target=args.reuse_target,
               layers=parse_layer_flags(args.layer_reuse_factor, args.layer_strategy, args.layer_precision))
    hls.update({k: v for k, v in (("part", args.part), ("clock_period_ns", args.clock_period)) if v is not None})
    kw = {"cache_dir": args.cache_dir} if args.cache_dir else {}
    return BuildConfig(
        model=args.model, output_dir=args.output, data_path=args.data, seed=args.seed,
        n_train=args.n_train, n_test_bkg=args.n_test_bkg, n_signal=args.n_signal,
        retrain=args.retrain, epochs=args.epochs,
        precision_bits=args.precision, input_precision=args.input_precision, extra_rates_hz=tuple(args.rate),
        fprs=tuple(args.fpr), emulator=args.emulator, csim_events=args.csim_events, hls=hls,
        tolerances=Tolerances(min_spearman_float_view=args.min_spearman,
                              max_rel_eff_diff_float_view=args.max_eff_rel_diff),
        hardware=_hardware_options(args), weights_path=args.weights, reference_path=args.reference,
        reference_tolerance=args.reference_tolerance, allow_overflow=args.allow_overflow,
        allow_saturation=args.allow_saturation,
        companion=not args.no_companion, cwola=_cwola_options(args), score=args.score, **kw,
    )


def _explicit_flags(argv: list[str]) -> set[str]:
    """The argparse dests given on the command line (they override a --config file)."""
    p = argparse.ArgumentParser(add_help=False)
    _add_build_args(p)
    for a in p._actions:
        a.default = argparse.SUPPRESS
    return set(vars(p.parse_args(argv)))


def effective_config(args: argparse.Namespace, argv: list[str]):
    """The build's BuildConfig: the --config file (if any) with the flags given on the command line on top."""
    cfg = config_from_args(args)
    if args.config is None:
        return cfg
    from flow.config_file import apply_flags, config_from_tree, read_tree

    p = argparse.ArgumentParser(add_help=False)
    _add_build_args(p)
    base = config_from_args(p.parse_args([]))
    tree = read_tree(args.config)
    cfg = apply_flags(config_from_tree(tree, str(args.config)), cfg, base, _explicit_flags(argv), str(args.config),
                      file_tree=tree)
    from data.arrays import file_part

    if cfg.data_path is not None and not file_part(cfg.data_path).is_file():
        raise FileNotFoundError(f"{args.config}: data.path {cfg.data_path}: no such file")
    return cfg


def build_main(args: argparse.Namespace) -> int:
    from lhc_trigger import build

    res = build(effective_config(args, getattr(args, "argv", [])))
    return _print_outcome(res.report, res.ok, res.summary)


def _add_check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", type=Path, help="project directory built by build_hls.py")
    p.add_argument("--junit", type=Path, help="write a JUnit XML report to this file")
    p.add_argument("--rtl", action="store_true", help="also run the project's RTL simulation (built with --rtl) on the golden inputs")
    p.add_argument("--keras", action="store_true", help="compare the saved quantized Keras model with the golden "
                   "vectors (imports TensorFlow) instead of the fast emulator's saved plan (model/fast_plan.npz)")


def check_main(args: argparse.Namespace) -> int:
    from emulation.check import junit_error, run_check, to_junit

    try:
        res = run_check(args.project, rtl=args.rtl, keras_model=args.keras)
    except (ValueError, OSError, RuntimeError) as exc:
        if args.junit:  # CI reads the JUnit file: a check that could not run is an error there too
            args.junit.parent.mkdir(parents=True, exist_ok=True)
            args.junit.write_text(junit_error(args.project, f"{type(exc).__name__}: {exc}"))
            print(f"JUnit report: {args.junit}", file=sys.stderr)
        raise
    for c in res.cases:
        print(f"[{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.message}")
    for k, v in res.version_drift.items():
        print(f"[drift] {k}: built with {v['build']}, now {v['now']}")
    if args.junit:
        args.junit.parent.mkdir(parents=True, exist_ok=True)
        args.junit.write_text(to_junit(res))
        print(f"JUnit report: {args.junit}")
    print("check passed" if res.passed else "CHECK FAILED")
    return 0 if res.passed else 1


def _add_resources_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", type=Path, help="project directory built by build_hls.py (vendor reports may be added to it)")
    p.add_argument("--json", type=Path, help="also write the section as JSON to this file")
    _add_hardware_args(p, build=False)


def resources_main(args: argparse.Namespace) -> int:
    import json

    from analysis.budgets import latency_resources_md
    from emulation.hardware import project_resources

    opts = _hardware_options(args)
    sec = project_resources(args.project, opts.budgets)
    print(latency_resources_md(sec))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(sec, indent=2, default=str))
        print(f"JSON: {args.json}")
    if opts.budgets.enforce and not sec["budgets"]["passed"]:
        print("BUDGETS FAILED: " + ", ".join(sec["budgets"]["failed"]), file=sys.stderr)
        return 1
    return 0
def _csv(kind):
    def parse(s: str):
        try:
            return [kind(x) for x in s.split(",") if x.strip() != ""]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__}, got {s!r}") from None
    return parse


def _budget(s: str):
    k, sep, v = s.partition("=")
    try:
        return k.strip(), float(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--budget expects METRIC=VALUE (e.g. LUT=50000), got {s!r}") from None


def _add_sweep_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=Path, help="YAML sweep specification (command-line options override it)")
    p.add_argument("--model", help="registered model name (default vae21)")
    p.add_argument("--name", help="sweep name: output in firmware_projects/<model>/sweeps/<name>/ (default 'sweep')")
    p.add_argument("--output", type=Path, help="sweep directory (instead of firmware_projects/<model>/sweeps/<name>/)")
    p.add_argument("--mode", type=_csv(str), help="qat (retrain per precision) and/or ptq (reuse trained weights)")
    p.add_argument("--precision", type=_csv(int), help="QKeras bits, e.g. 6,8,10,12,16")
    p.add_argument("--reuse-factor", type=_csv(int), help="e.g. 1,2,4,8 (invalid ones are listed before anything runs)")
    p.add_argument("--strategy", type=_csv(str), help="Latency,Resource")
    p.add_argument("--io-type", type=_csv(str), help="io_parallel")
    p.add_argument("--clock-period", type=_csv(float), help="ns, e.g. 5,3.3")
    p.add_argument("--skip-invalid", action="store_true", default=None,
                   help="run the valid points and record invalid ones in the table (default: stop with the list)")
    p.add_argument("--retry-failed", action="store_true", default=None, help="re-run failed/crashed points on resume")
    p.add_argument("--workers", type=_positive_int, help="local process pool size (default 1)")
    p.add_argument("--scheduler", help="Dask scheduler address (e.g. tcp://host:8786) instead of the local pool")
    from sweep.batch import add_cli_args

    add_cli_args(p, _positive_int)
    p.add_argument("--budget", type=_budget, action="append", default=[],
                   help="METRIC=MAX for the best point, e.g. LUT=50000, latency_ns=100, 'LUT[hls_estimate]=4e4'")
    p.add_argument("--pareto-efficiency", help="'mean' (default) or a signal name")
    for a, kw in (("--seed", dict(type=int)), ("--n-train", dict(type=_positive_int)), ("--n-val", dict(type=_positive_int)),
                  ("--n-test-bkg", dict(type=_positive_int)), ("--n-signal", dict(type=_positive_int)),
                  ("--epochs", dict(type=_positive_int)), ("--input-precision", {}), ("--part", {}),
                  ("--emulator", dict(choices=["fast", "csim"])), ("--csim-events", dict(type=_positive_int)),
                  ("--min-spearman", dict(type=float)), ("--cache-dir", dict(type=str)),
                  ("--score", dict(help="the on-chip score every point deploys (vae21: mu2 or reco); default: each "
                                        "point picks its own on the validation split, so points may differ"))):
        p.add_argument(a, **kw)
    p.add_argument("--fpr", type=float, action="append", help="working points by FPR (first = main working point)")
    p.add_argument("--rate", type=float, action="append", help="extra working point: SM rate in Hz")
    p.add_argument("--no-rtl", dest="rtl", action="store_false", default=None,
                   help="no da4ml RTL / Verilator at any point (the L1 models build it by default)")


def sweep_main(args: argparse.Namespace) -> int:
    from sweep.spec import SweepSpec

    if args.print_job_script:
        from sweep.batch import job_script, options_from_args

        print(job_script(options_from_args(args)))
        return 0

    spec = SweepSpec.from_yaml(args.spec) if args.spec else SweepSpec()
    build = {k: getattr(args, k) for k in ("seed", "n_train", "n_val", "n_test_bkg", "n_signal", "epochs",
                                            "input_precision", "part", "emulator", "csim_events", "min_spearman",
                                            "cache_dir", "rtl", "score")}
    build["fprs"], build["extra_rates_hz"] = args.fpr, args.rate
    pareto = dict(spec.pareto, **({"efficiency": args.pareto_efficiency} if args.pareto_efficiency else {}))
    spec = spec.with_overrides(
        mode=args.mode, precision=args.precision, reuse_factor=args.reuse_factor, strategy=args.strategy,
        io_type=args.io_type, clock_period_ns=args.clock_period, build=build, budgets=dict(args.budget),
        model=args.model, name=args.name, output=args.output, workers=args.workers, scheduler=args.scheduler,
        skip_invalid=args.skip_invalid, retry_failed=args.retry_failed, pareto=pareto,
    )
    from sweep.batch import run_sweep_on

    res = run_sweep_on(spec, args)
    print()
    print((res.sweep_dir / "pareto.md").read_text())
    print(f"table: {res.sweep_dir / 'results.parquet'} and results.csv; Pareto: {res.sweep_dir / 'pareto.md'}")
    print("points: " + ", ".join(f"{n} {s}" for s, n in sorted(res.counts.items())))
    if res.interrupted:
        print("sweep interrupted: re-run the same command to resume", file=sys.stderr)
        return 130
    return 0 if all(s in ("ok", "invalid") for s in res.counts) else 1


def _add_export_cmssw_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", type=Path, help="project directory built by build_hls.py")
    p.add_argument("--output", type=Path, default=None, help="export directory (default PROJECT/cmssw)")
    p.add_argument("--name", default=None, help="emulator class / library name (default: the model's name)")
    p.add_argument("--emulator-include", type=Path, default=None,
                   help="directory holding hls4mlEmulatorExtras's emulator.h: also compile the shared library")


def export_cmssw_main(args: argparse.Namespace) -> int:
    from hls.cmssw import export_cmssw

    out = export_cmssw(args.project, args.output, args.name, compile_with=args.emulator_include)
    print(f"CMSSW emulator written to {out} (see {out / 'README.md'})")
    return 0


def _needs_tensorflow(run, args: argparse.Namespace) -> bool:
    """Builds and sweeps import TensorFlow at once (its start-up noise filtered); ``resources``, ``export-cmssw`` and
    the ``check`` of a project with a fast-emulator plan never import it (start-up in well under a second)."""
    if run in (resources_main, export_cmssw_main):
        return False
    if run is check_main:
        from emulation.fast_plan import PLAN_FILE

        keras_case = (args.project / "model" / "deployable.keras").is_file() and not (args.project / PLAN_FILE).is_file()
        return bool(args.keras) or keras_case  # a missing project fails at once, without TensorFlow
    return True


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["export-cmssw"]:
        p = argparse.ArgumentParser(prog="build_hls.py export-cmssw",
                                    description="write the project as an hls4mlEmulator::Model for CMSSW")
        _add_export_cmssw_args(p)
        run, args = export_cmssw_main, p.parse_args(argv[1:])
    elif argv[:1] == ["check"]:
        p = argparse.ArgumentParser(prog="build_hls.py check", description="firmware regression check of a project directory")
        _add_check_args(p)
        run, args = check_main, p.parse_args(argv[1:])
    elif argv[:1] == ["resources"]:
        p = argparse.ArgumentParser(prog="build_hls.py resources",
                                    description="latency/resources of a project from every source present, and budgets")
        _add_resources_args(p)
        run, args = resources_main, p.parse_args(argv[1:])
    elif argv[:1] == ["sweep"]:
        p = argparse.ArgumentParser(prog="build_hls.py sweep", description="sweep build configurations (see README, Sweeps)")
        _add_sweep_args(p)
        run, args = sweep_main, p.parse_args(argv[1:])
    else:
        if argv[:1] == ["build"]:
            argv = argv[1:]
        p = argparse.ArgumentParser(prog="build_hls.py", description=__doc__,
                                    epilog="subcommands: `build_hls.py check DIR [--junit FILE] [--rtl]`, "
                                           "`build_hls.py resources DIR [--latency-budget-ns ...] [--enforce-budgets]`, "
                                           "`build_hls.py sweep ...`")
        _add_build_args(p)
        run, args = build_main, p.parse_args(argv)
        args.argv = argv
    if _needs_tensorflow(run, args):  # (importing the lhc_trigger package imports TensorFlow)
        from lhc_trigger.quiet import quiet_tensorflow

        quiet_tensorflow()  # TensorFlow imported now, its start-up messages filtered out of stderr

    import signal
    import threading

    def _terminated(signum, frame):  # SIGTERM unwinds like Ctrl-C: the build's transaction cleans up
        raise KeyboardInterrupt(f"signal {signum}")

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        return run(args)
    except (ValueError, OSError, RuntimeError) as exc:
        notes = "".join(f"\n{n}" for n in getattr(exc, "__notes__", ()))
        print(f"error: {exc}{notes}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "output", None) or getattr(args, "project", None)
        print("interrupted: nothing was replaced" + (f" ({out} is as it was)" if out else "")
              + "; run the same command again to redo the build", file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
