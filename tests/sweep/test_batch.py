"""Sweeps on batch clusters (sweep/batch.py): the SLURM / HTCondor job scripts dask-jobqueue would submit, the
command line that prints them, and (with a stand-in ``sbatch`` that runs the script here) a worker job that
really connects back to the sweep's scheduler.  ~15 s."""

import os
import stat
import sys

import pytest

pytest.importorskip("dask_jobqueue")

import build_hls  # noqa: E402
from sweep.batch import BatchOptions, ClusterKind, job_script, start  # noqa: E402


def test_slurm_job_script():
    s = job_script(BatchOptions(kind="slurm", queue="short", account="cms", memory="6GB", walltime="01:30:00",
                                job_extra=("--constraint=x86",), prologue=("source /shared/lhc/.venv/bin/activate",),
                                python="/shared/lhc/.venv/bin/python"))
    lines = s.splitlines()
    for want in ("#SBATCH -p short", "#SBATCH -A cms", "#SBATCH -t 01:30:00", "#SBATCH --constraint=x86",
                 "source /shared/lhc/.venv/bin/activate"):
        assert want in lines, want
    assert any(l.startswith("#SBATCH --mem=") for l in lines)
    worker = [l for l in lines if "distributed.cli.dask_worker" in l]
    assert len(worker) == 1 and worker[0].startswith("/shared/lhc/.venv/bin/python -m distributed.cli.dask_worker tcp://")
    assert "--nthreads 1" in worker[0]
    assert lines.index("source /shared/lhc/.venv/bin/activate") < lines.index(worker[0])


def test_htcondor_submit_file():
    s = job_script(BatchOptions(kind="htcondor", memory="4GB", disk="2GB", job_extra=('+JobFlavour="workday"',),
                                prologue=("source /afs/x/.venv/bin/activate",)))
    assert '+JobFlavour = "workday"' in s
    assert "MY.DaskWorkerMemory = 4000000000" in s and "MY.DaskWorkerDisk = 2000000000" in s
    args = next(l for l in s.splitlines() if l.startswith("Arguments"))
    assert "source /afs/x/.venv/bin/activate; " in args and "distributed.cli.dask_worker" in args


def test_options_are_validated():
    with pytest.raises(ValueError, match=r"--cluster 'pbs': choose one of \['local', 'slurm', 'htcondor'\]"):
        BatchOptions(kind="pbs")
    with pytest.raises(ValueError, match="HTCondor submit-file lines are KEY=VALUE"):
        BatchOptions(kind="htcondor", job_extra=("JobFlavour",))
    with pytest.raises(ValueError, match="--jobs and --job-cores must be >= 1"):
        BatchOptions(kind="slurm", jobs=0)
    assert BatchOptions().kind is ClusterKind.LOCAL


def test_cli_prints_the_job_script_and_documents_the_option(capsys):
    assert build_hls.main(["sweep", "--cluster", "slurm", "--job-queue", "gpu", "--print-job-script"]) == 0
    assert "#SBATCH -p gpu" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        build_hls.main(["sweep", "--help"])
    out = capsys.readouterr().out
    assert "--cluster {local,slurm,htcondor}" in out and "--print-job-script" in out


@pytest.mark.slow
def test_a_submitted_worker_job_connects(tmp_path, monkeypatch):
    """A stand-in ``sbatch`` on PATH runs the job script in the background (as SLURM would on a node): the worker
    it starts joins the scheduler that start() made; ``scancel`` stops it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    job = tmp_path / "job.sh"  # dask-jobqueue deletes its temporary script once submitted: keep a copy
    (bin_dir / "sbatch").write_text(f"#!/bin/bash\ncp \"$1\" {job}\nsetsid bash {job} > {job}.log 2>&1 &\n"
                                    f"echo $! > {tmp_path}/job.pid\necho 'Submitted batch job 4242'\n")
    (bin_dir / "scancel").write_text(f"#!/bin/bash\nkill -- -$(cat {tmp_path}/job.pid) 2>/dev/null; exit 0\n")
    for f in bin_dir.iterdir():
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cluster, client = start(BatchOptions(kind="slurm", jobs=1, python=sys.executable, wait_s=120), log=lambda m: None)
    try:
        assert len(client.scheduler_info()["workers"]) == 1
        assert client.submit(lambda: 6 * 7).result(timeout=60) == 42
    finally:
        client.close()
        cluster.close()
