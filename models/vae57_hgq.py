"""``vae57hgq``: the ``vae57`` VAE with an HGQ2-native encoder (per-weight bit widths, trainable activation widths,
trained with the EBOPs resource penalty).

Same shape, loss, optimiser, epochs and KL weight as ``vae57`` (read at run time from
:func:`models.vae57.vae_config`, so it follows whatever ``vae57`` uses); its own training seed
(:data:`DEFAULT_HGQ_SEED`, ``HGQConfig.seed``; ``None``: vae57's): 57 -> 32 -> 16 -> latent 3
(mu, log sigma^2) -> 16 -> 32 -> 57, ReLU.  What differs is the quantization of the encoder:

* input port: the *same* fixed, homogeneous quantizer as ``vae57`` (QKeras-API ``quantized_bits`` from the
  ``input`` place of vae57's :class:`quantize.spec.QuantSpec`: ``--input-precision`` applies to both);
* ``enc_dense1``, ``enc_dense2``, ``mu_dense``: ``hgq.layers.QDense`` with a heterogeneous kernel quantizer
  (one trainable bit width and integer width per weight, KBI, RND, SAT_SYM; initialised at vae57's weight
  width) and a heterogeneous bias quantizer (one per bias, SAT_SYM);
* activations: each QDense quantizes its own input (HGQ2's ``iq``).  ``enc_dense1``'s ``iq`` is the fixed input
  port again (a no-op on already quantized values, needed by HGQ2 to count EBOPs); ``enc_dense2`` and
  ``mu_dense`` read the ReLU output through an unsigned, saturating KIF quantizer with one trainable integer
  and fractional width per feature (initialised at vae57's quantized_relu width);
* mu: the same fixed quantizer as ``vae57`` (its spec's ``mu`` place), so the on-chip score part
  (``QMultiply(mu, mu)`` + frozen unit-kernel ``QDense`` = sum(mu^2)) is identical in both models and the
  comparison isolates the encoder.

Training: the ELBO of ``vae57`` plus HGQ2's resource penalty ``beta_ebops * EBOPs`` (each HGQ2 layer adds
``beta * ebops`` to the loss while training; the weight is set with ``hgq.utils.sugar.BetaScheduler``).
``beta_ebops`` is :data:`DEFAULT_BETA_EBOPS` (see its comment for how it was chosen); ``--hgq-beta`` is not a
CLI option: change :class:`HGQConfig` to explore.

The log-variance head is float and not deployed; it reads the (unquantized) ReLU output of ``enc_dense2``.  The
decoder is vae57's: QKeras-quantized and on chip for the ``reco`` score when vae57's ``decoder_on_chip`` (the
default), so both models offer the same candidates, chosen by the same validation rule
(:func:`models.vae57.score_deployment`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# EBOPs weight, chosen with benchmarks/hgq_beta_scan.py (README, section "HGQ2-native vae57"): vae57's recipe on the
# cached 150k SM training events, beta in {1e-7, 1e-6, 1e-5}; 1e-6 is the largest value whose per-signal AUCs stayed
# within 0.01 of vae57's (1e-5: within 0.02, EBOPs -79 %; 1e-6: EBOPs -55 %).  Caveat: vae57's own AUCs are near
# 0.5 on this synthetic L1 view, so "equal physics" is a weak constraint there.
# After vae57 moved to 8-bit weights and the masked reconstruction loss, beta 1e-6 pruned 1202 of enc_dense1's 1824
# weights to 0 bits and clipped enc_dense2's inputs in 49 % of SM events: bit-exact firmware, but its float view
# (shadow weights, no quantizers) became another network (Spearman 0.979 < 0.98, the build's check failed).
# 1e-7 (Spearman 0.987, 1 kHz efficiencies within 10 % of the float view) was the default then.
# After vae57's deployed score became ``reco`` (issue 15), 1e-7 failed the build's efficiency check (A_4l at 1 kHz,
# emulator -19.7 % +- 3.3 % vs the float view on the test sample).  Chosen again on the L1 VALIDATION sample
# (benchmarks/hgq_beta_scan.py --validation 800000, the build's check on the reco score, 2026-12-05): 1e-7 fails
# there too (A_4l -42.9 % +- 13.1 %), 1e-8 passes (A_4l +14.1 % +- 6.8 %, not significant; Spearman 0.994 on SM),
# EBOPs 46690 vs 32508 (quantize/ebops.py), 379 vs 889 zero weights of 2387.  1e-8 is the largest beta that passes.
DEFAULT_BETA_EBOPS = 1e-8
# vae57hgq's training seed (issue 15, section 2: hpm_taunu at 1 kHz 38 vs ae57's 66 on the test sample with vae57's
# seed 13).  Diagnosed and chosen on the L1 VALIDATION sample only (benchmarks/vae57hgq_validation.py: 2M SM, 50k per
# signal, stream [42, 271828]; ae57 there: hpm_taunu 90, A_4l 12, h0_tautau 10, LQ_btau 1 events at 1 kHz): not the
# EBOPs penalty (beta 0: hpm_taunu 34 events, beta 1e-8: 36), not MET's weights (MET_pt's row of enc_dense1 keeps 8-9
# bits, 0-5 of 32 weights pruned; other rows 5.7-6.8 bits, 4-12 pruned), not clipping (the activations'
# integer bits stay at vae57's 6), not the trainable widths (7 bits fixed: 45; at most 7: 34, efficiency check failed):
# the 1 kHz efficiency moves with the training seed as much for vae57 itself (hpm_taunu 60 / 65 / 34 / 50 / 63 events
# for seeds 13-17) as for vae57hgq (36 / 45 / 37 / 47 / 120).  Seed 17 is the one of 13-17 that meets the criterion
# on validation: events (McNemar z vs ae57) LQ_btau 10 (+3.0), A_4l 222 (+13.7), h0_tautau 10 (0.0), hpm_taunu 120
# (+2.4), AUCs 0.836 / 0.886 / 0.609 / 0.924, the efficiency check passed (Spearman 0.9926), EBOPs 135311 vs 134726;
# on the test sample (a build with seed=17, exit 0; benchmarks.l1_paired_decisions vs firmware_projects/ae57):
# A_4l 293 vs 7, LQ_btau 18 vs 0, h0_tautau 6 vs 11 (z -1.89), hpm_taunu 169 vs 66 (z +7.74).  NOT the default: one
# seed of five meeting the criterion is a lucky training, not a recipe that meets it (the project's rule: defaults
# must not pass for one lucky training only), so vae57hgq keeps vae57's seed (None).  README "HGQ2-native".
DEFAULT_HGQ_SEED = None


@dataclass(frozen=True)
class HGQConfig:
    """HGQ2-native settings on top of vae57's configuration."""

    beta_ebops: float = DEFAULT_BETA_EBOPS
    # per-weight bits at initialisation: None = vae57's weight width (QKeras bits minus the sign bit, KBI ``b``)
    init_weight_bits: int | None = None
    init_act_frac: int | None = None  # None = vae57's quantized_relu fractional bits
    min_bits: int = 0  # bit widths may go down to 0 (a pruned weight / a constant-zero feature)
    max_bits: int = 12
    # the activations' integer bits may not train below vae57's quantized_relu integer bits (False: free, down to
    # -max_bits).  Freely trained, they shrank to the bulk of the SM training events and clipped the tail that
    # anomalies live in: seed 1 (beta 1e-7) gave Spearman 0.946 between the firmware and its float view on 300k SM
    # events (0.937 with the quantized weights and float activations: the activations decide), and its build failed
    # the 0.98 check.  With the floor: 0.9905 (0.9927), HGQ2's EBOPs +31 % (81k -> 105k), 44 % of enc_dense1's
    # weights still pruned to 0 bits (/tmp experiment, models trained by this module on the cached L1 data).
    act_int_floor: bool = True
    seed: int | None = DEFAULT_HGQ_SEED  # the training seed (None: vae57's); see DEFAULT_HGQ_SEED

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["seed"] is None:  # vae57's seed: absent, so that the models cached before this field keep their key
            d.pop("seed")
        return d


