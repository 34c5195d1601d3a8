"""Resource totals of the FPGAs in use, for "% of the part" and the budgets.

Totals (LUT = CLB LUTs, FF = CLB flip-flops, DSP = DSP slices, BRAM = 36 Kb block RAM tiles, URAM =
288 Kb UltraRAM blocks), from the vendor data sheets:

- Virtex-7 XC7VX690T: Xilinx DS180 "7 Series FPGAs Data Sheet: Overview", Virtex-7 XT table
  (108,300 slices x 4 LUTs = 433,200 LUTs, 866,400 FFs, 3,600 DSP48E1, 1,470 x 36 Kb BRAM). CMS Phase-1
  L1 trigger boards (CTP7, MP7).
- Virtex UltraScale+ XCVU9P: Xilinx DS890 "UltraScale Architecture and Product Data Sheet: Overview",
  Virtex UltraScale+ table (1,182,240 LUTs, 2,364,480 FFs, 6,840 DSP48E2, 2,160 x 36 Kb BRAM, 960 URAM).
  The same totals are used by public hls4ml studies for the VCU118 board.
- Virtex UltraScale+ XCVU13P: DS890, same table (1,728,000 LUTs, 3,456,000 FFs, 12,288 DSP48E2,
  2,688 x 36 Kb BRAM, 1,280 URAM). CMS Phase-2 L1 trigger boards (APx, Serenity).

``family`` is the yosys ``synth_xilinx -family`` of the part.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Part:
    name: str  # device, without package/speed grade
    family: str  # yosys synth_xilinx -family
    LUT: int
    FF: int
    DSP: int
    BRAM: int  # 36 Kb blocks
    URAM: int
    source: str

    def to_dict(self) -> dict:
        return asdict(self)

    def percent(self, counts: dict) -> dict:
        """{resource: percent of the part} for every resource of ``counts`` that is not None."""
        out = {}
        for k in ("LUT", "FF", "DSP", "BRAM"):
            v = counts.get(k)
            if v is not None:
                out[k] = 100.0 * float(v) / getattr(self, k)
        return out


_DS180 = "Xilinx DS180 (7 Series FPGAs Data Sheet: Overview), Virtex-7 XT device table"
_DS890 = "Xilinx DS890 (UltraScale Architecture and Product Data Sheet: Overview), Virtex UltraScale+ device table"

PARTS: dict[str, Part] = {
    p.name: p
    for p in (
        Part("xc7vx690t", "xc7", 433_200, 866_400, 3_600, 1_470, 0, _DS180),
        Part("xcvu9p", "xcup", 1_182_240, 2_364_480, 6_840, 2_160, 960, _DS890),
        Part("xcvu13p", "xcup", 1_728_000, 3_456_000, 12_288, 2_688, 1_280, _DS890),
    )
}


def lookup_part(part: str) -> Part:
    """The table entry of a full part name such as ``xcvu13p-flga2577-2-e`` (package and speed ignored)."""
    key = part.lower().strip()
    for name in sorted(PARTS, key=len, reverse=True):
        if key.startswith(name):
            return PARTS[name]
    raise ValueError(
        f"part {part!r} is not in the part table (known: {', '.join(sorted(PARTS))}); percentages and LUT "
        "budgets need one of them: add the device's totals to hls/parts.py with the data-sheet source"
    )


def find_part(part: str) -> Part | None:
    try:
        return lookup_part(part)
    except ValueError:
        return None
