"""Registry of named models.  Each entry says which data it uses and how to build, train and deploy it."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Callable


def _resolve(dotted: str):
    module, _, attr = dotted.partition(":")
    return getattr(import_module(module), attr)


@dataclass(frozen=True)
class ModelSpec:
    """A named model.  ``prepare`` is ``"module:function"`` with the signature
    ``prepare(build_config, train_ds, mean, std, timings) -> PreparedModel`` (imported lazily, so the
    registry does not import TensorFlow)."""

    name: str
    description: str
    data: str  # which dataset family the model reads (a key of DATA_FAMILIES)
    n_features: int
    prepare: str = ""
    # "module:function" with ``f(extra_rates_hz) -> analysis.working_points.RatePlan`` for a model that reads
    # another input stream than the HLT single-lepton stream (e.g. L1 at 40 MHz); "" = the vae21 defaults
    working_points: str = ""
    # emulator producing the numbers when the build asks for the default ("fast"); "" = that default
    emulator: str = ""
    # a registered model built after this one into ``<output>/<companion_dir>/`` and compared with it in this
    # model's report (analysis/compare.py); "" = none.  ``--no-companion`` skips it.
    companion: str = ""
    companion_dir: str = ""

    def prepare_function(self) -> Callable:
        return _resolve(self.prepare)

    def rate_plan(self, extra_rates_hz=()):
        return _resolve(self.working_points)(tuple(extra_rates_hz)) if self.working_points else None


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


# data family -> ("module:generate_or_load", "module:read_user_file"); both return an object with
# x_train, x_val, x_test_bkg, x_test_signal (dict), feature_names, meta
DATA_FAMILIES: dict[str, tuple[str, str]] = {
    "hlt21": ("data.dataset:load_or_generate_hlt", "data.dataset:read_hlt_h5"),
    "l1_57": ("data.l1:load_or_generate_l1", "data.l1:read_l1_h5"),
}


def data_family_functions(name: str) -> tuple[Callable, Callable]:
    if name not in DATA_FAMILIES:
        raise ValueError(f"unknown data family {name!r}; known: {sorted(DATA_FAMILIES)}")
    gen, read = DATA_FAMILIES[name]
    return _resolve(gen), _resolve(read)


REGISTRY: dict[str, ModelSpec] = {
    "vae21": ModelSpec(
        name="vae21",
        description="quantization-aware VAE on the 21 HLT features; firmware = encoder mu + sum(mu^2)",
        data="hlt21",
        n_features=21,
        prepare="models.vae21:prepare_for_build",
    ),
    "cwola": ModelSpec(
        name="cwola",
        description="CWoLa hunting on dijets: per-window QAT classifiers (nested k-fold), bump hunt; firmware = "
                    "classifier logit of the deployed window (emulation/cwola_pipeline.py)",
        data="dijet",
        n_features=4,
    ),
    "ae57": ModelSpec(
        name="ae57",
        description="quantization-aware dense AE on the 57 L1 inputs; firmware = AE + masked squared error on chip",
        data="l1_57",
        n_features=57,
        prepare="models.ae57:prepare_for_build",
        working_points="analysis.working_points:l1_rate_plan",
    ),
    "vae57": ModelSpec(
        name="vae57",
        description="quantization-aware VAE on the 57 L1 inputs (CMS L1 size); firmware = encoder mu + sum(mu^2)",
        data="l1_57",
        n_features=57,
        prepare="models.vae57:prepare_for_build",
        working_points="analysis.working_points:l1_rate_plan",
        companion="vae57hgq",
        companion_dir="hgq_native",
    ),
    "vae57hgq": ModelSpec(
        name="vae57hgq",
        description="vae57 with an HGQ2-native encoder: per-weight bit widths and trainable activation widths, "
                    "trained with the EBOPs penalty; firmware = encoder mu + sum(mu^2)",
        data="l1_57",
        n_features=57,
        prepare="models.vae57_hgq:prepare_for_build",
        working_points="analysis.working_points:l1_rate_plan",
        emulator="csim",  # heterogeneous quantizers: the fast emulator does not support them
    ),
}

SUPPORTED_USER_LAYERS = (
    "InputLayer", "Quantizer", "QDense", "Dense", "QMultiply", "QAdd", "QSubtract", "Activation", "ReLU",
)


def resolve_model(arg: str) -> ModelSpec | Path:
    """A registry name, or a path to a user's ``.keras`` model."""
    if arg in REGISTRY:
        return REGISTRY[arg]
    p = Path(arg)
    if p.suffix == ".keras":
        if not p.is_file():
            raise FileNotFoundError(f"model file {p} does not exist")
        return p
    raise ValueError(
        f"unknown model {arg!r}: use one of {sorted(REGISTRY)}, a path to a .keras model file, or a legacy "
        "QKeras / Keras 2 model (.json with --weights, or a full-model .h5)"
    )


def load_user_model(path: Path):
    """Load a user's ``.keras`` model in Keras safe mode and check every layer is supported."""
    import keras

    import qkeras.qlayers  # noqa: F401  (registers hgq2 / qkeras-compat layers for deserialisation)

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises TypeError/ValueError with a long message
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ValueError(
            f"cannot load {path} with Keras safe mode: {msg}. Supported layers: {', '.join(SUPPORTED_USER_LAYERS)}"
        ) from exc
    for layer in model.layers:
        cls = layer.__class__.__name__
        if cls not in SUPPORTED_USER_LAYERS:
            raise ValueError(
                f"layer {layer.name!r} of class {cls} is not supported for firmware conversion; "
                f"supported: {', '.join(SUPPORTED_USER_LAYERS)}"
            )
    first = model.layers[1] if len(model.layers) > 1 else None
    if first is None or first.__class__.__name__ != "Quantizer":
        raise ValueError(
            f"{path}: hls4ml's bit-exact flow needs a quantizer right after the input "
            f"(found {first.__class__.__name__ if first else 'nothing'}); add a QActivation(quantized_bits(...))"
        )
    return model
