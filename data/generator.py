"""Fast, vectorised, object-level toy simulation of the L1-accepted single-lepton stream at the LHC.

The sample composition follows the "variational autoencoders for new physics mining" / ADC studies
(Cerri et al. 2019): a single-lepton (e or mu, pT > 23 GeV, |eta| < 2.5) triggered stream made of W, QCD
multijet, Z and ttbar events, plus four low-mass BSM benchmarks. The simulation is deliberately simple: it aims
at sensible shapes of the 21 HLT features (:mod:`data.features`), not at precision physics.

Approximations (all of them deliberate; bump ``GENERATOR_VERSION`` whenever any of this changes):

* Kinematics: 4-vectors as (4, n) arrays (px, py, pz, E). Two-body decays are isotropic in the parent rest frame
  (no spin correlations, no V-A angular distributions, no W polarisation) and boosted to the lab frame.
  Resonance masses are non-relativistic Breit-Wigner (Cauchy) distributions truncated to a window; the BSM
  states are narrow. No parton showers, no final-state radiation, no photon/Z interference (Drell-Yan
  continuum) and no PDFs: boson rapidities are Gaussian (sigma ~1.3-2), ttbar / LQ-pair system masses are
  threshold + Gamma distributions.
* Production / ISR: a boson (or the ttbar / LQ-pair system) recoils against 0-4 ISR jets whose pT follows a
  falling power law (dN/dpT ~ pT^-a above 15 GeV) at random azimuth; the boson's transverse momentum is minus
  the vector sum of the ISR jets plus a small Gaussian intrinsic kT. ISR jets are light (gluon) jets with small
  c / b admixtures.
* W -> l nu (l = e, mu, tau with equal branching ratios, W+ : W- = 58 : 42); the lepton-MET transverse mass
  has its Jacobian edge at the W mass. Z/gamma* -> l+ l- (same flavour, opposite charge; e, mu, tau): the Z peak
  (60-130 GeV) and the Drell-Yan continuum down to 10 GeV (m^-2.5, 18.6 : 6.0 nb below / above 50 GeV), whose
  ISR probability scales like ln(m / 5 GeV) relative to the Z peak.
* ttbar: t -> b W with W -> e nu / mu nu / tau nu (10.8 % each) or q q' (67.6 %, half of them with a c quark).
  Jets from quarks are massless partons turned into jets by the detector step. b quarks from tops and leptoquarks
  decay semileptonically (e/mu) in 21.4 % of the cases, into a non-isolated lepton inside the b jet.
* Taus decay leptonically in 35.2 % of the cases (e or mu equally): the lepton is collinear with the tau and
  carries a fraction x ~ 2(1-x) of its momentum (close to the true (5 - 9x^2 + 4x^3)/3 spectrum), the two
  neutrinos take the rest (into MET). Otherwise a visible tau jet (fraction x ~ U(0.3, 1)) plus a neutrino.
* QCD multijet: the trigger lepton comes from a semileptonic b (70 %) or c (30 %) hadron decay inside a jet.
  The lepton pT follows a power law (a = 4.5 above 20 GeV), carries a fraction z ~ Beta(2, 5) of the
  heavy-flavour jet; the rest of that jet is reconstructed as a jet next to the lepton and a fraction
  U(0.7, 1) of it falls inside the isolation cone (split randomly between charged hadrons, neutral hadrons and
  photons), so the lepton is mostly non-isolated. The semileptonic neutrino takes U(0.1, 0.7) of the lepton pT,
  which, together with the jet resolution, makes a small MET. A recoil jet balances the heavy-flavour jet
  (b with 50 % probability for b events). 10 % of the QCD events instead carry an isolated *fake* lepton
  (misidentified hadron / conversion, mostly electrons) with no neutrino.
* BSM: LQ_btau = pair-produced 80 GeV leptoquarks, each -> b tau; A_4l = a 50 GeV scalar -> Z* Z* -> 4 l
  (l = e/mu); h0_tautau = 60 GeV neutral scalar -> tau tau;
  hpm_taunu = 60 GeV charged scalar -> tau nu, produced in top decays (t tbar, one t -> b h+, the other t -> b W).
  A_4l's Z* masses follow the scalar -> V V* matrix element.
  The LQ pair recoils against ISR like the SM bosons; the neutral scalars are produced by gluon fusion, their ISR
  jet multiplicity from a double-log Sudakov estimate (colour factor C_A / C_F, scale m; hlt-objects-3).
  The listed acceptance x trigger efficiencies are the published numbers, used only for builds that do not run on generated events;
  builds on generated events use the ones measured by :mod:`data.validation`.
* Detector: leptons are reconstructed for |eta| < 2.5 and pT > 5 GeV (their online efficiency enters only the
  trigger decision, above) with Gaussian pT
  resolution (2 % e, 1.5 % mu); prompt leptons get a small pile-up / underlying-event isolation (exponential
  cone sums of ~1 GeV). Jets: 10 % Gaussian pT resolution, reconstructed for pT > 20 GeV and |eta| < 4.7;
  jet mass = pT x U(0.05, 0.2) (tau jets ~1 GeV); b-tag (|eta| < 2.5) with efficiency 0.7 for b, 0.1 for c,
  0.03 for hadronic tau, 0.01 for light jets. Photons (extra soft photons, Poisson) with 2 % resolution for
  pT > 10 GeV and |eta| < 2.5. MET = vector sum of the neutrinos minus the vector sum of the mismeasurements of
  the reconstructed objects plus a Gaussian resolution term per component of 0.5 sqrt(sum ET + 200 GeV).
  No fake jets, no pile-up jets, no overlap removal beyond the QCD lepton-in-jet split.
* Hadron multiplicities: gamma-Poisson (negative binomial, shape 4) with means 40 + 0.25 HT (charged) and
  20 + 0.12 HT (neutral), HT = scalar sum of the reconstructed jet pT.
* Objects are kept pT-ordered in 4 lepton, 10 jet and 2 photon slots (the softest beyond that are dropped).
* Every returned event is in the single-lepton stream: accepted (a generator-level e/mu with pT > 23 GeV,
  |eta| < 2.5) and triggered (a reconstructed e/mu with pT > 23 GeV, |eta| < 2.5, charged relative isolation
  < 0.45, passing a per-lepton online efficiency of 0.70 (e) / 0.88 (mu)); the generator oversamples and selects.
  :func:`stream_decisions` gives both decisions for events generated before any selection (:mod:`data.validation`).

Layout: the generator-level physics (process tables, 4-vectors, decays, one function per process) is in
:mod:`data.processes` (its public names are re-exported here); this module has the detector simulation, the
trigger and :func:`generate` / :func:`generate_sm_cocktail`.
"""

