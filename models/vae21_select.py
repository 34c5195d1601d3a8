"""vae21: which on-chip score a build deploys, chosen on a validation split, and the float references.

Validation split (never the test sample): SM events from the generator's cocktail and every signal, drawn with
their own random stream (``np.random.default_rng([seed, VALIDATION_STREAM])``, independent of the dataset's
train / validation / test streams).  Each candidate's deployable model runs through the fast bit-exact emulator;
the default is the candidate with the best mean signal efficiency at the main working point (~30 SM
events/day), or at ``VALIDATION_MIN_ABOVE / n`` when the validation sample is too small for it (the FPR used is
reported).
"""

from __future__ import annotations

import math

import numpy as np

from analysis import working_points as wp
from models.vae21_scores import SCORE_NAMES, VAEScore, float_scores

VALIDATION_STREAM = 271828
N_VALIDATION_SM = 300_000
N_VALIDATION_SIGNAL = 10_000
VALIDATION_MIN_ABOVE = 20


def candidate_names(mc) -> tuple[str, ...]:
    """The on-chip candidates a VAE configuration can deploy: ``reco`` needs the quantized decoder; ``kl`` and
    ``total`` (the log-variance head and its lookup table) are built for vae21's likelihood VAE (``learned_scale``)."""
    if mc.learned_scale:
        return SCORE_NAMES
    return (VAEScore.MU2.value, VAEScore.RECO.value) if mc.decoder_on_chip else (VAEScore.MU2.value,)


def _validation_events(seed: int, n_sm: int, n_sig: int) -> dict[str, np.ndarray]:
    from data.features import compute_hlt21
    from data.generator import BSM_SIGNALS, generate, generate_sm_cocktail

    rng = np.random.default_rng([seed, VALIDATION_STREAM])
    ev, _ = generate_sm_cocktail(n_sm, rng)
    out = {"background": compute_hlt21(ev)}
    for k in BSM_SIGNALS:
        out[k] = compute_hlt21(generate(k, n_sig, rng))
    return out


def _hlt_main_wp():
    from data.generator import SM_PROCESSES

    return wp.default_working_points(float(sum(v[1] for v in SM_PROCESSES.values())))[1]


def validation_table(candidates: dict, scale, seed: int, n_sm: int = N_VALIDATION_SM,
                     n_sig: int = N_VALIDATION_SIGNAL, events_fn=None, main=None) -> dict:
    """Per candidate: the emulator's efficiency per signal and their mean at the validation working point.
    ``events_fn(seed, n_sm, n_sig) -> {sample: raw features}`` (default: vae21's HLT events) and ``main`` (a
    working point with ``name`` and ``fpr``; default: the HLT ~30 SM events/day) let another family (vae57) use it."""
    from emulation.fast import FastEmulator

    events = (events_fn or _validation_events)(seed, n_sm, n_sig)
    xs = {k: scale(v).astype(np.float32) for k, v in events.items()}
    main = main if main is not None else _hlt_main_wp()
    fpr = max(main.fpr, VALIDATION_MIN_ABOVE / n_sm)
    table = {}
    for name, model in candidates.items():
        emu = FastEmulator(model)
        s = {k: emu.predict(v)[:, 0] for k, v in xs.items()}
        t, n_above = wp.threshold_at_fpr(s["background"], fpr)
        effs = {k: wp.efficiency(v, t) for k, v in s.items() if k != "background"}
        table[name] = {"threshold": t, "n_background_above": n_above, "efficiency": effs,
                       "mean_efficiency": float(np.mean(list(effs.values()))),
                       "auc": {k: wp.auc(s["background"], v) for k, v in s.items() if k != "background"}}
    return {"working_point": main.name, "fpr_used": fpr, "fpr_main": main.fpr, "n_background": n_sm,
            "n_signal_each": n_sig, "seed_stream": [seed, VALIDATION_STREAM], "source": "fast emulator",
            "candidates": table}


