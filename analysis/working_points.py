"""Working points by background rate, signal efficiencies and the seed table's cross-sections.

Rates follow the VAE-for-new-physics-mining setup (Cerri et al. 2019): the L1-accepted single-lepton
stream has N_SM = sum of the SM events per month (W 110M, QCD 63M, Z 12M, ttbar 0.6M) = 185.6M events
in a 30-day month, i.e. ~71.6 Hz.  "30 SM events per day" is then FPR = 30 / (71.6 Hz * 86400 s)
~ 4.8e-6.  The integrated luminosity of one month is taken as 5 fb^-1 (the seed study's value), so a
signal with acceptance x trigger efficiency A and anomaly-selection efficiency e gives
N = sigma * A * e * L events per month.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

SECONDS_PER_MONTH = 30 * 86400.0
LUMI_PER_MONTH_PB = 5000.0  # 5 fb^-1


@dataclass(frozen=True)
class WorkingPointSpec:
    name: str
    fpr: float

    def __post_init__(self):
        if not (0.0 < self.fpr < 1.0):
            raise ValueError(f"working point {self.name!r}: FPR must be in (0, 1), got {self.fpr}")


def stream_rate_hz(sm_events_per_month: float) -> float:
    return sm_events_per_month / SECONDS_PER_MONTH


def default_working_points(sm_events_per_month: float, extra_rates_hz=()) -> list[WorkingPointSpec]:
    rate = stream_rate_hz(sm_events_per_month)
    wps = [WorkingPointSpec("fpr_1e-5", 1e-5), WorkingPointSpec("30_per_day", 30.0 / (rate * 86400.0))]
    for r in extra_rates_hz:
        if not (0 < r < rate):
            raise ValueError(f"--rate {r} Hz must be in (0, {rate:.3g}) Hz, the SM stream rate")
        wps.append(WorkingPointSpec(f"rate_{r:g}Hz", r / rate))
    return wps


def required_background_events(wps: list[WorkingPointSpec], min_above: int = 10) -> int:
    """SM test events needed so that every threshold has at least ``min_above`` events above it."""
    return int(math.ceil(min_above / min(w.fpr for w in wps) * 1.02))


def threshold_at_fpr(bkg_scores: np.ndarray, fpr: float) -> tuple[float, int]:
    """Threshold t such that at most floor(fpr * N) background events have score > t.

    Returns (t, number of background events above t)."""
    s = np.asarray(bkg_scores, dtype=np.float64)
    n_allowed = int(math.floor(fpr * len(s)))
    if n_allowed < 1:
        raise ValueError(f"FPR {fpr:g} needs more than {len(s)} background events (at least {math.ceil(1 / fpr)})")
    if n_allowed >= len(s):
        raise ValueError(f"FPR {fpr:g} keeps all {len(s)} background events: no threshold below the lowest score")
    # the (n_allowed + 1)-th largest score, by selection (O(N)) instead of a full sort
    k = len(s) - 1 - n_allowed
    t = float(np.partition(s, k)[k])
    return t, int(np.count_nonzero(s > t))


def efficiency(scores: np.ndarray, threshold: float) -> float:
    return float(np.mean(np.asarray(scores) > threshold))


def auc(bkg: np.ndarray, sig: np.ndarray, bkg_sorted: np.ndarray | None = None) -> float:
    """Area under the ROC curve = P(signal score > SM score) + P(equal) / 2 (Mann-Whitney; the same value as
    sklearn's ``roc_auc_score``), counted with the SM scores sorted once (pass ``bkg_sorted`` to reuse a sort:
    millions of SM events against several signals)."""
    b = np.sort(np.asarray(bkg)) if bkg_sorted is None else bkg_sorted
    s = np.asarray(sig)
    if len(b) == 0 or len(s) == 0:
        raise ValueError(f"AUC needs SM and signal scores (got {len(b)} SM, {len(s)} signal)")
    below_or_equal = np.searchsorted(b, s, "right").sum(dtype=np.int64) + np.searchsorted(b, s, "left").sum(dtype=np.int64)
    return float(below_or_equal / (2.0 * len(b) * len(s)))


def aucs(bkg: np.ndarray, signals: dict) -> dict:
    """:func:`auc` of every signal in ``signals`` (name -> scores) against the same SM scores, sorted once."""
    b = np.sort(np.asarray(bkg))
    return {name: auc(b, sig, bkg_sorted=b) for name, sig in signals.items()}


def roc_points(bkg_sorted: np.ndarray, sig: np.ndarray, n_points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) at thresholds = the k-th largest SM score, k log-spaced from 1 to all (plots: a few hundred
    points instead of one per event), plus (1, 1); selections are score > threshold as everywhere."""
    b, s = bkg_sorted, np.sort(np.asarray(sig))
    n = len(b)
    ks = np.unique(np.logspace(0, np.log10(n), n_points).astype(np.int64).clip(1, n))
    t = b[n - ks]
    fpr = (n - np.searchsorted(b, t, "right")) / n
    tpr = (len(s) - np.searchsorted(s, t, "right")) / len(s)
    return np.r_[fpr, 1.0], np.r_[tpr, 1.0]


