"""Per-layer precision (hls4ml's ``LayerName.<layer>.Precision``) applied the way the bit-exact flow sees it.

hls4ml 1.3's bit-exact pass derives every fixed-point type from the model's quantizers; a precision written into
the hls4ml configuration would be ignored (or contradict the model).  So a per-layer precision replaces that
layer's quantizers and the whole build (HLS project, emulators, Keras reference, saturation counts, estimate)
uses the changed model:

* ``weight`` / ``bias`` of a ``QDense``: its kernel / bias quantizer (the trained float weights are kept and
  re-quantized, i.e. post-training quantization of that layer);
* ``result`` of a quantizer layer (``QActivation``, hgq2's ``Quantizer``): its type (e.g. the input port or a
  ReLU's output).  A QDense has no own output quantizer in the QKeras API: its result type is derived
  by hls4ml; put the type on the quantizer layer that follows it.

The model is rebuilt from its Keras config with the new quantizer configurations and the weights copied layer by
layer.
"""

from __future__ import annotations

from quantize.precision import Precision

_DENSE_KEYS = {"weight": "kq_conf", "bias": "bq_conf"}


def _quantizer_json(p: Precision) -> dict:
    import keras

    from quantize.qkeras import quantizer_config

    return keras.saving.serialize_keras_object(quantizer_config(p))


def _patch_layer_config(layer_cfg: dict, cls: str, name: str, precisions: dict[str, Precision]) -> None:
    conf = layer_cfg["config"]
    for place, p in precisions.items():
        if cls == "QDense" and place in _DENSE_KEYS:
            if place == "bias" and not conf.get("use_bias", True):
                raise ValueError(f"LayerName.{name}.Precision.bias: layer {name!r} has no bias")
            conf[_DENSE_KEYS[place]] = _quantizer_json(p)
        elif cls == "Quantizer" and place == "result":
            conf["config"] = _quantizer_json(p)
        else:
            valid = {"QDense": list(_DENSE_KEYS), "Quantizer": ["result"]}.get(cls, [])
            raise ValueError(f"LayerName.{name}.Precision.{place}: layer {name!r} is a {cls}; "
                             + (f"valid places: {valid}" if valid else
                                "per-layer precision applies to QDense (weight, bias) and QActivation (result) layers"))


def with_layer_precisions(model, precisions: dict[str, dict[str, Precision]]):
    """A copy of ``model`` whose named layers carry the given quantizer types (layer -> place -> Precision), same
    weights; ``model`` itself when ``precisions`` is empty."""
    if not precisions:
        return model
    by_name = {layer.name: layer for layer in model.layers}
    unknown = sorted(set(precisions) - set(by_name))
    if unknown:
        raise ValueError(f"LayerName: {unknown} are not layers of the deployable model; its layers: {list(by_name)}")
    config = model.get_config()
    for layer_cfg in config["layers"]:
        name = layer_cfg["config"].get("name")
        if name in precisions:
            _patch_layer_config(layer_cfg, type(by_name[name]).__name__, name, precisions[name])
    new = model.__class__.from_config(config)
    for layer in new.layers:
        old = by_name[layer.name]
        if old.weights:
            layer.set_weights(old.get_weights())
    return new
