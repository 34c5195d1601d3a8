"""QuantSpec: QKeras bit counting per place, validation naming the bad key, --precision semantics per family,
to_dict / from_dict round trips, and the generated layers' quantizers equal to the QKeras definition."""

import pytest

from quantize.precision import Precision
from quantize.spec import QuantSpec


def test_precision_follows_qkeras_bit_counting():
    q = QuantSpec(input=(16, 5), weight=(8, 1), activation=(10, 4), mu=(12, 4), output=(13, 6))
    assert q.precision("input").to_ap() == "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"  # sign counted in bits, not integer
    assert q.precision("weight") == Precision.from_qkeras(8, 1)
    assert q.precision("activation").to_ap() == "ap_ufixed<10,4,AP_RND_CONV,AP_SAT>"  # quantized_relu: unsigned
    assert q.precision("mu").step == 2.0**-7
    assert q.qkeras("output") == (13, 6)
    assert q.places == {"input": (16, 5), "weight": (8, 1), "activation": (10, 4), "mu": (12, 4), "output": (13, 6)}


@pytest.mark.parametrize("kwargs, match", [
    ({"wieght": (8, 1)}, "'wieght'"),
    ({"weight": (1, 0)}, "weight: bits=1"),  # signed: the sign bit + 1 at least
    ({"activation": (0, 0)}, "activation: bits=0"),
    ({"weight": (8,)}, "weight: expected"),
    ({"weight": (8.0, 1)}, "weight: bits must be an integer"),
    ({"bias": (8, True)}, "bias: integer must be an integer"),
    ({"weight": (8, 1), "precision_places": ("bias",)}, "precision_places: 'bias'"),
    ({"weight": (8, 1), "precision_places": ("scale",)}, "'scale'"),
])
def test_construction_rejects_naming_the_key(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantSpec(**kwargs)


def test_unknown_or_absent_place_raises():
    q = QuantSpec(weight=(8, 1))
    with pytest.raises(ValueError, match="'latent'"):
        q.precision("latent")
    with pytest.raises(ValueError, match="'foo'"):
        q.precision("foo")


def test_with_bits_touches_the_family_places_only():
    from models.ae57 import AE57_QUANT
    from models.cwola import CWOLA_QUANT
    from models.vae21 import VAE21_QUANT
    from models.vae57 import VAE57_QUANT

    v = VAE21_QUANT.with_bits(6)  # vae21: weights, biases, ReLUs and mu; integer bits kept; input untouched
    assert v.places == {"input": (16, 5), "weight": (6, 1), "bias": (6, 1), "activation": (6, 4), "mu": (6, 4)}
    a = AE57_QUANT.with_bits(7)  # L1 models: kernels and biases only
    assert a.places == {**AE57_QUANT.places, "weight": (7, 1), "bias": (7, 1)}
    assert VAE57_QUANT.with_bits(6).places == {**VAE57_QUANT.places, "weight": (6, 1), "bias": (6, 1)}
    assert CWOLA_QUANT.precision_places == ("weight", "bias", "activation")
    with pytest.raises(ValueError, match="weight: bits=1"):
        AE57_QUANT.with_bits(1)


def test_to_dict_keys_and_round_trip():
    from models.ae57 import AE57_QUANT
    from models.cwola import CWOLA_QUANT
    from models.vae21 import VAE21_QUANT
    from models.vae57 import VAE57_QUANT

    d = VAE21_QUANT.to_dict()  # the report's keys (sweep tables read input_bits, act_bits, weight_bits, mu_bits)
    assert d == {"input_bits": 16, "input_integer": 5, "input": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
                 "weight_bits": 8, "weight_integer": 1, "weight": "ap_fixed<8,2,AP_RND_CONV,AP_SAT>",
                 "bias_bits": 8, "bias_integer": 1, "bias": "ap_fixed<8,2,AP_RND_CONV,AP_SAT>",
                 "act_bits": 10, "act_integer": 4, "activation": "ap_ufixed<10,4,AP_RND_CONV,AP_SAT>",
                 "mu_bits": 12, "mu_integer": 4, "mu": "ap_fixed<12,5,AP_RND_CONV,AP_SAT>",
                 "precision_places": ["weight", "bias", "activation", "mu"]}
    assert AE57_QUANT.to_dict()["out_bits"] == 13 and AE57_QUANT.to_dict()["output"].startswith("ap_fixed<13,7,")
    for q in (VAE21_QUANT, AE57_QUANT, VAE57_QUANT, CWOLA_QUANT, VAE21_QUANT.with_bits(5)):
        assert QuantSpec.from_dict(q.to_dict()) == q
    bare = {k: v for k, v in AE57_QUANT.to_dict().items() if k.endswith(("_bits", "_integer"))}
    assert QuantSpec.from_dict(bare).places == AE57_QUANT.places  # ap strings and precision_places optional


@pytest.mark.parametrize("change, match", [
    ({"weight_bitz": 8}, "'weight_bitz'"),
    ({"colour": 1}, "'colour'"),
    ({"weight_bits": 1}, "weight: bits=1"),
    ({"weight": "ap_fixed<9,2,AP_RND_CONV,AP_SAT>"}, "weight:"),  # disagrees with weight_bits / weight_integer
    ({"precision_places": ["latent"]}, "'latent'"),
])
def test_from_dict_rejects_naming_the_key(change, match):
    from models.vae21 import VAE21_QUANT

    with pytest.raises(ValueError, match=match):
        QuantSpec.from_dict({**VAE21_QUANT.to_dict(), **change})


def test_from_dict_needs_both_halves():
    with pytest.raises(ValueError, match="act_integer is missing"):
        QuantSpec.from_dict({"act_bits": 10})


def test_config_from_build_applies_precision_input_and_epochs():
    from types import SimpleNamespace

    from models.ae57 import config_from_build as ae57_config
    from models.vae21 import config_from_build as vae21_config

    cfg = SimpleNamespace(precision_bits=6, input_precision="ap_fixed<12,6>", epochs=3)
    v = vae21_config(cfg)
    assert v.epochs == 3 and v.quant.qkeras("input") == (12, 5) and v.quant.qkeras("activation") == (6, 4)
    a = ae57_config(cfg)
    assert a.quant.qkeras("input") == (12, 5) and a.quant.qkeras("activation") == (12, 6)
    assert a.quant.qkeras("bias") == (6, 1)
    with pytest.raises(ValueError, match="need at least 3 bits"):
        vae21_config(SimpleNamespace(precision_bits=2, input_precision=None, epochs=None))
    with pytest.raises(ValueError, match="must be signed"):
        ae57_config(SimpleNamespace(precision_bits=None, input_precision="ap_ufixed<8,4>", epochs=None))


def test_generated_quantizers_are_the_qkeras_ones():
    """hgq2's compat quantized_bits does not count the sign: the layers must still implement QKeras's widths."""
    from models.ae57 import AE57Config, build_ae
    from quantize.qkeras import precision_of_quantizer_layer

    cfg = AE57Config(hidden=(4,), latent=2)
    ae = build_ae(cfg, quantized=True)
    for layer, place in (("input_quant", "input"), ("enc_relu1", "activation"), ("latent_quant", "latent"),
                         ("reco_quant", "output")):
        assert precision_of_quantizer_layer(ae.get_layer(layer)) == cfg.quant.precision(place), layer
    d = ae.get_layer("enc_dense1")
    assert precision_of_quantizer_layer(d.kq) == cfg.quant.precision("weight")
    assert precision_of_quantizer_layer(d.bq) == cfg.quant.precision("bias")