from __future__ import annotations

import numpy as np

from .objects import N_JETS, N_LEPTONS, N_PHOTONS, OBJECT_FIELDS, EventObjects
from .processes import (  # noqa: F401 (re-exported: the public generator-level names live in data.processes)
    _EFF_GUESS,
    _PROCESSES,
    BSM_SIGNALS,
    G_T,
    G_W,
    G_Z,
    M_B,
    M_T,
    M_TAU,
    M_W,
    M_Z,
    SM_PROCESSES,
    TWO_PI,
    _Truth,
    boost,
    breit_wigner,
    inv_mass,
    p4_from_ptetaphim,
    power_law,
    pt_eta_phi,
    two_body_decay,
)

GENERATOR_VERSION = "hlt-objects-3"

TRIGGER_PT = 23.0
TRIGGER_ABS_ETA = 2.5
# The single-lepton stream (hlt-objects-2): an event is *accepted* when it has a generator-level e/mu with
# pT > 23 GeV and |eta| < 2.5, and *triggered* when a reconstructed e/mu with pT > 23 GeV, |eta| < 2.5 passes the
# charged-particle relative isolation requirement and the per-lepton online efficiency below.  Only accepted and
# triggered events enter the stream (sigma x acceptance x trigger efficiency).
# The published stream's cut values: a public processing script of the study's first author reads its inputs from
# ".../TOPCLASS/BSMAnomaly_IsoLep_lt_45_pt_gt_23/" (an isolated lepton, ISO < 0.45, pT > 23 GeV; found with the
# search tool, issue 15).  Which isolation sum ISO is (charged only or all particles) is not stated there.
TRIGGER_REL_ISO_CH = 0.45
# Per-lepton efficiency of reconstruction x identification x isolation x single-lepton trigger for a prompt
# lepton above threshold: typical LHC Run-2 values (tight electron identification is a ~70-80 % working point,
# muons ~90 %), not fitted to any table.  Before hlt-objects-2 the trigger was 100 % efficient.
ONLINE_LEPTON_EFFICIENCY = {11: 0.70, 13: 0.88}


# ------------------------------------------------------------------------------------------------
def _stack(cols, sel, n):
    """Stack (n,) columns restricted to the rows sel into an (n_sel, k) float64 array (k >= 1)."""
    out = np.zeros((n if isinstance(sel, slice) else len(sel), max(len(cols), 1)))
    for i, c in enumerate(cols):
        out[:, i] = c[sel]
    return out