def hgq_model_config(mc, hc: HGQConfig):
    """vae57's configuration ``mc`` with vae57hgq's own training seed (``hc.seed``, unless None)."""
    from dataclasses import replace

    return mc if hc.seed is None else replace(mc, seed=hc.seed)


def _weight_conf(q, hc: HGQConfig, place: str):
    """``place``: 'weight' (kernel) or 'bias', both an hgq place and a :class:`quantize.spec.QuantSpec` place."""
    from hgq.config import QuantizerConfig
    from hgq.constraints import MinMax

    p = q.precision(place)  # vae57's kernels / biases: ap_fixed<W, I> with sign
    b0 = hc.init_weight_bits if hc.init_weight_bits is not None else p.width - 1
    return QuantizerConfig("kbi", place, k0=True, b0=b0, i0=p.integer - 1, round_mode="RND", overflow_mode="SAT_SYM",
                           bc=MinMax(hc.min_bits, hc.max_bits), homogeneous_axis=(), heterogeneous_axis=None,
                           i_decay_speed=float("inf"), trainable=True)


def _act_conf(q, hc: HGQConfig):
    from hgq.config import QuantizerConfig
    from hgq.constraints import MinMax

    p = q.precision("activation")  # vae57's quantized_relu: unsigned ap_ufixed<W, I>
    f0 = hc.init_act_frac if hc.init_act_frac is not None else p.frac
    return QuantizerConfig("kif", "datalane", k0=False, i0=p.integer, f0=f0, round_mode="RND", overflow_mode="SAT",
                           ic=MinMax(p.integer if hc.act_int_floor else -hc.max_bits, hc.max_bits), fc=MinMax(-hc.max_bits, hc.max_bits),
                           homogeneous_axis=(0,), heterogeneous_axis=None, trainable=True)


