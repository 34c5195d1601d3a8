"""Interrupted and concurrent rebuilds never lose the good project (the issue's items 1, 2 and 5).
Each scenario rebuilds the small cli_run project with a cached model (~35 s each)."""

import shutil
import signal

import pytest

from benchmarks.reliability_matrix import project_state, run_interrupt_scenario


@pytest.fixture()
def good_project(cli_run, tmp_path):
    rc, proj, tmp = cli_run
    assert rc == 0
    p = tmp_path / "P"
    shutil.copytree(proj, p)  # projects are relocatable: the C-sim finds its weights beside itself
    return p, tmp / "cache"


@pytest.mark.slow
def test_ctrl_c_after_csim_exits_130_keeps_project_and_refuses_concurrent_build(good_project):
    p, cache = good_project
    r = run_interrupt_scenario(p, cache, signal.SIGINT, concurrent=True)
    assert r["signalled"] and r["rc"] == 130, r["stderr"][-2000:]
    lines = [l for l in r["stderr"].splitlines() if l.strip() and not l.startswith(("WARNING", "I0000"))]
    assert "Traceback" not in r["stderr"] and len([l for l in lines if l.startswith("interrupted:")]) == 1
    assert not r["lost"] and r["staging_left"] == []
    c = r["concurrent"]
    assert c["rc"] == 2 and "is writing into it" in c["message"] and "pid" in c["message"]


@pytest.mark.slow
def test_sigkill_keeps_project_and_the_next_build_cleans_up(good_project):
    from hls.transaction import ProjectTransaction

    p, cache = good_project
    before = project_state(p)
    r = run_interrupt_scenario(p, cache, signal.SIGKILL)
    assert r["signalled"] and r["rc"] == -signal.SIGKILL and not r["lost"]
    assert len(r["staging_left"]) == 1
    msgs = []
    with ProjectTransaction(p, say=msgs.append):
        pass
    assert any("removed the stale temporary directory" in m for m in msgs)
    assert not list(p.parent.glob(".P.building-*")) and project_state(p) == before
