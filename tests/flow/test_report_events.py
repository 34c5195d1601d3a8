"""Every report says where its events come from (flow/report.py); the generator-validation table renders."""

from flow.report import _state_events_in_md, events_statement


def test_events_statement_synthetic_and_user():
    s = events_statement({"generator": "hlt-objects-2", "source": "generated"})
    assert "synthetic" in s and "not LHC data" in s and "hlt-objects-2" in s
    u = events_statement({"source": "/x/ev.h5"})
    assert "/x/ev.h5" in u and "synthetic" not in u


def test_statement_goes_under_the_title(tmp_path):
    md = tmp_path / "report.md"
    md.write_text("# Firmware report: vae21\n\nbody\n")
    _state_events_in_md(md, "The events are synthetic.")
    lines = md.read_text().split("\n")
    assert lines[0] == "# Firmware report: vae21" and lines[2] == "**Events:** The events are synthetic."
    assert "body" in lines
    _state_events_in_md(tmp_path / "missing.md", "x")  # no report.md: nothing to do, no error
