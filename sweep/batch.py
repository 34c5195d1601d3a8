"""Sweeps on batch clusters: SLURM and HTCondor workers through dask-jobqueue (optional extra ``cluster``).

``build_hls.py sweep --cluster slurm --jobs 8 ...`` starts a Dask scheduler in this process, submits ``--jobs``
batch jobs that each run one single-threaded Dask worker, and runs the sweep's points on them exactly as on an
existing cluster (``--scheduler``, :class:`sweep.runner.DaskExecutor`: code shipped as a zip, every worker
probed before any point is submitted).  The sweep folder must be on a filesystem the batch nodes see (shared
home, EOS, AFS), and the workers' Python (``--job-python``, default this one) must have the project's
dependencies.  ``--print-job-script`` prints the script that would be submitted and stops (no scheduler binary
needed).  ``--cluster local`` (default) keeps the local process pool (``--workers``).
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass, field


class ClusterKind(enum.StrEnum):
    LOCAL = "local"
    SLURM = "slurm"
    HTCONDOR = "htcondor"

    @classmethod
    def parse(cls, s) -> "ClusterKind":
        try:
            return cls(str(s).lower())
        except ValueError:
            raise ValueError(f"--cluster {s!r}: choose one of {[m.value for m in cls]}") from None


@dataclass(frozen=True)
class BatchOptions:
    kind: ClusterKind = ClusterKind.LOCAL
    jobs: int = 4  # batch jobs = Dask workers (one single-threaded point at a time each)
    cores: int = 1
    memory: str = "4GB"
    disk: str = "4GB"  # HTCondor RequestDisk
    walltime: str | None = "04:00:00"  # SLURM -t
    queue: str | None = None  # SLURM partition
    account: str | None = None  # SLURM -A
    job_extra: tuple[str, ...] = ()  # SLURM: '--constraint=x86'; HTCondor: '+JobFlavour="workday"'
    prologue: tuple[str, ...] = ()  # shell lines before the worker starts, e.g. 'source /path/.venv/bin/activate'
    python: str = field(default_factory=lambda: sys.executable)
    log_directory: str | None = None
    wait_s: float = 1800.0  # how long to wait for the first worker (jobs may queue)

    def __post_init__(self):
        object.__setattr__(self, "kind", ClusterKind.parse(self.kind))
        if self.jobs < 1 or self.cores < 1:
            raise ValueError(f"--jobs and --job-cores must be >= 1, got {self.jobs} and {self.cores}")
        if self.kind is ClusterKind.HTCONDOR:
            bad = [e for e in self.job_extra if "=" not in e]
            if bad:
                raise ValueError(f"--job-extra {bad}: HTCondor submit-file lines are KEY=VALUE, e.g. "
                                 "'+JobFlavour=\"workday\"'")
        object.__setattr__(self, "job_extra", tuple(self.job_extra))
        object.__setattr__(self, "prologue", tuple(self.prologue))


def _jobqueue():
    try:
        import dask_jobqueue
    except ImportError:
        raise RuntimeError("--cluster slurm/htcondor needs dask-jobqueue: pip install 'lhc-trigger-ad-fpga[cluster]' "
                           "(or pip install dask-jobqueue)") from None
    return dask_jobqueue


def make_cluster(opts: BatchOptions):
    """The dask-jobqueue cluster of ``opts`` (scheduler started here, no job submitted yet)."""
    if opts.kind is ClusterKind.LOCAL:
        raise ValueError("--cluster local runs the local process pool: no batch cluster to make")
    jq = _jobqueue()
    common = dict(cores=opts.cores, processes=1, memory=opts.memory, python=opts.python,
                  job_script_prologue=list(opts.prologue), log_directory=opts.log_directory,
                  scheduler_options={"dashboard_address": None})
    if opts.kind is ClusterKind.SLURM:
        return jq.SLURMCluster(queue=opts.queue, account=opts.account, walltime=opts.walltime,
                               job_extra_directives=list(opts.job_extra), **common)
    extra = dict(e.split("=", 1) for e in opts.job_extra)
    return jq.HTCondorCluster(disk=opts.disk, job_extra_directives=extra, **common)


def job_script(opts: BatchOptions) -> str:
    """The batch script one worker job would run (``sbatch`` script or HTCondor submit file)."""
    cluster = make_cluster(opts)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def start(opts: BatchOptions, log=print):
    """Submit ``opts.jobs`` worker jobs and wait for the first worker; returns (cluster, client)."""
    from distributed import Client

    cluster = make_cluster(opts)
    try:
        cluster.scale(jobs=opts.jobs)
        client = Client(cluster)
        log(f"[sweep] {opts.kind.value}: {opts.jobs} worker job(s) submitted; waiting up to {opts.wait_s:.0f} s "
            "for the first worker")
        client.wait_for_workers(1, timeout=opts.wait_s)
        try:  # the sweep's capacity is the workers present when it starts: give the others a moment
            client.wait_for_workers(opts.jobs, timeout=min(120.0, opts.wait_s))
        except TimeoutError:
            pass
    except BaseException:
        cluster.close()
        raise
    return cluster, client


# ---- the command line (build_hls.py sweep) ------------------------------------------------------------
def add_cli_args(p, positive_int) -> None:
    """The ``build_hls.py sweep`` options of this module."""
    g = p.add_argument_group("batch clusters (dask-jobqueue, the 'cluster' extra; see README, Sweeps on batch clusters)")
    g.add_argument("--cluster", default="local", choices=["local", "slurm", "htcondor"],
                   help="where the points run: local process pool (--workers), or Dask workers submitted as SLURM / "
                        "HTCondor jobs (the sweep folder must be on a filesystem the batch nodes see)")
    g.add_argument("--jobs", type=positive_int, default=4, help="batch jobs to submit (one Dask worker, one point at a time each)")
    g.add_argument("--job-cores", type=positive_int, default=1, help="cores per job")
    g.add_argument("--job-memory", default="4GB", help="memory per job (e.g. 4GB)")
    g.add_argument("--job-disk", default="4GB", help="HTCondor: disk per job")
    g.add_argument("--job-walltime", default="04:00:00", help="SLURM: wall time per job (HH:MM:SS)")
    g.add_argument("--job-queue", help="SLURM partition")
    g.add_argument("--job-account", help="SLURM account (-A)")
    g.add_argument("--job-extra", action="append", default=[],
                   help="extra directive, repeatable: SLURM '--constraint=x86'; HTCondor '+JobFlavour=\"workday\"'")
    g.add_argument("--job-prologue", action="append", default=[],
                   help="shell line run before the worker, repeatable (e.g. 'source /shared/lhc/.venv/bin/activate')")
    g.add_argument("--job-python", default=sys.executable, help="the workers' Python (default: this one)")
    g.add_argument("--job-wait", type=float, default=1800.0, help="seconds to wait for the first worker job to start")
    g.add_argument("--print-job-script", action="store_true", help="print the batch script a job would run and stop")


def options_from_args(args) -> BatchOptions:
    return BatchOptions(kind=args.cluster, jobs=args.jobs, cores=args.job_cores, memory=args.job_memory,
                        disk=args.job_disk, walltime=args.job_walltime, queue=args.job_queue,
                        account=args.job_account, job_extra=tuple(args.job_extra), prologue=tuple(args.job_prologue),
                        python=args.job_python, wait_s=args.job_wait)


def run_sweep_on(spec, args):
    """The sweep on the local pool / --scheduler, or on SLURM / HTCondor workers (--cluster)."""
    from sweep.runner import DaskExecutor, run_sweep

    opts = options_from_args(args)
    if opts.kind is ClusterKind.LOCAL:
        return run_sweep(spec)
    if spec.scheduler:
        raise ValueError("--cluster and --scheduler both choose where the points run: give one")
    cluster, client = start(opts)
    try:
        return run_sweep(spec, executor=DaskExecutor(client, spec.sweep_dir()))
    finally:
        client.close()
        cluster.close()
