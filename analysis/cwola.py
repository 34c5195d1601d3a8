"""CWoLa hunt bookkeeping, background fit and significance (numpy / scipy / iminuit / pyhf; no TensorFlow).

Windows.  The signal region (SR) of window k is ``[c_k e^-h, c_k e^+h]`` with h = 0.075 (ln-mjj half width:
+-7.5 %, i.e. +-1.7 sigma of a 4.5 % mjj resolution, which holds ~85 % of a narrow resonance), with one sideband
(SB) of the same log width on each side.  Centres step by h (windows overlap by half), so a resonance always
sits well inside one SR.  Edges lie on the fit histogram's bin grid (ln-width h / 3).  The
build clips the sidebands to the fit range, which starts above the trigger turn-on: in the turn-on the pT cut
removes heavy jets preferentially, so a sideband there differs from the SR in jet mass for reasons unrelated to
any signal, and a classifier learning that sculpts the selected spectrum (seen on background-only data).

Folds.  Every event gets one of ``n_folds`` folds (seeded, balanced).  For window w and test fold t, the networks
(t, v) for each v != t train on the folds not in {t, v} and validate on v; the ensemble of those n_folds - 1
networks (mean logit) scores the events of fold t, whatever their mjj.  :func:`nested_plan` lists them and
:func:`check_no_leakage` proves no event is scored by a network that trained on it.

Selection.  A cut keeping a fraction eps of *all* events (whole spectrum) is a threshold on the window's score.
The dijet function is fitted (binned Poisson likelihood, iminuit MIGRAD; covariance = inverse expected Fisher
information, checked with pseudo-experiments) to the selected spectrum in the fit range outside the SR; its
integral over the SR, with the fit's covariance propagated, is the background prediction b +- db.  Goodness of
fit: Pearson chi2 and the Poisson deviance with their asymptotic p-values.  The local significance of n observed SR events is the discovery test (q0, asymptotic) of
pyhf's ``uncorrelated_background`` model (b with a Gaussian-constrained uncertainty db).

Look-elsewhere: the local p-value is per window and cut; with W windows (half-overlapping, so ~W/2 independent)
and several cuts the trials factor is of order W/2 x cuts; :func:`trials_note` says so in the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from data.dijet import SQRT_S, dijet_function

HALF_WIDTH = 0.075
BIN_LOG_WIDTH = HALF_WIDTH / 3
DEFAULT_CUTS = (1.0, 0.1, 0.01, 0.002)


@dataclass(frozen=True)
class Window:
    index: int
    center: float
    sr: tuple[float, float]
    sb_low: tuple[float, float]
    sb_high: tuple[float, float]

    def masks(self, mjj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sr = (mjj >= self.sr[0]) & (mjj < self.sr[1])
        sb = ((mjj >= self.sb_low[0]) & (mjj < self.sb_low[1])) | ((mjj >= self.sb_high[0]) & (mjj < self.sb_high[1]))
        return sr, sb

    def to_dict(self):
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def make_windows(first_center: float = 3200.0, last_center: float = 4800.0, half_width: float = HALF_WIDTH) -> list[Window]:
    if not (0 < first_center <= last_center):
        raise ValueError(f"window centres must satisfy 0 < first ({first_center}) <= last ({last_center})")
    n = int(np.floor(np.log(last_center / first_center) / half_width + 0.01)) + 1  # last centre within 1 % of a step counts
    out = []
    for k in range(n):
        c = first_center * np.exp(k * half_width)
        e = [c * np.exp(j * half_width) for j in (-3, -1, 1, 3)]
        out.append(Window(k, float(c), (e[1], e[2]), (e[0], e[1]), (e[2], e[3])))
    return out


def fit_edges(windows: list[Window], lo: float, hi: float) -> np.ndarray:
    """Histogram edges on the windows' grid (ln width HALF_WIDTH/3) covering [lo, hi]."""
    base = windows[0].center * np.exp(-HALF_WIDTH)
    j0 = int(np.ceil(np.log(lo / base) / BIN_LOG_WIDTH - 1e-9))
    j1 = int(np.floor(np.log(hi / base) / BIN_LOG_WIDTH + 1e-9))
    return base * np.exp(BIN_LOG_WIDTH * np.arange(j0, j1 + 1))