def _top_k(key, k, arrays):
    """Sort rows by key (descending), keep k columns (zero-padded to k) of every array."""
    n, kk = key.shape
    if kk > 1:
        order = np.argsort(-key, axis=1, kind="stable")[:, :k]
        flat = (order + (np.arange(n) * kk)[:, None]).ravel()
        arrays = [a.ravel()[flat].reshape(n, -1) for a in arrays]
    if arrays[0].shape[1] < k:
        padded = []
        for a in arrays:
            z = np.zeros((n, k), a.dtype)
            z[:, : a.shape[1]] = a
            padded.append(z)
        arrays = padded
    return arrays


def _reconstruct(t: _Truth, rng) -> tuple[EventObjects, np.ndarray, np.ndarray]:
    """Detector simulation; returns the objects of the events passing the trigger, the trigger mask and the
    acceptance mask of all t.n events (the stream's two decisions, :func:`_lepton_decisions`).

    Random numbers are drawn in a fixed order (lepton smearing, isolation, jets, photons, MET, multiplicities):
    the events of a seed depend on it."""
    # leptons first: the trigger decision, then everything else only for triggered events
    trig, accepted, sel, lep, lep_sums = _reco_leptons(t, rng)
    jets, jet_sums = _reco_jets(t, sel, rng)
    pho, pho_sums = _reco_photons(t.n_extra_photons, len(sel), rng)
    mis_x, mis_y, sum_et = (a + b + c for a, b, c in zip(lep_sums, jet_sums, pho_sums))
    ht = jet_sums[2]

    # MET
    m = len(sel)
    sig = 0.5 * np.sqrt(sum_et + 200.0)
    mx = t.nu_px[sel] - mis_x + sig * rng.standard_normal(m)
    my = t.nu_py[sel] - mis_y + sig * rng.standard_normal(m)

    # hadron multiplicities (gamma-Poisson)
    k = 4.0
    n_ch = rng.poisson(rng.gamma(k, (40.0 + 0.25 * ht) / k))
    n_neu = rng.poisson(rng.gamma(k, (20.0 + 0.12 * ht) / k))

    ev = EventObjects(
        lep_pt=lep[0], lep_eta=lep[1], lep_phi=lep[2], lep_charge=lep[3], lep_flavour=lep[4],
        lep_iso_ch=lep[5], lep_iso_neu=lep[6], lep_iso_ph=lep[7],
        jet_pt=jets[0], jet_eta=jets[1], jet_phi=jets[2], jet_mass=jets[3], jet_btag=jets[4],
        pho_pt=pho[0], pho_eta=pho[1], pho_phi=pho[2],
        met=np.hypot(mx, my), met_phi=np.arctan2(my, mx),
        n_charged_hadrons=n_ch, n_neutral_hadrons=n_neu,
    )
    return ev, trig, accepted


def _mismeasurement(pt, pt_true, ok, phi):
    """Per event, the vector sum (x, y) of reconstructed minus true pT of the reconstructed objects."""
    d = pt - np.where(ok, pt_true, 0.0)
    return (d * np.cos(phi)).sum(1), (d * np.sin(phi)).sum(1)


def _stack_leptons(lc, n):
    """Stacked true pT, eta, presence and electron flags of every lepton column, for all n events."""
    everything = slice(None)
    pt_t = _stack([c[0] for c in lc], everything, n)
    eta = _stack([c[1] for c in lc], everything, n)
    present = _stack([c[5] for c in lc], everything, n) > 0
    is_e = _stack([c[4] for c in lc], everything, n) == 11
    return pt_t, eta, present, is_e


