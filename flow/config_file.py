"""The build configuration file (``build_hls.py --config build.yml``): hls4ml's vocabulary for the firmware, the
toolkit's own sections for the rest.  Read into one validated :class:`flow.config.BuildConfig`; every build
writes its effective configuration as ``build.yml`` beside ``metadata.json``, and ``--config PROJECT/build.yml``
rebuilds the same project.

.. code-block:: yaml

    model: vae21                      # registered name or a model file
    output: firmware_projects/vae21   # project directory (optional)
    companion: true
    data: {path: null, seed: 42, n_train: 150000, n_val: 30000, n_test_bkg: null, n_signal: 50000, cache_dir: .cache}
    training: {epochs: null, retrain: false}
    quantization: {precision: null, input_precision: null, mode: qat}   # precision: QKeras bits (--precision)
    hls4ml:
      Backend: Vitis
      Part: xcvu13p-flga2577-2-e
      ClockPeriod: 5.0
      IOType: io_parallel
      ProjectName: myproject
      Model: {ReuseFactor: 1, Strategy: Latency}
      LayerName:
        enc_dense1: {ReuseFactor: 2, Strategy: Resource, Precision: {weight: 'ap_fixed<6,1>', bias: 'ap_fixed<8,2>'}}
        enc_relu1: {Precision: {result: 'ap_ufixed<8,3>'}}
    emulation: {emulator: fast, csim_events: 250000}
    working_points: {fpr: [], rate_hz: []}
    tolerances: {max_mismatched: 0, min_spearman: 0.98, max_eff_rel_diff: 0.1}
    hardware: {rtl: false, synth: false, latency_cutoff: 5.0}
    budgets: {latency_ns: 50.0, lut_percent: null, dsp: null, enforce: false}
    legacy: {weights: null, reference: null, reference_tolerance: 1.0e-4, allow_overflow: false}
    cwola: {n_bkg: 300000, n_sig: 400, ...}          # flow.config.CWoLaOptions fields

Every section and key is optional (defaults as on the command line).  Unknown keys are refused with their path
and the valid keys; impossible values with the key and the valid choices.  ``Precision`` under ``LayerName``:
hls4ml 1.3's bit-exact flow takes every type from the quantizers, so it replaces that layer's quantizers
(``hls.layer_settings``, ``quantize.layer_precision``).  A model-level ``Model: Precision`` is refused for the
same reason (set ``quantization.precision``, the QKeras bits of the family's quantizers, or per-layer types).
"""

from __future__ import annotations

from pathlib import Path

from flow.config import BuildConfig

# file section -> {file key: path in BuildConfig.to_dict()}
SECTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "data": {"path": ("data_path",), "seed": ("seed",), "n_train": ("n_train",), "n_val": ("n_val",),
             "n_test_bkg": ("n_test_bkg",), "n_signal": ("n_signal",), "cache_dir": ("cache_dir",)},
    "training": {"epochs": ("epochs",), "retrain": ("retrain",)},
    "quantization": {"precision": ("precision_bits",), "input_precision": ("input_precision",),
                     "mode": ("quant_mode",)},
    "emulation": {"emulator": ("emulator",), "csim_events": ("csim_events",)},
    "working_points": {"fpr": ("fprs",), "rate_hz": ("extra_rates_hz",)},
    "tolerances": {"max_mismatched": ("tolerances", "max_mismatched"),
                   "min_spearman": ("tolerances", "min_spearman_float_view"),
                   "max_eff_rel_diff": ("tolerances", "max_rel_eff_diff_float_view")},
    "hardware": {"rtl": ("hardware", "rtl"), "synth": ("hardware", "synth"),
                 "latency_cutoff": ("hardware", "latency_cutoff")},
    "budgets": {k: ("hardware", "budgets", k) for k in ("latency_ns", "lut_percent", "dsp", "enforce")},
    "legacy": {"weights": ("weights_path",), "reference": ("reference_path",),
               "reference_tolerance": ("reference_tolerance",), "allow_overflow": ("allow_overflow",)},
}
TOP = {"model": ("model",), "output": ("output_dir",), "companion": ("companion",)}
HLS4ML = {"Backend": ("hls", "backend"), "Part": ("hls", "part"), "ClockPeriod": ("hls", "clock_period_ns"),
          "IOType": ("hls", "io_type"), "ProjectName": ("hls", "project_name")}
HLS4ML_MODEL = {"ReuseFactor": ("hls", "reuse_factor"), "Strategy": ("hls", "strategy")}
ALL_TOP = sorted([*TOP, *SECTIONS, "hls4ml", "cwola"])


def _known(where: str, d, valid) -> dict:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a mapping with keys {sorted(valid)}, got {d!r}")
    unknown = sorted(set(d) - set(valid))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; valid: {sorted(valid)}")
    return d


