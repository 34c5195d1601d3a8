"""Model families, registered by the names they handle or the files they accept.

A :class:`Family` declares everything a build needs to know about a kind of model: its data family, its
``prepare()`` hook (build/train/load the model, its float twin, its deployable part with the on-chip score),
its working points, the layer shapes a sweep needs to validate reuse factors, its report kind and its list
of steps (``flow.steps``).  ``get_family(arg)`` resolves a ``--model`` argument (a registered name, a ``.keras``
file, a legacy Keras 2 ``.json``/``.h5``) or raises with the valid choices.  Hooks are ``"module:function"``
strings imported lazily, so the registry does not import TensorFlow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Callable


def _resolve(dotted: str):
    module, _, attr = dotted.partition(":")
    return getattr(import_module(module), attr)


class ReportKind(enum.Enum):
    """Which report a family writes: working points and signals, the CWoLa hunt, or import agreement."""

    TRIGGER = "trigger"
    HUNT = "hunt"
    IMPORT = "import"


# the steps of each kind of build (flow/steps/*.py registers them)
TRIGGER_STEPS = ("data", "prepare", "convert", "emulate", "reference", "agree", "hardware", "golden", "saturation",
                 "physics", "report")
# vae21: the supervised references (flow.steps.references), then every on-chip score candidate evaluated beside the
# deployed one (flow.steps.vae_scores)
VAE21_STEPS = (*TRIGGER_STEPS[:-1], "references", "score_candidates", TRIGGER_STEPS[-1])
HUNT_STEPS = ("cwola_data", "cwola_train", "convert", "cwola_emulate", "hunt", "saturation", "golden", "report")
IMPORT_STEPS = ("import_data", "import_model", "saturation", "import_overflow", "convert", "import_emulate",
                "import_agreement", "import_golden", "report")


@dataclass(frozen=True)
class Architecture:
    """One architecture of a family, registered by ``name`` (``--model NAME``; "" for a file family)."""

    name: str
    description: str = ""
    prepare: str = ""  # "module:function": prepare(cfg, train_ds, mean, std, timings) -> PreparedModel
    # "module:function" with ``f(cfg) -> {layer: (n_in, n_out)}`` of the deployable dense layers (sweeps validate
    # reuse factors with it before anything runs); "" = checked by hls4ml when the project is written
    dense_shapes: str = ""
    emulator: str = ""  # emulator producing the numbers when the build asks for the default ("fast")
    # a registered model built after this one into ``<output>/<companion_dir>/`` and compared in this report
    companion: str = ""
    companion_dir: str = ""
    # deployment goals (latency ns, LUT % of the part, DSP; None = no goal), checked against the measured sources in
    # ``report["hardware"]["goals"]`` (informative: the exit code follows --enforce-budgets only)
    goals: tuple[float | None, float | None, int | None] | None = None
    scores: tuple[str, ...] = ()  # the on-chip scores ``--score`` can choose ("" = the architecture has one)


@dataclass(frozen=True)
class Family:
    """A model family: its architectures (``handles`` lists their names) or, for a file family, ``accepts``
    (a predicate on a model file path) and one unnamed architecture."""

    name: str
    description: str
    steps: tuple[str, ...]
    architectures: tuple[Architecture, ...]
    report: ReportKind = ReportKind.TRIGGER
    accepts: Callable[[Path], bool] | None = None
    data: str = ""  # data family (a key of DATA_FAMILIES); "" = the family reads --data itself
    n_features: int | None = None  # None: any input width (from the model)
    # "module:function" with ``f(extra_rates_hz) -> analysis.working_points.RatePlan`` for a family reading another
    # input stream than the HLT single-lepton stream (e.g. L1 at 40 MHz); "" = the HLT defaults
    working_points: str = ""
    needs_data_file: bool = False  # --data is required (user and imported models)
    options: tuple[str, ...] = ()  # family-only build options that are accepted (e.g. weights_path)
    # the RTL path (da4ml -> Verilator) and yosys run unless --no-rtl (when the tools are present), and the deployed
    # model rounds with RND (da4ml-traceable) in every build, so that plain and RTL builds deploy the same model
    rtl_by_default: bool = False
    # "module:attr" of this family's build defaults, a mapping of BuildConfig fields ("n_train", "n_val", "n_signal")
    # and HLSConfig fields ("part", "clock_period_ns") applied by flow.config.BuildConfig to every field not given
    # (command line, config file, sweep, Python API); "" = the global defaults
    defaults: str = ""

    @property
    def handles(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.architectures if a.name)

    def architecture(self, model: str) -> Architecture:
        for a in self.architectures:
            if a.name == model or (not a.name and self.accepts is not None):
                return a
        raise ValueError(f"family {self.name!r} has no architecture {model!r}; it has {list(self.handles)}")

    def prepare_function(self, cfg) -> Callable:
        return _resolve(self.architecture(cfg.model).prepare)

    def build_defaults(self) -> dict[str, Any]:
        if not self.defaults:
            return {}
        d = dict(_resolve(self.defaults))
        unknown = sorted(set(d) - set(BUILD_DEFAULT_KEYS))
        if unknown:
            raise ValueError(f"family {self.name!r}: build defaults {unknown} are not among {list(BUILD_DEFAULT_KEYS)}")
        return d

    def rate_plan(self, extra_rates_hz=()):
        return _resolve(self.working_points)(tuple(extra_rates_hz)) if self.working_points else None

    def layer_shapes(self, cfg) -> dict[str, tuple[int, int]] | None:
        a = self.architecture(cfg.model)
        return _resolve(a.dense_shapes)(cfg) if a.dense_shapes else None

    def validate(self, cfg) -> None:
        """Refuse options that do not apply to this family, before any work starts."""
        if self.needs_data_file and cfg.data_path is None:
            what = "an imported model" if self.report is ReportKind.IMPORT else "a user model"
            raise ValueError(f"{what} needs --data FILE (.h5, .npy or .dat) with the events to emulate")
        if cfg.cwola != type(cfg.cwola)() and "cwola" not in self.options:
            raise ValueError("--n-inject, --n-bkg, --no-signal, --window, --features, --folds, --inits, --window-centres, "
                             f"--toys and --no-mass-decorrelation apply to --model cwola, not to {cfg.model}")
        if "cwola" in self.options and (cfg.precision_bits is not None or cfg.input_precision is not None):
            raise ValueError("--model cwola: --precision and --input-precision do not apply (the classifier's "
                             "quantizers are fixed in models/cwola.py)")
        scores = self.architecture(cfg.model).scores if self.handles else ()
        if cfg.score is not None and cfg.score not in scores:
            raise ValueError(f"--score {cfg.score}: --model {cfg.model} computes "
                             + (f"{list(scores)}" if scores else "a single score (no --score)"))
        legacy_opts = [o for o in ("weights_path", "reference_path") if getattr(cfg, o) is not None]
        if legacy_opts and "weights_path" not in self.options:
            raise ValueError("--weights and --reference apply to legacy QKeras / Keras 2 models "
                             "(--model FILE.json or .h5)")


@dataclass
class PreparedModel:
    """What a build needs from a model family: the deployable Keras model (a quantizer right after the
    input), a description for the report, and optionally ``reference_scores(xs) -> (float_view, float_twin,
    offline)`` where each is a dict sample -> scores (``offline``: sample -> {name: scores}) or None."""

    deploy: Any
    description: dict
    reference_scores: Callable | None = None
    extras: dict = field(default_factory=dict)
    # (offset, scale) applied upstream of the input port instead of the build's mean/std (None: those)
    input_scaling: tuple | None = None
    # x -> x' applied upstream of the input port before the scaling (e.g. data.transforms.FeatureTransform;
    # ``to_dict()`` goes into metadata.json); None: none
    feature_transform: Any = None


# data family -> ("module:generate_or_load", "module:read_user_file"); both return an object with
# x_train, x_val, x_test_bkg, x_test_signal (dict), feature_names, meta
DATA_FAMILIES: dict[str, tuple[str, str]] = {
    "hlt21": ("data.dataset:load_or_generate_hlt", "data.dataset:read_hlt_h5"),
    "l1_57": ("data.l1:load_or_generate_l1", "data.l1:read_l1_h5"),
    "jets": ("data.jets:load_or_generate_jets", "data.jets:read_jets_h5"),
    "calo": ("data.calo:load_or_generate_calo", "data.calo:read_calo_for_build"),
}


def data_family_functions(name: str) -> tuple[Callable, Callable]:
    if name not in DATA_FAMILIES:
        raise ValueError(f"unknown data family {name!r}; known: {sorted(DATA_FAMILIES)}")
    gen, read = DATA_FAMILIES[name]
    return _resolve(gen), _resolve(read)


def _is_keras_file(p: Path) -> bool:
    return p.suffix == ".keras"


def _is_legacy_file(p: Path) -> bool:
    return p.suffix.lower() in (".json", ".h5", ".hdf5")


# issue 17: vae57 in one 40 MHz clock (25 ns = 5 cycles at 200 MHz), no DSP, <= 0.5 % of a VU13P's LUTs; ae57 within the
# 50 ns CMS Global Trigger budget
L1_VAE_GOALS = (25.0, 0.5, 0)
L1_AE_GOALS = (50.0, None, None)
# issue 20: the jet tagger on a VU13P within the L1 correlator's per-algorithm budget this toolkit assumes, 100 ns
DEEPSETS_GOALS = (100.0, None, None)
# the keys a family's build defaults may set (flow.config: COUNT_DEFAULTS and HLS_FAMILY_KEYS)
BUILD_DEFAULT_KEYS = ("n_train", "n_val", "n_signal", "part", "clock_period_ns")

FAMILIES: tuple[Family, ...] = (
    Family("vae21", "quantization-aware VAE on the 21 HLT features", VAE21_STEPS, (
        Architecture("vae21", "quantization-aware VAE on the 21 HLT features with the published model's likelihood, "
                     "a pdf suited to each feature (Bernoulli for the booleans, Poisson for the small counts, "
                     "Gaussian for the rest); firmware = the on-chip score chosen by --score or on a validation "
                     "split (sum(mu^2), the NLL with its Poisson / Bernoulli tables, the KL term with its "
                     "log-variance table, or their sum)",
                     prepare="models.vae21:prepare_for_build", dense_shapes="models.vae21:dense_shapes_for_build",
                     scores=("mu2", "reco", "kl", "total")),
        Architecture("vae21gauss", "vae21 with a Gaussian likelihood (learned width) on every feature, the default "
                     "before issue 15's per-feature pdfs; same score candidates",
                     prepare="models.vae21:prepare_for_build", dense_shapes="models.vae21:dense_shapes_for_build",
                     scores=("mu2", "reco", "kl", "total")),),
        data="hlt21", n_features=21),
    Family("l1", "the Level-1 family on the 57 L1 inputs (40 MHz), parameterised by architecture",
           (*TRIGGER_STEPS[:-1], "score_candidates", TRIGGER_STEPS[-1], "companion"), (
               Architecture("ae57", "quantization-aware dense AE on the 57 L1 inputs; firmware = AE + masked squared "
                            "error on chip", prepare="models.ae57:prepare_for_build",
                            dense_shapes="models.ae57:dense_shapes_for_build", goals=L1_AE_GOALS),
               Architecture("vae57", "quantization-aware VAE on the 57 L1 inputs (CMS L1 size); firmware = the "
                            "on-chip score chosen by --score or on a validation split (sum(mu^2) or the decoder's "
                            "masked squared error, MET's term weighted 1/8)", prepare="models.vae57:prepare_for_build",
                            companion="vae57hgq",
                            dense_shapes="models.vae57:dense_shapes_for_build",
                            companion_dir="hgq_native", goals=L1_VAE_GOALS, scores=("mu2", "reco")),
               Architecture("vae57hgq", "vae57 with an HGQ2-native encoder: per-weight bit widths and trainable "
                            "activation widths, trained with the EBOPs penalty; firmware = vae57's score candidates",
                            prepare="models.vae57_hgq:prepare_for_build",
                            dense_shapes="models.vae57:dense_shapes_for_build", goals=L1_VAE_GOALS,
                            scores=("mu2", "reco")),
           ), data="l1_57", n_features=57, working_points="analysis.working_points:l1_rate_plan", rtl_by_default=True),
    Family("deepsets", "supervised jet tagger on up to 16 constituents (pt, deta, dphi, pid): W/top/tau vs q/g",
           TRIGGER_STEPS, (
               Architecture("deepsets", "Deep Sets tagger: shared per-particle QDense network, mean pooling (N = 16: a "
                            "shift), head, one logit", prepare="models.deepsets:prepare_for_build",
                            dense_shapes="models.deepsets:dense_shapes_for_build", goals=DEEPSETS_GOALS),
               Architecture("efn", "Energy Flow Network tagger: pT-weighted sum of per-particle functions of the "
                            "angles (IRC safe), head, one logit", prepare="models.deepsets:prepare_efn_for_build",
                            dense_shapes="models.deepsets:efn_dense_shapes_for_build", goals=DEEPSETS_GOALS),
           ), data="jets", n_features=4, working_points="analysis.working_points:jet_rate_plan",
           rtl_by_default=True),
    # rtl_by_default: like the L1 families, the RND variant of the deployed model (quantize.hgq_native.with_rounding
    # converts cicada's QConv2D/Flatten and deepsets' pooling) runs through da4ml -> Verilator (RTL latency) and yosys
    # (resources) by default
    Family("cicada", "calorimeter-image anomaly detection (18 x 14 region ET counts): conv AE teacher, quantized "
           "student regressing its loss", TRIGGER_STEPS, (
               Architecture("cicada", "quantized student (QConv2D 4 filters 3x3 stride 2, QDense 16, one output) "
                            "regressing the float conv-AE teacher's standardised log-MSE",
                            prepare="models.cicada:prepare_for_build",
                            dense_shapes="models.cicada:dense_shapes_for_build"),
           ), data="calo", n_features=1, working_points="analysis.working_points:calo_rate_plan",
           defaults="models.cicada:BUILD_DEFAULTS", rtl_by_default=True),
    Family("cwola", "CWoLa hunting on dijets: per-window QAT classifiers (nested k-fold), bump hunt; firmware = "
           "classifier logit of the deployed window", HUNT_STEPS, (Architecture("cwola"),), report=ReportKind.HUNT,
           options=("cwola",)),
    Family("user", "user model (.keras)", TRIGGER_STEPS, (Architecture("", prepare="models.user:prepare_for_build"),),
           accepts=_is_keras_file, needs_data_file=True),
    Family("legacy", "imported legacy QKeras / Keras 2 model", IMPORT_STEPS, (Architecture(""),),
           report=ReportKind.IMPORT, accepts=_is_legacy_file, needs_data_file=True,
           options=("weights_path", "reference_path")),
)


def get_family(arg: str, families: tuple[Family, ...] = FAMILIES) -> Family:
    """The family handling ``--model arg``: a registered name, or a file one family accepts."""
    for f in families:
        if arg in f.handles:
            return f
    p = Path(str(arg))
    for f in families:
        if f.accepts is not None and f.accepts(p):
            if not p.is_file():
                raise FileNotFoundError(f"model file {p} does not exist")
            return f
    names = sorted(n for f in families for n in f.handles)
    raise ValueError(
        f"unknown model {arg!r}: use one of {names}, a path to a .keras model file, or a legacy "
        "QKeras / Keras 2 model (.json with --weights, or a full-model .h5)"
    )


def registered_names() -> list[str]:
    return sorted(n for f in FAMILIES for n in f.handles)
