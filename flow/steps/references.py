"""Step ``references`` of the vae21 build: the supervised DNN per signal (:mod:`models.supervised`) and the
side-by-side table (float twin, float view, emulator, supervised DNN, published value) in ``report["references"]``
(:mod:`analysis.references`; report.md gets its tables)."""

from __future__ import annotations

import time

from flow.build import Build, step
from flow.steps.trigger import raw_standardisation
from models.build_util import say


def _published(signals) -> dict:
    from data.generator import BSM_SIGNALS

    return {s: BSM_SIGNALS[s]["published"] for s in signals if "published" in BSM_SIGNALS.get(s, {})}


@step("references", requires=("physics",))
def references(b: Build) -> None:
    """Train (or load) the supervised DNNs on events disjoint from the test sample; the reference table."""
    from analysis.references import reference_table
    from models.supervised import logits, train_or_load_supervised

    st = b.family_state
    signals = sorted(k for k in b.xs if k != "background")  # cached and fresh data list them in other orders
    if b.config.data_path is not None or not len(b.train_ds.x_train):
        b.report["references"] = {"error": "the supervised reference needs generated events (no --data file)"}
        say("references: skipped (a --data file gives no generated signal training sample)")
        return
    t0 = time.perf_counter()
    # the DNNs' own standardisation of the raw features (b.mean / b.std are the VAE's, on its transformed features)
    mean, std = raw_standardisation(b.train_ds.x_train, b.train_ds.x_train.shape[1])
    models, info = train_or_load_supervised(b.config, b.train_ds, mean, std, signals)
    sup = logits(models, b.xs)
    b.timings["supervised_reference"] = time.perf_counter() - t0
    sources = {"float_twin": st["s_twin"], "float_view": st["s_fview"], "emulator": b.s_emu}
    scores = {s: {**{k: (v["background"], v[s]) for k, v in sources.items() if v is not None},
                  "supervised": sup[s]} for s in signals}
    section = reference_table(st["wps"], scores, st["sm_month"], st["acceptances"], _published(signals))
    section["supervised_training"] = {k: v for k, v in info.items() if k != "cache_dir"}
    b.report["references"] = section
    wp30 = section["published_working_point"]
    if wp30 in section["signals"][signals[0]]:
        say("references at " + wp30 + " (eff): " + "; ".join(
            f"{s} " + " / ".join(f"{k} {e['eff']:.3g}" for k, e in section["signals"][s][wp30].items()) for s in signals))