def _set(tree: dict, path: tuple[str, ...], value) -> None:
    for k in path[:-1]:
        tree = tree.setdefault(k, {})
    tree[path[-1]] = value


def _get(tree: dict, path: tuple[str, ...]):
    for k in path:
        tree = tree[k]
    return tree


def file_to_dict(doc: dict, where: str = "build.yml") -> dict:
    """The file's values as a partial ``BuildConfig.to_dict()`` tree (only what the file sets)."""
    from hls.layer_settings import LayerSettings

    doc = _known(where, doc, ALL_TOP)
    out: dict = {}
    for k, path in TOP.items():
        if k in doc:
            _set(out, path, doc[k])
    for sec, keys in SECTIONS.items():
        for k, v in _known(f"{where}: {sec}", doc.get(sec), keys).items():
            _set(out, keys[k], v)
    hls = _known(f"{where}: hls4ml", doc.get("hls4ml"), [*HLS4ML, "Model", "LayerName"])
    for k, v in hls.items():
        if k in HLS4ML:
            _set(out, HLS4ML[k], v)
    model = _known(f"{where}: hls4ml.Model", hls.get("Model"), [*HLS4ML_MODEL, "Precision"])
    if "Precision" in model:
        raise ValueError(f"{where}: hls4ml.Model.Precision: the bit-exact flow takes types from the quantizers; set "
                         "quantization.precision (QKeras bits of the model's quantizers) or per-layer "
                         "hls4ml.LayerName.<layer>.Precision {weight, bias, result}")
    for k, v in model.items():
        _set(out, HLS4ML_MODEL[k], v)
    layers = hls.get("LayerName") or {}
    if not isinstance(layers, dict):
        raise ValueError(f"{where}: hls4ml.LayerName: expected layer name -> settings, got {layers!r}")
    if layers:
        try:
            _set(out, ("hls", "layers"), [LayerSettings.from_hls4ml(str(n), s).to_dict() for n, s in layers.items()])
        except ValueError as exc:
            raise ValueError(f"{where}: hls4ml.{exc}") from None
    if doc.get("cwola") is not None:
        out["cwola"] = doc["cwola"]
    return out


def _deep_merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def config_from_tree(tree: dict, where: str) -> BuildConfig:
    """A partial to_dict tree on top of the defaults (the model family's where it has them: flow.config), validated;
    errors name ``where``."""
    full = _deep_merge(BuildConfig(model=tree.get("model", "vae21")).to_dict(), tree)
    try:
        return BuildConfig.from_dict(full)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def load_config(path: Path) -> BuildConfig:
    """``build.yml`` -> the validated BuildConfig (relative paths in the file stay relative to the working dir)."""
    return config_from_tree(read_tree(path), str(path))


def read_tree(path: Path) -> dict:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--config {path}: no such file")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    return file_to_dict(doc, str(path))


def config_to_file(cfg: BuildConfig) -> dict:
    """The file form of ``cfg`` (every key, so that reading it back gives ``cfg``)."""
    d = cfg.to_dict()
    doc: dict = {k: _get(d, p) for k, p in TOP.items()}
    for sec, keys in SECTIONS.items():
        doc[sec] = {k: _get(d, p) for k, p in keys.items()}
    hls = {k: _get(d, p) for k, p in HLS4ML.items()}
    hls["Model"] = {k: _get(d, p) for k, p in HLS4ML_MODEL.items()}
    hls["LayerName"] = {ls.name: ls.to_hls4ml() for ls in cfg.hls.layers}
    doc["hls4ml"] = hls
    doc["cwola"] = d["cwola"]
    return doc


def write_config(cfg: BuildConfig, path: Path) -> None:
    import yaml

    text = ("# effective configuration of this build: `build_hls.py --config build.yml` rebuilds it "
            "(see flow/config_file.py)\n" + yaml.safe_dump(config_to_file(cfg), sort_keys=False))
    Path(path).write_text(text)


