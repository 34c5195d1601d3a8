"""Markdown and number formatting shared by the report writers: report.md of a build (analysis/report.py), of an
imported legacy model (analysis/import_report.py) and of the CWoLa hunt (analysis/cwola_report.py), the
latency/resources section (analysis/budgets.py) and the QKeras-vs-HGQ2 comparison (analysis/compare.py).

Imports nothing of the project (so every report module can import it without cycles); no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class _Blank:
    """A table cell left empty (``| |``); an empty string cell is written ``|  |``."""

    def __repr__(self) -> str:
        return "BLANK"


BLANK = _Blank()


def fmt(v, nd: int = 4) -> str:
    """``n/a`` for None, a float with ``nd`` significant digits, anything else as ``str``."""
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{nd}g}"
    return str(v)


def fmt_rate(hz: float) -> str:
    """A rate in mHz, Hz or kHz with 3 significant digits."""
    return f"{hz * 1e3:.3g} mHz" if hz < 1 else (f"{hz:.3g} Hz" if hz < 1e3 else f"{hz / 1e3:.3g} kHz")


def table_row(cells: Iterable) -> str:
    """``| a | b |`` (each cell formatted as an f-string would; :data:`BLANK` gives ``| |``)."""
    return "|" + "".join(" |" if c is BLANK else f" {c} |" for c in cells)


def table(header: Sequence, rows: Iterable[Iterable] = ()) -> list[str]:
    """The lines of a markdown table: the header row, the ``|---|`` separator, one line per row of cells."""
    return [table_row(header), "|" + "---|" * len(header), *(table_row(r) for r in rows)]


def code_section(title: str, obj) -> list[str]:
    """``## title``, then ``str(obj)`` in a fenced block."""
    return [f"## {title}", "", "```", str(obj), "```"]


def project_line(hls: dict) -> str:
    """``Project: `dir` (backend, part, clock, io type, strategy, reuse factor N)`` (no final punctuation)."""
    return (f"Project: `{hls['project_dir']}` ({hls['backend']}, part {hls['part']}, clock {hls['clock_period_ns']} ns, "
            f"{hls['io_type']}, {hls['strategy']}, reuse factor {hls['reuse_factor']})")


def checks_line(checks: dict) -> str:
    """``Checks: **PASSED** `` or ``**FAILED** `` followed by the failures."""
    return f"Checks: **{'PASSED' if checks['passed'] else 'FAILED'}** " + "; ".join(checks["failures"])


def saturation_md(sat: dict) -> str:
    """Table of the fraction (count) of events with any value out of range, per quantizer layer and sample."""
    if not sat:
        return "No quantizer layers found.\n"
    samples = list(next(iter(sat.values()))["samples"])

    def row(name: str, d: dict) -> list[str]:
        cells = [f"{d['samples'][s]['frac_events']:.3g} ({d['samples'][s]['events_out_of_range']})" for s in samples]
        return [name, f"`{d['precision']}`", *cells]

    return "\n".join(table(["layer", "precision", *samples], (row(name, d) for name, d in sat.items()))) + "\n"


SATURATION_TITLE = "Saturation / wrap per quantizer layer (fraction of events with any value out of range, count)"


def saturation_section(sat: dict, source: str, title: str = SATURATION_TITLE) -> list[str]:
    """``## title``, ``Source: ...``, the :func:`saturation_md` table."""
    return [f"## {title}", "", f"Source: {source}", "", saturation_md(sat)]