def xsec_for_events_pb(n_events: float, acceptance: float, eff: float, lumi_pb: float = LUMI_PER_MONTH_PB) -> float | None:
    """Cross-section [pb] giving ``n_events`` selected per month; None when the efficiency is 0."""
    denom = acceptance * eff * lumi_pb
    return float(n_events / denom) if denom > 0 else None


def xsec_table_entries(fpr: float, sm_events_per_month: float, acceptance: float, eff: float) -> dict:
    n_bkg_month = fpr * sm_events_per_month
    return {
        "xsec_100_per_month_pb": xsec_for_events_pb(100.0, acceptance, eff),
        "xsec_sb_one_third_pb": xsec_for_events_pb(n_bkg_month / 3.0, acceptance, eff),
    }


@dataclass(frozen=True)
class DecisionAgreement:
    decision_agreement: float  # fraction of all test events with the same decision
    n_disagree: int
    accepted_overlap: float | None  # |A and B| / |A or B| among accepted events

    def to_dict(self):
        return asdict(self)


def decision_agreement(a_scores, a_thr, b_scores, b_thr) -> DecisionAgreement:
    da = np.asarray(a_scores) > a_thr
    db = np.asarray(b_scores) > b_thr
    union = np.count_nonzero(da | db)
    return DecisionAgreement(
        decision_agreement=float(np.mean(da == db)),
        n_disagree=int(np.count_nonzero(da != db)),
        accepted_overlap=float(np.count_nonzero(da & db) / union) if union else None,
    )


@dataclass(frozen=True)
class PairedEfficiency:
    """Emulator vs float-view efficiency on the *same* signal events, each at its own threshold.

    ``rel_diff`` = (eff_emu - eff_view) / eff_view (None when the view selects nothing).  Its statistical
    uncertainty treats the two selections as paired (McNemar): only events selected by one and not the other
    carry information, so sigma(n_emu - n_view) = sqrt(n_only_emu + n_only_view) and
    ``rel_diff_stat`` = that / n_view.  The thresholds' own fluctuation (from the finite SM sample) is not in it.

    Where the difference comes from (both scores compute the same quantity, in fixed point and in float): the
    emulator's score at the float view's threshold (``n_selected_emulator_at_view_threshold``) splits it into
    ``eff_rel_diff_from_thresholds`` = (n_emu - n_emu_at_view_thr) / n_view, the two scores' SM tails setting
    different thresholds, and ``eff_rel_diff_from_signal_scores`` = (n_emu_at_view_thr - n_view) / n_view, the
    signal events' own scores moved by the arithmetic; the two add up to ``eff_rel_diff_emu_vs_view``."""

    n_selected_emulator: int
    n_selected_float_view: int
    n_selected_only_emulator: int
    n_selected_only_float_view: int
    eff_rel_diff_emu_vs_view: float | None
    eff_rel_diff_stat: float | None
    n_selected_emulator_at_view_threshold: int | None = None
    eff_rel_diff_from_thresholds: float | None = None
    eff_rel_diff_from_signal_scores: float | None = None

    def to_dict(self):
        return asdict(self)