def sr_bins(edges: np.ndarray, w: Window) -> np.ndarray:
    """Boolean mask of the histogram bins inside the window's SR."""
    c = np.sqrt(edges[:-1] * edges[1:])
    return (c > w.sr[0]) & (c < w.sr[1])


MIN_SIDE_BINS = 3  # one sideband's width (h / BIN_LOG_WIDTH bins) of fitted spectrum needed on each side of the SR


def fit_sides(edges: np.ndarray, w: Window) -> dict:
    """Fit bins below and above the window's SR; the SR background is *interpolated* when both sides have at least
    MIN_SIDE_BINS bins, else *extrapolated* from one side (a window whose SR starts at the fit range's lower edge)."""
    c = np.sqrt(edges[:-1] * edges[1:])
    below, above = int(np.count_nonzero(c < w.sr[0])), int(np.count_nonzero(c > w.sr[1]))
    kind = "interpolated" if min(below, above) >= MIN_SIDE_BINS else "extrapolated"
    return {"n_fit_bins_below_sr": below, "n_fit_bins_above_sr": above, "background_estimate": kind}


# ---- folds ----------------------------------------------------------------------------------------
def assign_folds(n: int, n_folds: int, seed: int) -> np.ndarray:
    if n_folds < 3:
        raise ValueError(f"nested k-fold needs at least 3 folds (test, validation, training), got {n_folds}")
    f = np.arange(n) % n_folds
    return np.random.default_rng(seed).permutation(f).astype(np.int8)


def nested_plan(n_folds: int, n_init: int = 1) -> list[tuple[int, int, int]]:
    """(test fold, validation fold, initialisation) of every network of one window."""
    return [(t, v, i) for t in range(n_folds) for v in range(n_folds) if v != t for i in range(n_init)]


def training_masks(folds: np.ndarray, plan, in_window: np.ndarray):
    """Per network: (train mask, validation mask), both restricted to the window (SR or SB)."""
    out = []
    for t, v, _ in plan:
        out.append((in_window & (folds != t) & (folds != v), in_window & (folds == v)))
    return out


def check_no_leakage(folds: np.ndarray, plan, masks, scored_by: dict[int, list[int]]) -> int:
    """Count (event, network) pairs where a network scores an event it trained or validated on (must be 0).

    ``scored_by[t]`` lists the plan indices of the networks whose ensemble scores test fold t."""
    bad = 0
    for t, nets in scored_by.items():
        ev = folds == t
        for j in nets:
            tr, va = masks[j]
            bad += int(np.count_nonzero(ev & (tr | va)))
    return bad


def balanced_weights(is_sr: np.ndarray, use: np.ndarray) -> np.ndarray:
    """SR and SB get equal total weight among the used events (weight 0 elsewhere)."""
    w = np.zeros(len(is_sr))
    n_sr = np.count_nonzero(use & is_sr)
    n_sb = np.count_nonzero(use & ~is_sr)
    if n_sr == 0 or n_sb == 0:
        raise ValueError(f"a training set has {n_sr} SR and {n_sb} SB events: the window is empty, choose other windows")
    w[use & is_sr] = 0.5 / n_sr
    w[use & ~is_sr] = 0.5 / n_sb
    return w * use.sum()


# ---- fit ------------------------------------------------------------------------------------------
def _bin_integrals(params, edges):
    """Integral of the dijet function over each bin (Simpson, 3 points)."""
    lo, hi = edges[:-1], edges[1:]
    mid = 0.5 * (lo + hi)
    f = lambda m: dijet_function(m, 1.0, *params[1:])  # noqa: E731
    return np.exp(params[0]) * (hi - lo) / 6.0 * (f(lo) + 4 * f(mid) + f(hi))