def choose(cfg, candidates: dict, fview, scale, train_ds, events_fn=None, main=None,
           n_sm_max: int = N_VALIDATION_SM, min_auc: float | None = None) -> tuple[str, dict]:
    """(deployed score, selection record): ``cfg.score`` when given, else the best mean efficiency on the
    validation split (``events_fn``, ``main``: :func:`validation_table`; at most ``n_sm_max`` SM events).  With
    ``min_auc`` (vae57, issue 15: a score must separate every signal) only the candidates whose validation AUC
    exceeds it for every signal compete, unless none does."""
    from models.build_util import say

    n_sm = n_sm_max if cfg.n_test_bkg is None else min(n_sm_max, cfg.n_test_bkg)
    val = validation_table(candidates, scale, cfg.seed, n_sm, min(N_VALIDATION_SIGNAL, cfg.n_signal), events_fn, main)
    ranked = sorted(val["candidates"], key=lambda k: -val["candidates"][k]["mean_efficiency"])
    eligible = [k for k in ranked if min_auc is None or min(val["candidates"][k]["auc"].values()) > min_auc]
    if cfg.score is not None:
        chosen = VAEScore.parse(cfg.score).value
        if chosen not in candidates:
            raise ValueError(f"--score {chosen}: this VAE configuration computes {sorted(candidates)}")
        how = "--score"
    elif eligible:
        chosen, how = eligible[0], "best mean signal efficiency on the validation split" + (
            "" if min_auc is None else f" among the scores with every signal's AUC above {min_auc:g}")
    else:
        chosen, how = ranked[0], (f"best mean signal efficiency on the validation split (no score has every "
                                  f"signal's AUC above {min_auc:g})")
    say(f"score {chosen!r} ({how}); validation mean efficiency at FPR {val['fpr_used']:.2g}: " + ", ".join(
        f"{k} {val['candidates'][k]['mean_efficiency']:.3g}" for k in ranked))
    return chosen, {"chosen": chosen, "how": how, "validation": val,
                    **({} if min_auc is None else {"min_auc": min_auc, "eligible": eligible})}


def reference_scores_fn(fview, twin, chosen: str, masked=None, beta: float = 1.0):
    """``reference_scores(xs) -> (float view, float twin, offline)`` of the ``chosen`` score; ``offline`` holds
    every candidate of the float twin and of the float view (``<name>`` and ``view_<name>``); ``masked`` (the
    deployable model's :class:`models.ae57.MaskedReco`, weights included) and ``beta``:
    :func:`models.vae21_scores.float_scores` (vae57)."""

    def reference_scores(xs: dict):
        s_view, s_twin, offline = {}, {}, {}
        for k, x in xs.items():
            v, t = float_scores(fview, x, masked, beta), float_scores(twin, x, masked, beta)
            s_view[k], s_twin[k] = v[chosen], t[chosen]
            offline[k] = {**t, **{f"view_{n}": a for n, a in v.items()}}
        return s_view, s_twin, offline

    return reference_scores


def score_range(model) -> tuple[float, float]:
    """(largest value, LSB) of a VAE's deployable score: the fast emulator's exact bound of its output (every score
    is a sum of non-negative terms, or an NLL bounded by its parts: sum(mu^2) <= latent * max|mu|^2 at LSB(mu)^2; the
    weighted squared error <= sum_j w_j * max(square) at LSB(w) * LSB(square); a table term by its largest entry)."""
    from emulation.fast import FastEmulator

    return FastEmulator(model).output_range


def headroom(thresholds: dict[str, float], s_max: float, lsb: float) -> dict:
    """Per working point: the threshold's distance to the score's largest value in LSBs; ``saturated`` when
    the threshold reaches it (no event can lie above: the working point sits in saturation)."""
    out = {}
    for name, t in thresholds.items():
        d = (s_max - t) / lsb
        out[name] = {"threshold": t, "score_max": s_max, "lsb": lsb, "headroom_lsb": math.floor(d),
                     "saturated": bool(t >= s_max)}
    return out