def _lepton_decisions(t: _Truth, rng):
    """Smeared pT, reconstruction mask, isolations and the per-event (accepted, triggered) of all t.n events."""
    lc, n = t.lep_cols, t.n
    pt_t, eta, present, is_e = _stack_leptons(lc, n)
    accepted = (present & (pt_t > TRIGGER_PT) & (np.abs(eta) < TRIGGER_ABS_ETA)).any(1)
    pt = pt_t * (1.0 + np.where(is_e, 0.02, 0.015) * rng.standard_normal(pt_t.shape))
    ok = present & (pt > 5.0) & (np.abs(eta) < 2.5)
    # isolation: absolute prompt (UE / pile-up) cone sums unless the process provided relative values
    inv = 1.0 / np.maximum(pt, 1e-9)
    iso = [rng.exponential(s, pt.shape) * inv for s in (1.0, 0.6, 0.8)]
    for i, c in enumerate(lc):
        if c[6] is not None:
            for j in range(3):
                iso[j][:, i] = c[6][j]
    online = rng.random(pt.shape) < np.where(is_e, ONLINE_LEPTON_EFFICIENCY[11], ONLINE_LEPTON_EFFICIENCY[13])
    # (compare in float32, the stored precision, so that stored events pass exactly)
    fires = ok & (pt.astype(np.float32) > TRIGGER_PT) & (np.abs(eta) < TRIGGER_ABS_ETA)
    fires &= (np.where(ok, iso[0], 0.0).astype(np.float32) < TRIGGER_REL_ISO_CH) & online
    return dict(pt=pt, pt_t=pt_t, eta=eta, ok=ok, iso=iso, accepted=accepted, triggered=accepted & fires.any(1))


def _reco_leptons(t: _Truth, rng):
    """Lepton smearing and the stream decision (all events), then the leptons of the selected events.

    Returns (stream mask, acceptance mask, indices of the selected events, the N_LEPTONS-slot lepton arrays,
    (mismeasurement x, y, sum ET) of the leptons)."""
    lc, n = t.lep_cols, t.n
    d = _lepton_decisions(t, rng)
    trig = d["triggered"]
    sel = np.flatnonzero(trig)
    pt, pt_t, eta, ok = d["pt"][sel], d["pt_t"][sel], d["eta"][sel], d["ok"][sel]
    iso = [a[sel] for a in d["iso"]]
    pt = np.where(ok, pt, 0.0)
    phi = _stack([c[2] for c in lc], sel, n)
    charge = _stack([c[3] for c in lc], sel, n)
    flav = _stack([c[4] for c in lc], sel, n)
    mis_x, mis_y = _mismeasurement(pt, pt_t, ok, phi)
    f32, i8 = np.float32, np.int8
    lep = _top_k(pt, N_LEPTONS, [pt.astype(f32), np.where(ok, eta, 0.0).astype(f32),
                                 np.where(ok, phi, 0.0).astype(f32), np.where(ok, charge, 0).astype(i8),
                                 np.where(ok, flav, 0).astype(i8), *[np.where(ok, a, 0.0).astype(f32) for a in iso]])
    return trig, d["accepted"], sel, lep, (mis_x, mis_y, pt.sum(1))