@dataclass
class FitResult:
    params: np.ndarray  # ln p0, p1, p2, p3
    cov: np.ndarray
    valid: bool
    nll: float
    chi2: float
    ndf: int
    deviance: float = float("nan")  # Poisson likelihood-ratio GoF: 2 sum(mu - k + k ln(k / mu)) over the fitted bins

    @property
    def chi2_pvalue(self) -> float:
        """P(chi2_ndf >= chi2): Pearson chi2 against the chi2 distribution (asymptotic; low counts make it approximate)."""
        return gof_pvalue(self.chi2, self.ndf)

    @property
    def deviance_pvalue(self) -> float:
        """P(chi2_ndf >= deviance): the Poisson deviance's asymptotic p-value (Wilks; toys check it at low counts)."""
        return gof_pvalue(self.deviance, self.ndf)

    def expected(self, edges):
        return _bin_integrals(self.params, edges)

    def prediction(self, edges, mask) -> tuple[float, float]:
        """Background in the bins ``mask`` and its uncertainty (fit covariance, numerical gradient)."""
        b0 = float(self.expected(edges)[mask].sum())
        g = np.zeros(len(self.params))
        for i in range(len(self.params)):
            h = 1e-5 * max(1.0, abs(self.params[i]))
            p1, p2 = self.params.copy(), self.params.copy()
            p1[i] += h
            p2[i] -= h
            g[i] = (_bin_integrals(p1, edges)[mask].sum() - _bin_integrals(p2, edges)[mask].sum()) / (2 * h)
        var = float(g @ self.cov @ g)
        return b0, float(np.sqrt(max(var, 0.0)))


def fit_dijet(counts: np.ndarray, edges: np.ndarray, use_bins: np.ndarray, n_params: int = 4) -> FitResult:
    """Binned Poisson maximum-likelihood fit of the dijet function to ``counts`` in the bins ``use_bins``.

    ``n_params`` 3 fixes p3 = 0.  Several starting points (MIGRAD); the best valid minimum is kept; its
    covariance is the inverse expected Fisher information (:func:`fisher_covariance`).  The shape parameters are
    limited to p1 in [-50, 200], p2 in [-50, 50], p3 in [-10, 10], so that a degenerate spectrum (a handful of
    events) ends at a limit instead of running away."""
    from iminuit import Minuit

    counts = np.asarray(counts, np.float64)
    use = np.asarray(use_bins, bool)
    if counts[use].sum() <= 0:
        raise ValueError("no events in the fit range: nothing to fit")
    n_free = 4 if n_params == 4 else 3

    def nll(lnp0, p1, p2, p3):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            mu = _bin_integrals(np.array([lnp0, p1, p2, p3]), edges)[use]
        if not np.all(np.isfinite(mu)):
            return 1e300
        mu = np.maximum(mu, 1e-300)
        k = counts[use]
        return float(np.sum(mu - k * np.log(mu)))

    best = None
    for p1, p2, p3 in ((9.0, 5.0, 0.0), (5.0, 7.0, 0.0), (12.0, 4.0, 0.5), (1.0, 9.0, 0.0)):
        shape = _bin_integrals(np.array([0.0, p1, p2, p3]), edges)[use].sum()
        lnp0 = np.log(counts[use].sum() / shape)
        m = Minuit(nll, lnp0=lnp0, p1=p1, p2=p2, p3=p3)
        m.errordef = Minuit.LIKELIHOOD
        if n_free == 3:
            m.fixed["p3"] = True
        m.limits["p1"] = (-50, 200)
        m.limits["p2"] = (-50, 50)
        m.limits["p3"] = (-10, 10)
        m.migrad(ncall=20000)
        if not m.valid:
            continue
        if best is None or m.fval < best.fval:
            best = m
    if best is None:
        raise RuntimeError("dijet fit did not converge from any starting point")
    params = np.array(best.values)
    cov = fisher_covariance(params, edges, use, n_free)
    mu = _bin_integrals(params, edges)[use]
    k = counts[use]
    chi2 = float(np.sum((k - mu) ** 2 / np.maximum(mu, 1e-9)))
    return FitResult(params, cov, bool(best.valid), float(best.fval), chi2, int(use.sum() - n_free),
                     poisson_deviance(k, mu))