def _native_qdense(n, name, hc: HGQConfig, iq_conf, **kw):
    """An ``hgq.layers.QDense`` with its input quantizer and EBOPs on (hgq2 0.2's QKeras compatibility module,
    imported by the other models, turns both off in every hgq layer: see
    :func:`quantize.hgq_native.restore_native_flags`)."""
    from hgq.layers import QDense

    from quantize.hgq_native import restore_native_flags

    layer = QDense(n, beta0=hc.beta_ebops, name=name, iq_conf=iq_conf, **kw)
    restore_native_flags(layer, iq_conf=iq_conf, enable_ebops=True)
    assert layer.enable_iq and layer.enable_ebops
    return layer


def build_hgq_vae(mc, hc: HGQConfig):
    """The full VAE (for training) with the HGQ2-native encoder; layer names as in :func:`models.vae21.build_vae`
    (so :func:`models.vae21.float_view`, ``encoder_mu_model`` and ``deployable_model`` apply unchanged)."""
    import keras
    from qkeras.qlayers import QActivation

    from models.vae21 import prob_tail, vae_tail
    from quantize.qkeras import quantizer_config

    mc = hgq_model_config(mc, hc)
    keras.utils.set_random_seed(mc.seed)
    q = mc.quant
    inp = keras.Input((mc.n_features,), name="features")
    x = QActivation(quantizer_config(q.precision("input")), name="input_quant")(inp)
    for i, n in enumerate(mc.hidden):
        iq = quantizer_config(q.precision("input")) if i == 0 else _act_conf(q, hc)
        x = _native_qdense(n, f"enc_dense{i + 1}", hc, activation="relu", iq_conf=iq,
                           kq_conf=_weight_conf(q, hc, "weight"), bq_conf=_weight_conf(q, hc, "bias"))(x)
    mu = _native_qdense(mc.latent, "mu_dense", hc, iq_conf=_act_conf(q, hc), kq_conf=_weight_conf(q, hc, "weight"),
                        bq_conf=_weight_conf(q, hc, "bias"))(x)
    mu = QActivation(quantizer_config(q.precision("mu")), name="mu_quant")(mu)
    # vae57's decoder (QKeras-quantized when it is on chip, for the ``reco`` score), the encoder HGQ2-native
    y = prob_tail(x, mu, mc, quantized=True) if mc.decoder_on_chip else vae_tail(x, mu, mc)
    return keras.Model(inp, y, name="vae57hgq_qat")


def hgq_ebops(model) -> dict[str, float]:
    """HGQ2's own EBOPs per layer (``layer.ebops``, updated by the last training/tracing step)."""
    from hgq.layers import QLayerBase

    return {l.name: float(np.asarray(l.ebops)) for l in model.layers if isinstance(l, QLayerBase) and l.enable_ebops}


def train_hgq_vae(vae, mc, hc: HGQConfig, x_train, x_val) -> dict:
    """vae57's training recipe (:func:`models.vae21.train_vae`) plus the EBOPs weight via hgq's BetaScheduler."""
    from hgq.utils.sugar import BetaScheduler, FreeEBOPs

    from models.vae21 import train_vae

    mc = hgq_model_config(mc, hc)  # the seed of the shuffling
    info = train_vae(vae, mc, x_train, x_val, callbacks=[BetaScheduler(lambda epoch: hc.beta_ebops), FreeEBOPs()])
    info["beta_ebops"] = hc.beta_ebops
    info["hgq_ebops_last_step"] = hgq_ebops(vae)
    return info


def prepare_for_build(cfg, train_ds, mean, std, timings: dict):
    from models import l1_common
    from models import vae21 as v
    from models.registry import PreparedModel
    from models.training import train_pair
    from models.vae57 import score_deployment, vae_config

    hc = HGQConfig()
    mc = hgq_model_config(vae_config(cfg), hc)  # vae57's, with vae57hgq's seed (its float twin too)
    tf = l1_common.log1p_transform(mc, train_ds.feature_names)  # vae57's log1p of the pT features
    scale, xt, xv = l1_common.scaled(train_ds, tf)
    qvae, twin, info = train_pair(
        cfg, "vae57hgq", {"vae57": mc.to_dict(), "hgq": hc.to_dict()}, train_ds,
        lambda quantized: build_hgq_vae(mc, hc) if quantized else v.build_vae(mc, quantized=False),
        lambda m, quantized: train_hgq_vae(m, mc, hc, xt, xv) if quantized else v.train_vae(m, mc, xt, xv), timings)
    fview = v.float_view(qvae, mc)
    dep = score_deployment(cfg, qvae, twin, fview, mc, tf, scale, train_ds)  # vae57's candidates and rule
    desc = {"name": "vae57hgq", "description": "vae57 with an HGQ2-native encoder (per-weight bit widths, EBOPs "
            "penalty); firmware = the on-chip score chosen as vae57's", "config": {**mc.to_dict(), "hgq": hc.to_dict()},
            "training": info, **dep["description"], "input_port": l1_common.port_range_check(mc.quant, scale, tf)}
    return PreparedModel(deploy=dep["deploy"], description=desc, reference_scores=dep["reference_scores"],
                         extras={"qvae": qvae, "twin": twin, "float_view": fview, "model_config": mc,
                                 "candidates": dep["candidates"], "score": dep["score"]},
                         input_scaling=(np.zeros_like(scale), scale), feature_transform=tf)
