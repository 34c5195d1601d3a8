"""The legacy importer's layer registry: one handler class per Keras 2 layer kind (no model is built here)."""

import pytest


def test_registry_is_the_supported_list():
    from models.legacy_import import SUPPORTED_LAYERS
    from models.legacy_layers import HANDLERS, LayerHandler

    # registration order is the order error messages list them in
    assert SUPPORTED_LAYERS == tuple(HANDLERS) == (
        "InputLayer", "Dense", "QDense", "Activation", "QActivation", "ReLU", "Softmax", "BatchNormalization",
        "QBatchNormalization", "Conv1D", "Conv2D", "QConv1D", "QConv2D", "MaxPooling1D", "MaxPooling2D",
        "AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
        "GlobalAveragePooling2D", "Flatten", "Reshape", "Dropout")
    assert all(issubclass(h, LayerHandler) and kind in h.handles for kind, h in HANDLERS.items())


def test_a_layer_kind_has_one_handler():
    from models.legacy_layers import HANDLERS, LayerHandler

    before = dict(HANDLERS)
    with pytest.raises(TypeError, match="layer class QDense is already handled by DenseHandler"):
        class Twice(LayerHandler):
            handles = ("LSTM", "QDense")
    assert HANDLERS == before  # nothing of the refused class is registered


def test_unsupported_layer_message_lists_the_registry():
    from models.legacy_files import LegacyLayer
    from models.legacy_layers import HANDLERS, check_supported

    with pytest.raises(ValueError) as e:
        check_supported([LegacyLayer("in", "InputLayer", {}, []), LegacyLayer("rnn", "LSTM", {}, ["in"])])
    assert str(e.value) == f"layer 'rnn' of class LSTM is not supported for import; supported: {', '.join(HANDLERS)}"