def paired_efficiency_difference(emu_scores, emu_thr, view_scores, view_thr) -> PairedEfficiency:
    a = np.asarray(emu_scores) > emu_thr
    b = np.asarray(view_scores) > view_thr
    na, nb = int(np.count_nonzero(a)), int(np.count_nonzero(b))
    oa, ob = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(b & ~a))
    rel = (na - nb) / nb if nb else (0.0 if na == 0 else None)
    stat = math.sqrt(oa + ob) / nb if nb else None
    nc = int(np.count_nonzero(np.asarray(emu_scores) > view_thr))
    return PairedEfficiency(na, nb, oa, ob, rel, stat, nc, (na - nc) / nb if nb else None,
                            (nc - nb) / nb if nb else None)


# ------------------------------------------------------------------------------------------------
# Input streams other than the HLT single-lepton stream (e.g. Level-1 at 40 MHz)
L1_INPUT_RATE_HZ = 40e6  # LHC bunch-crossing rate seen by the Level-1 trigger
L1_DEFAULT_FPRS = (("l1_1kHz", 2.5e-5), ("l1_100Hz", 2.5e-6), ("fpr_1e-5", 1e-5))


@dataclass(frozen=True)
class RatePlan:
    """Working points of a model family: the input stream's rate, its default working points (first
    ``n_default`` entries, replaced by ``--fpr``), and the per-signal acceptance x trigger efficiency used for
    the seed table's cross-sections ({} when they do not apply: those fields are then null)."""

    stream: str
    input_rate_hz: float
    working_points: tuple[WorkingPointSpec, ...]
    n_default: int
    acceptances: dict
    # working point at which the emulator's signal efficiencies must match the float view's (the build's
    # efficiency check, tolerance ``Tolerances.max_rel_eff_diff_float_view``); None: no such check
    efficiency_check_wp: str | None = None

    @property
    def events_per_month(self) -> float:
        return self.input_rate_hz * SECONDS_PER_MONTH


def _l1_rates(extra_rates_hz) -> list[WorkingPointSpec]:
    """``--rate`` in Hz as working points of the 40 MHz L1 input."""
    wps = []
    for r in extra_rates_hz:
        if not (0 < r < L1_INPUT_RATE_HZ):
            raise ValueError(f"--rate {r} Hz must be in (0, {L1_INPUT_RATE_HZ:.3g}) Hz, the L1 input rate")
        wps.append(WorkingPointSpec(f"rate_{r:g}Hz", r / L1_INPUT_RATE_HZ))
    return wps


def l1_rate_plan(extra_rates_hz=()) -> RatePlan:
    """Level-1: FPR 2.5e-5 (1 kHz of 40 MHz), 2.5e-6 (100 Hz) and 1e-5 (the published AE-on-FPGA study),
    plus any ``--rate`` in Hz.  The SM test sample stands for the 40 MHz input (see data/l1.py)."""
    wps = [WorkingPointSpec(n, f) for n, f in L1_DEFAULT_FPRS] + _l1_rates(extra_rates_hz)
    return RatePlan("L1 (40 MHz bunch crossings)", L1_INPUT_RATE_HZ, tuple(wps), len(L1_DEFAULT_FPRS), {},
                    efficiency_check_wp="l1_1kHz")


# a relative difference beyond the limit fails the efficiency check only when it lies more than this many standard
# deviations beyond the limit: with the ~10-30 signal events a 1 kHz or ~30/day working point selects, one event is
# 3-10 %, and a check decided by single events fails correct firmware at random (a 1-event vs 0-event difference reads
# -100 %).  Beyond the limit but within it: passed, status "beyond_limit_not_significant", said in the log and report.
EFFICIENCY_CHECK_Z = 2.0


