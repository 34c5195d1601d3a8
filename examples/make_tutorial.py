"""Writes examples/tutorial.ipynb (the notebook is generated from this file so that its source is reviewable;
run ``python examples/make_tutorial.py`` after editing).  Outputs are not stored: run it in Jupyter."""

from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("# Tutorial: anomaly-detection trigger firmware from Python\n\n"
       "Build the `vae21` HLT anomaly detector into an hls4ml project, read its report and figures, run the "
       "firmware's arithmetic on new events, and sweep the reuse factor.  Everything here runs on a laptop: "
       "event counts are reduced (set `TUTORIAL_SCALE` to `full` for the defaults).  The events are synthetic "
       "(the toolkit's own simulation), hence the *Simulation* labels on the figures."),
    code("import os\nfrom pathlib import Path\n\n"
         "FULL = os.environ.get('TUTORIAL_SCALE', 'small') == 'full'\n"
         "WORK = Path(os.environ.get('TUTORIAL_DIR', 'tutorial_output')).resolve()\n"
         "CACHE = Path(os.environ.get('TUTORIAL_CACHE', WORK / 'cache'))\n"
         "N = dict(n_train=150_000, n_signal=50_000) if FULL else dict(n_train=4000, n_signal=2000, n_test_bkg=20000)\n"
         "print(WORK, N)"),
    md("## 1. A build configuration file\n\n"
       "The same keys as `build_hls.py --config build.yml`: hls4ml's `Model` / `LayerName` settings for the "
       "firmware (here the first dense layer with reuse factor 3 and 6-bit weights; the bit-exact flow takes types "
       "from the quantizers, so a per-layer `Precision` replaces that layer's quantizers), and the toolkit's own "
       "sections for data, working points and tolerances."),
    code("import yaml\n\n"
         "build_yml = {\n"
         "    'model': 'vae21',\n"
         "    'output': str(WORK / 'vae21'),\n"
         "    'data': {**N, 'cache_dir': str(CACHE)},\n"
         "    'training': {'epochs': None if FULL else 2},\n"
         "    'working_points': {'fpr': [] if FULL else [1e-3]},\n"
         "    'tolerances': {'min_spearman': 0.98 if FULL else 0.5},\n"
         "    'hls4ml': {'Model': {'ReuseFactor': 1, 'Strategy': 'Latency'},\n"
         "               'LayerName': {'enc_dense1': {'ReuseFactor': 3, 'Precision': {'weight': 'ap_fixed<6,1>'}}}},\n"
         "}\n"
         "WORK.mkdir(parents=True, exist_ok=True)\n"
         "(WORK / 'build.yml').write_text(yaml.safe_dump(build_yml, sort_keys=False))\n"
         "print((WORK / 'build.yml').read_text())"),
    md("## 2. Build\n\n`lhc_trigger.build` runs the whole flow (data, training or the cached model, hls4ml "
       "conversion and C-simulation compile, bit-exact emulation, agreement checks, physics, report) and returns "
       "a `BuildResult`."),
    code("import lhc_trigger as lt\n\n"
         "res = lt.build(WORK / 'build.yml')\n"
         "print('checks passed:', res.ok)\n"
         "print('project:', res.project_dir)"),
    md("## 3. The report\n\n`res.report` is `report.json` as a dict; `res.summary` the printed summary."),
    code("print(res.summary)"),
    code("rep = res.report\n"
         "agree = rep['agreement']['emulator_vs_keras']\n"
         "print(f\"emulator vs quantized Keras: {agree['n_mismatched']} mismatched of {agree['n_events']} events\")\n"
         "print('per-layer settings in the project:', rep['hls']['layers'])\n"
         "print('estimate:', {k: rep['latency']['hls_estimate'][k] for k in ('cycles', 'ii')})\n"
         "print('figures:', [p.name for p in res.plots])"),
    code("from IPython.display import Image, display\n\n"
         "for name in ('efficiency_vs_rate.png', 'score_distributions.png'):\n"
         "    display(Image(filename=str(res.project_dir / 'report' / name)))"),
    md("## 4. The firmware's arithmetic on new events\n\n`res.emulator.predict(x)` takes raw features (the "
       "project's standardisation is applied first, as upstream of the input port) and returns the firmware's "
       "score, bit for bit.  Here: 2000 freshly generated SM events, also run through the project's compiled "
       "hls4ml C-simulation."),
    code("import numpy as np\n"
         "from data.features import compute_hlt21\n"
         "from data.generator import generate_sm_cocktail\n\n"
         "events, _ = generate_sm_cocktail(2000, np.random.default_rng(2024))\n"
         "x_new = compute_hlt21(events)\n"
         "scores = res.emulator.predict(x_new)[:, 0]\n"
         "csim = lt.ProjectEmulator(res.project_dir, kind='csim').predict(x_new)[:, 0]\n"
         "thr = rep['working_points'][0]['threshold_emulator']\n"
         "print(f'{len(scores)} new events; C-sim == emulator on {np.sum(csim == scores)} of them')\n"
         "print(f\"{np.sum(scores > thr)} above the {rep['working_points'][0]['name']} threshold {thr:g}\")\n"
         "assert np.array_equal(csim, scores)"),
    md("## 5. The firmware regression check\n\n`lt.check` recompiles the C-simulation aside and compares it with "
       "the golden vectors and the saved Keras model (what `build_hls.py check` does in CI)."),
    code("chk = lt.check(res.project_dir)\n"
         "for c in chk.cases:\n"
         "    print('PASS' if c.passed else 'FAIL', c.name, '-', c.message)"),
    md("## 6. A small sweep\n\nTwo precisions applied to the same trained weights (post-training quantization, "
       "so no training): each point is a full build; the table and the Pareto front are written in the sweep "
       "folder."),
    code("from sweep.runner import run_sweep\n"
         "from sweep.spec import SweepSpec\n\n"
         "small = {} if FULL else {'n_test_bkg': N['n_test_bkg'], 'fprs': [1e-3], 'epochs': 2, 'min_spearman': 0.5,\n"
         "                          'csim_events': 5000}\n"
         "spec = SweepSpec(model='vae21', output=WORK / 'sweep', axes={'mode': ('ptq',), 'precision': (6, 8)},\n"
         "                 build={'n_train': N['n_train'], 'n_signal': N['n_signal'], 'cache_dir': str(CACHE), **small})\n"
         "sw = run_sweep(spec)\n"
         "cols = [c for c in ('precision', 'status', 'n_mismatched', 'spearman_float_view', 'LUT[hls_estimate]')\n"
         "        if c in sw.table]\n"
         "print(sw.table[cols].to_string())\n"
         "print(sw.counts)"),
    md("Next: `build_hls.py sweep --cluster slurm ...` runs the same sweep on batch workers (README, *Sweeps on "
       "batch clusters*); `--data events.root` reads ROOT ntuples (`data/root.py`)."),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})
out = Path(__file__).with_name("tutorial.ipynb")
nbf.write(nb, out)
print(f"wrote {out}")