def stream_decisions(process: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Generate n events of ``process`` *before* any selection and return the per-event (accepted, triggered)
    boolean arrays of the single-lepton stream (see the constants above); used to measure acceptance and
    trigger efficiency (:mod:`data.validation`)."""
    fill = _process_function(process)
    t = _Truth(int(n), rng)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fill(t, rng)
        d = _lepton_decisions(t, rng)
    return d["accepted"], d["triggered"]


def _reco_jets(t: _Truth, sel, rng):
    """Jets of the triggered events: smearing, acceptance, mass, b-tag.  Returns the N_JETS-slot arrays and
    (mismeasurement x, y, HT)."""
    jc, n = t.jet_cols, t.n
    jpt_t = _stack([c[0] for c in jc], sel, n)
    jeta = _stack([c[1] for c in jc], sel, n)
    jphi = _stack([c[2] for c in jc], sel, n)
    jflav = _stack([c[3] for c in jc], sel, n)
    jpres = _stack([c[4] for c in jc], sel, n) > 0
    jpt = jpt_t * (1.0 + 0.10 * rng.standard_normal(jpt_t.shape))
    jok = jpres & (jpt > 20.0) & (np.abs(jeta) < 4.7)
    jpt = np.where(jok, jpt, 0.0)
    mis_x, mis_y = _mismeasurement(jpt, jpt_t, jok, jphi)
    jmass = jpt * rng.uniform(0.05, 0.2, jpt.shape)
    is_tau = jflav == 15
    if is_tau.any():
        jmass = np.where(is_tau, rng.uniform(0.5, 1.7, jpt.shape), jmass)
    eff = np.where(jflav == 5, 0.7, np.where(jflav == 4, 0.1, np.where(is_tau, 0.03, 0.01)))
    btag = (rng.random(jpt.shape) < eff) & (np.abs(jeta) < 2.5) & jok
    f32 = np.float32
    jets = _top_k(jpt, N_JETS, [jpt.astype(f32), np.where(jok, jeta, 0.0).astype(f32),
                                np.where(jok, jphi, 0.0).astype(f32), np.where(jok, jmass, 0.0).astype(f32),
                                btag.view(np.int8)])
    return jets, (mis_x, mis_y, jpt.sum(1))


def _reco_photons(n_extra_photons: float, m: int, rng):
    """Extra soft photons (ISR / pi0 / FSR) in m events: Poisson number, power-law pT.  Returns the
    N_PHOTONS-slot arrays and (mismeasurement x, y, sum ET)."""
    n_pho = rng.poisson(n_extra_photons, m)
    ppt_t = power_law((m, N_PHOTONS), 8.0, 4.0, rng)
    peta = rng.uniform(-3.0, 3.0, (m, N_PHOTONS))
    pphi = rng.uniform(-np.pi, np.pi, (m, N_PHOTONS))
    ppt = ppt_t * (1.0 + 0.02 * rng.standard_normal((m, N_PHOTONS)))
    pok = (n_pho[:, None] > np.arange(N_PHOTONS)) & (ppt > 10.0) & (np.abs(peta) < 2.5)
    ppt = np.where(pok, ppt, 0.0)
    mis_x, mis_y = _mismeasurement(ppt, ppt_t, pok, pphi)
    pho = _top_k(ppt, N_PHOTONS, [ppt, np.where(pok, peta, 0.0), np.where(pok, pphi, 0.0)])
    return pho, (mis_x, mis_y, ppt.sum(1))


# ------------------------------------------------------------------------------------------------
_MAX_CHUNK = 131_072  # events per generation chunk (bounded temporaries: much faster than huge arrays)


def _process_function(process: str):
    if process not in _PROCESSES:
        raise ValueError(
            f"unknown process {process!r}; valid names: SM {list(SM_PROCESSES)}, BSM {list(BSM_SIGNALS)}"
        )
    return _PROCESSES[process]


def generate(process: str, n: int, rng: np.random.Generator, counts: dict | None = None) -> EventObjects:
    """n triggered events of one process (a key of SM_PROCESSES or BSM_SIGNALS); oversample and select.

    ``counts``, if given, is incremented with the events generated to produce them (every event of every chunk,
    the unused tail of the last one included): keys ``generated``, ``accepted``, ``triggered``, the stream's two
    decisions as in :func:`stream_decisions`.  Counting draws no random numbers: the events are the same with or
    without it."""
    fill = _process_function(process)
    n = int(n)
    if n < 0:
        raise ValueError(f"generate: n must be >= 0, got {n}")
    eff = _EFF_GUESS[process]
    parts: list[EventObjects] = []
    have = 0
    tries = 0
    while have < n:
        need = n - have
        m = int(min(max(need / eff * 1.1 + 64, 256), _MAX_CHUNK))
        t = _Truth(m, rng)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            fill(t, rng)
            ev, trig, accepted = _reconstruct(t, rng)
        if counts is not None:
            for key, v in (("generated", m), ("accepted", int(np.count_nonzero(accepted))),
                           ("triggered", int(np.count_nonzero(trig)))):
                counts[key] = counts.get(key, 0) + v
        k = len(ev)
        eff = max(k / m, 1e-3)
        if k:
            parts.append(ev if k <= need else ev.head(need))
            have += min(k, need)
        tries += 1
        if tries > 10_000:
            raise RuntimeError(f"generate({process!r}): trigger efficiency too small to produce {n} events")
    if not parts:
        return EventObjects.empty(0)
    return parts[0] if len(parts) == 1 else EventObjects.concatenate(parts)


def generate_sm_cocktail(n: int, rng: np.random.Generator) -> tuple[EventObjects, np.ndarray]:
    """SM mixture by SM_PROCESSES fractions (multinomial counts), shuffled; labels index list(SM_PROCESSES)."""
    names = list(SM_PROCESSES)
    frac = np.array([SM_PROCESSES[k][0] for k in names])
    counts = rng.multinomial(int(n), frac / frac.sum())
    evs = [generate(name, int(c), rng) for name, c in zip(names, counts)]
    labels = np.repeat(np.arange(len(names), dtype=np.int32), counts)
    perm = rng.permutation(int(n))
    # shuffled[i] = concatenated[perm[i]], done as one scatter per process instead of concatenate + gather
    dest = np.empty(int(n), np.intp)
    dest[perm] = np.arange(int(n))
    out = EventObjects.empty(int(n))
    start = 0
    for ev in evs:
        idx = dest[start:start + len(ev)]
        for name in OBJECT_FIELDS:
            getattr(out, name)[idx] = getattr(ev, name)
        start += len(ev)
    return out, labels[perm]