def efficiency_check(signals: dict, wp_name: str, max_rel: float) -> dict:
    """Per signal at ``wp_name``: the emulator's efficiency relative to the float view's (paired statistical
    uncertainty from the report).  Status ``within_limit`` when |rel diff| <= ``max_rel`` (both 0 included);
    beyond it, ``failed`` when the excess over the limit is more than :data:`EFFICIENCY_CHECK_Z` standard
    deviations (:func:`decide_efficiency_check`), else ``beyond_limit_not_significant`` (passed, a warning)."""
    out = {"working_point": wp_name, "max_rel_diff": max_rel, "significance_z": EFFICIENCY_CHECK_Z, "signals": {},
           "source": "emulator and float view efficiencies on the same signal events, each at its own threshold"}
    for s, d in signals.items():
        e = d["working_points"].get(wp_name)
        if e is None:  # --fpr replaced the default working points
            out["working_point"] = None
            break
        out["signals"][s] = {"eff_emulator": e["eff_emulator"], "eff_float_view": e["eff_float_view"],
                             "eff_float_twin": e["eff_float_twin"], "rel_diff": e.get("eff_rel_diff_emu_vs_view"),
                             "rel_diff_stat": e.get("eff_rel_diff_stat"),
                             "n_only_emulator": e.get("n_selected_only_emulator"),
                             "n_only_float_view": e.get("n_selected_only_float_view"),
                             "rel_diff_from_thresholds": e.get("eff_rel_diff_from_thresholds"),
                             "rel_diff_from_signal_scores": e.get("eff_rel_diff_from_signal_scores")}
    return decide_efficiency_check(out)


def _excess_z(d: dict, max_rel: float) -> float:
    """Standard deviations by which |rel diff| lies beyond ``max_rel`` (the bootstrap's uncertainty, thresholds
    included, when the report has it; else the paired one).  When the view selects none, the McNemar z of the
    emulator-only events, n / sqrt(n)."""
    rel = d["rel_diff"]
    if rel is None:
        n = d.get("n_only_emulator")
        return math.inf if n is None else math.sqrt(n)
    stat = d.get("rel_diff_stat_bootstrap") or d.get("rel_diff_stat")
    excess = abs(rel) - max_rel
    return excess / stat if stat else math.inf


def decide_efficiency_check(ec: dict) -> dict:
    """(Re)decide each signal's status and the check from its figures (again after the bootstrap adds its
    uncertainty)."""
    for d in ec["signals"].values():
        if d["rel_diff"] is not None and abs(d["rel_diff"]) <= ec["max_rel_diff"]:
            d["status"], d["excess_z"] = "within_limit", None
        else:
            z = _excess_z(d, ec["max_rel_diff"])
            d["excess_z"] = None if math.isinf(z) else z
            d["status"] = "failed" if z > ec["significance_z"] else "beyond_limit_not_significant"
        d["passed"] = d["status"] != "failed"
    ec["passed"] = ec["working_point"] is None or all(v["passed"] for v in ec["signals"].values())
    ec["not_significant"] = sorted(s for s, d in ec["signals"].items() if d["status"] == "beyond_limit_not_significant")
    return ec


JET_DEFAULT_MISTAGS = (("mistag_1pct", 1e-2), ("mistag_10pct", 1e-1), ("mistag_0.1pct", 1e-3))


def jet_rate_plan(extra_rates_hz=()) -> RatePlan:
    """Jet tagging (``deepsets``): working points at fixed mistag rates (the fraction of q/g test jets tagged),
    1 % (the efficiency check), 10 % and 0.1 %; the stream stands for one tagged jet per bunch crossing."""
    wps = [WorkingPointSpec(n, f) for n, f in JET_DEFAULT_MISTAGS] + _l1_rates(extra_rates_hz)
    return RatePlan("L1 jets (one jet per 40 MHz bunch crossing)", L1_INPUT_RATE_HZ, tuple(wps),
                    len(JET_DEFAULT_MISTAGS), {}, efficiency_check_wp="mistag_1pct")


CALO_DEFAULT_FPRS = (("l1_1kHz", 2.5e-5), ("l1_10kHz", 2.5e-4))


def calo_rate_plan(extra_rates_hz=()) -> RatePlan:
    """The calorimeter-image anomaly trigger (``cicada``): 1 kHz (the efficiency check) and 10 kHz of the 40 MHz
    L1 input, plus any ``--rate`` in Hz (no 100 Hz point by default: it would need 4 M SM test images)."""
    wps = [WorkingPointSpec(n, f) for n, f in CALO_DEFAULT_FPRS] + _l1_rates(extra_rates_hz)
    return RatePlan("L1 calorimeter regions (40 MHz bunch crossings)", L1_INPUT_RATE_HZ, tuple(wps),
                    len(CALO_DEFAULT_FPRS), {}, efficiency_check_wp="l1_1kHz")