# command-line flag (argparse dest) -> the BuildConfig.to_dict() paths it sets; flags not listed here override
# every value they change from the command line's defaults
FLAG_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "model": (("model",),), "data": (("data_path",),), "output": (("output_dir",),), "retrain": (("retrain",),),
    "epochs": (("epochs",),), "seed": (("seed",),), "n_train": (("n_train",),), "n_test_bkg": (("n_test_bkg",),),
    "n_signal": (("n_signal",),), "precision": (("precision_bits",),), "input_precision": (("input_precision",),),
    "reuse_factor": (("hls", "reuse_factor"),), "strategy": (("hls", "strategy"),), "part": (("hls", "part"),),
    "clock_period": (("hls", "clock_period_ns"),), "emulator": (("emulator",),), "csim_events": (("csim_events",),),
    "rate": (("extra_rates_hz",),), "fpr": (("fprs",),),
    "min_spearman": (("tolerances", "min_spearman_float_view"),),
    "max_eff_rel_diff": (("tolerances", "max_rel_eff_diff_float_view"),), "no_companion": (("companion",),),
    "cache_dir": (("cache_dir",),), "weights": (("weights_path",),), "reference": (("reference_path",),),
    "reference_tolerance": (("reference_tolerance",),), "allow_overflow": (("allow_overflow",),),
    "no_signal": (("cwola", "no_signal"),), "n_inject": (("cwola", "n_sig"),), "n_bkg": (("cwola", "n_bkg"),),
    "window": (("cwola", "window"),), "features": (("cwola", "features"),), "folds": (("cwola", "n_folds"),),
    "inits": (("cwola", "n_init"),), "window_centres": (("cwola", "first_center"), ("cwola", "last_center")),
    "no_mass_decorrelation": (("cwola", "decorrelate_masses"),), "rtl": (("hardware", "rtl"),),
    "synth": (("hardware", "synth"),), "rtl_latency_cutoff": (("hardware", "latency_cutoff"),),
    "latency_budget_ns": (("hardware", "budgets", "latency_ns"),),
    "lut_budget_percent": (("hardware", "budgets", "lut_percent"),), "dsp_budget": (("hardware", "budgets", "dsp"),),
    "ii_budget_ns": (("hardware", "budgets", "ii_ns"),), "reuse_target": (("hls", "reuse_target"),),
    "enforce_budgets": (("hardware", "budgets", "enforce"),),
}
LAYER_FLAGS = ("layer_reuse_factor", "layer_strategy", "layer_precision")


def _leaves(tree: dict, prefix=()):
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from _leaves(v, prefix + (k,))
        else:
            yield prefix + (k,)


def apply_flags(file_cfg: BuildConfig, flag_cfg: BuildConfig, base_cfg: BuildConfig, explicit: set[str],
                where: str, file_tree: dict | None = None) -> BuildConfig:
    """``file_cfg`` with the command line's explicitly given flags on top.  ``flag_cfg``: the command line's
    config; ``base_cfg``: the command line's config without any flag (for flags not in :data:`FLAG_PATHS`);
    ``file_tree``: what the file itself sets (:func:`read_tree`), so that a ``--model`` flag naming another family
    gets that family's defaults for what the file leaves unset."""
    from hls.layer_settings import merge_layers

    tree, flags = file_cfg.to_dict(), flag_cfg.to_dict()
    if file_tree is not None and "model" in explicit and flag_cfg.model != file_cfg.model:
        tree = _deep_merge(BuildConfig(model=flag_cfg.model).to_dict(), file_tree)
    base = base_cfg.to_dict()
    for dest in sorted(explicit - {"config", *LAYER_FLAGS}):
        paths = FLAG_PATHS.get(dest) or [p for p in _leaves(flags) if _get(flags, p) != _get(base, p)]
        for p in paths:
            _set(tree, p, _get(flags, p))
    if explicit & set(LAYER_FLAGS):
        layers = merge_layers(file_cfg.hls.layers, flag_cfg.hls.layers)
        tree["hls"]["layers"] = [ls.to_dict() for ls in layers]
    return config_from_tree(tree, f"{where} with command-line flags")


def parse_layer_flags(reuse: list[str], strategy: list[str], precision: list[str]) -> tuple:
    """``--layer-reuse-factor NAME=R``, ``--layer-strategy NAME=S``, ``--layer-precision NAME.PLACE=TYPE`` ->
    per-layer settings (hls.layer_settings.LayerSettings)."""
    from hls.config import Strategy
    from hls.layer_settings import LayerSettings, merge_layers

    out: list[LayerSettings] = []
    for flag, items in (("reuse-factor", reuse), ("strategy", strategy), ("precision", precision)):
        for item in items or ():
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise ValueError(f"--layer-{flag} {item!r}: expected "
                                 + ("NAME.PLACE=TYPE (PLACE weight, bias or result)" if flag == "precision"
                                    else f"NAME={'R' if flag == 'reuse-factor' else 'STRATEGY'}"))
            if flag == "reuse-factor":
                try:
                    out.append(LayerSettings(key, reuse_factor=int(value)))
                except ValueError as exc:
                    raise ValueError(f"--layer-reuse-factor {item!r}: {exc}") from None
            elif flag == "strategy":
                out.append(LayerSettings(key, strategy=Strategy.parse(value)))
            else:
                name, dot, place = key.rpartition(".")
                if not dot or not name:
                    raise ValueError(f"--layer-precision {item!r}: expected NAME.PLACE=TYPE, PLACE weight, bias or result")
                out.append(LayerSettings(name, precision=((place, value),)))
    return merge_layers((), tuple(out))