def fisher_covariance(params: np.ndarray, edges: np.ndarray, use: np.ndarray, n_free: int = 4) -> np.ndarray:
    """Inverse of the expected Fisher information of the binned Poisson likelihood at ``params``:
    I = J^T diag(1 / mu) J over the fitted bins, J = d mu / d params (central differences); rows and columns of
    a fixed p3 (``n_free`` 3) are 0.  The dijet function's parameters are correlated at |rho| ~ 0.999, where
    MINUIT's numerical HESSE was found to underestimate the SR prediction's spread by a factor ~1.6 (toys,
    :mod:`analysis.cwola_stats`); this analytic form matches the toys."""
    params = np.asarray(params, np.float64)
    jac = np.zeros((int(np.count_nonzero(use)), n_free))
    for i in range(n_free):
        h = 1e-6 * max(1.0, abs(params[i]))
        up, dn = params.copy(), params.copy()
        up[i] += h
        dn[i] -= h
        jac[:, i] = (_bin_integrals(up, edges)[use] - _bin_integrals(dn, edges)[use]) / (2 * h)
    mu = np.maximum(_bin_integrals(params, edges)[use], 1e-300)
    info = jac.T @ (jac / mu[:, None])
    cov = np.zeros((len(params), len(params)))
    cov[:n_free, :n_free] = np.linalg.pinv(info, hermitian=True)
    return cov


