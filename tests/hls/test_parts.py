import pytest

from hls.parts import PARTS, find_part, lookup_part


def test_part_lookup_and_percent():
    p = lookup_part("xcvu13p-flga2577-2-e")
    assert (p.LUT, p.FF, p.DSP, p.BRAM) == (1_728_000, 3_456_000, 12_288, 2_688)
    assert lookup_part("xcvu9p-flga2104-2L-e").LUT == 1_182_240
    assert lookup_part("xc7vx690tffg1927-2").DSP == 3_600 and lookup_part("xc7vx690t").family == "xc7"
    assert p.percent({"LUT": 17_280, "DSP": None}) == {"LUT": 1.0}
    assert all(part.source for part in PARTS.values())


def test_unknown_part_is_a_clear_error():
    with pytest.raises(ValueError, match="not in the part table.*hls/parts.py"):
        lookup_part("xcku115-flvb2104-2-e")
    assert find_part("xcku115") is None