def poisson_deviance(k: np.ndarray, mu: np.ndarray) -> float:
    """2 sum(mu - k + k ln(k / mu)) (the k ln k term is 0 for empty bins): -2 ln of the likelihood ratio of the
    fit to the saturated model, asymptotically chi2 with the fit's ndf."""
    k, mu = np.asarray(k, np.float64), np.maximum(np.asarray(mu, np.float64), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        klog = np.where(k > 0, k * np.log(k / mu), 0.0)
    return float(2.0 * np.sum(mu - k + klog))


def gof_pvalue(stat: float, ndf: int) -> float:
    """Upper-tail chi2 probability of a goodness-of-fit statistic (nan when ndf < 1 or the statistic is nan)."""
    from scipy.stats import chi2

    if ndf < 1 or not np.isfinite(stat):
        return float("nan")
    return float(chi2.sf(stat, ndf))


# ---- significance ----------------------------------------------------------------------------------
def discovery_significance(n_obs: float, b: float, db: float) -> tuple[float, float]:
    """(p0, Z) of the discovery test for n observed on b +- db (pyhf, q0 asymptotics). Deficits give p0 = 0.5."""
    import pyhf
    from scipy.stats import norm

    if b <= 0:
        raise ValueError(f"background prediction must be > 0, got {b}")
    if n_obs <= b:
        return 0.5, 0.0
    if db < 1e-4 * b:
        # pyhf's Poisson-constrained background (tau = (b/db)^2) is numerically unstable as db -> 0; the limit is
        # the known-background q0, whose asymptotic Z is exact in closed form
        z = asimov_z(n_obs - b, b)
        return float(norm.sf(z)), z
    # signal template of the size of the excess: the fitted mu is 1, inside pyhf's default bounds (0, 10)
    model = pyhf.simplemodels.uncorrelated_background(signal=[float(n_obs - b)], bkg=[float(b)], bkg_uncertainty=[db])
    data = [float(n_obs)] + model.config.auxdata
    p0 = float(pyhf.infer.hypotest(0.0, data, model, test_stat="q0"))
    p0 = max(p0, 1e-300)  # q0 >= 0 gives p0 <= 0.5; floored so that Z stays finite (37.05)
    return p0, float(max(norm.isf(p0), 0.0))


def asimov_z(s: float, b: float, sigma_b: float = 0.0) -> float:
    """Cowan et al. discovery significance of n = s + b observed on b (known exactly when ``sigma_b`` = 0, else
    measured in a Poisson auxiliary with tau = b / sigma_b^2: the same model as pyhf's ``shapesys``)."""
    n = s + b
    if sigma_b <= 0:
        return float(np.sqrt(2 * (n * np.log1p(s / b) - s)))
    v = sigma_b**2
    t = n * np.log(n * (b + v) / (b * b + n * v)) - b * b / v * np.log1p(v * s / (b * (b + v)))
    return float(np.sqrt(2 * max(t, 0.0)))


# ---- the hunt ------------------------------------------------------------------------------------
def threshold_for_efficiency(scores: np.ndarray, eff: float) -> float:
    """Score threshold keeping the fraction ``eff`` of events (``score > threshold``; round(eff n) events when the
    scores have no ties); a fraction that rounds to all events (eff = 1 among them) gives -inf."""
    if not eff >= 0:
        raise ValueError(f"the selection efficiency must be >= 0, got {eff}")
    n = len(scores)
    k = int(round(eff * n))
    if k >= n:
        return -np.inf
    return float(np.partition(np.asarray(scores), n - k - 1)[n - k - 1])


def hunt_window(mjj: np.ndarray, scores: np.ndarray | None, w: Window, edges: np.ndarray,
                cuts=DEFAULT_CUTS) -> list[dict]:
    """Per cut: threshold, n selected, fit, SR observation and prediction, local p0 and Z."""
    out = []
    mask_sr = sr_bins(edges, w)
    for eff in cuts:
        if scores is None or eff >= 1.0:
            sel = np.ones(len(mjj), bool)
            thr = None
        else:
            thr = threshold_for_efficiency(scores, eff)
            sel = scores > thr
        counts, _ = np.histogram(mjj[sel], bins=edges)
        row = {"efficiency": eff, "threshold": thr, "n_selected": int(sel.sum()), "counts": counts.tolist()}
        try:
            fit = fit_dijet(counts, edges, ~mask_sr)
            b, db = fit.prediction(edges, mask_sr)
            n = float(counts[mask_sr].sum())
            p0, z = discovery_significance(n, b, db)
            row.update(n_sr=int(n), b_sr=b, db_sr=db, p0=p0, z=z, excess=n - b, fit_chi2=fit.chi2, fit_ndf=fit.ndf,
                       fit_params=fit.params.tolist(), fit_valid=fit.valid, fit_chi2_pvalue=fit.chi2_pvalue,
                       fit_deviance=fit.deviance, fit_deviance_pvalue=fit.deviance_pvalue)
        except (RuntimeError, ValueError) as e:
            row.update(n_sr=int(counts[mask_sr].sum()), b_sr=None, db_sr=None, p0=None, z=None, error=str(e))
        out.append(row)
    return out


def trials_note(n_windows: int, n_cuts: int) -> str:
    n_eff = max(1, int(np.ceil(n_windows / 2)))
    return (f"local significances: {n_windows} half-overlapping windows (~{n_eff} independent) x {n_cuts} cuts; a "
            f"global p-value needs a trials factor of order {n_eff * n_cuts} (Bonferroni bound: p_global <= "
            f"{n_eff * n_cuts} p_local), not applied here")


def mass_decorrelation_kappa(mjj: np.ndarray, mj: np.ndarray, lo: float, hi: float, n_bins: int = 12) -> float:
    """Slope of ln(median jet mass) vs ln(mjj), measured on the whole spectrum (background-dominated)."""
    e = np.exp(np.linspace(np.log(lo), np.log(hi), n_bins + 1))
    xs, ys = [], []
    for a, b in zip(e[:-1], e[1:]):
        m = (mjj >= a) & (mjj < b)
        if m.sum() >= 50:
            xs.append(np.log(np.sqrt(a * b)))
            ys.append(np.log(np.median(mj[m])))
    if len(xs) < 3:
        return 0.0
    return float(np.polyfit(xs, ys, 1)[0])


__all__ = ["Window", "make_windows", "fit_edges", "sr_bins", "assign_folds", "nested_plan", "training_masks",
           "check_no_leakage", "balanced_weights", "fit_dijet", "FitResult", "fit_sides", "fisher_covariance",
           "poisson_deviance", "gof_pvalue", "MIN_SIDE_BINS", "discovery_significance", "asimov_z",
           "threshold_for_efficiency", "hunt_window", "trials_note", "mass_decorrelation_kappa", "SQRT_S"]
