import pytest

from hls.config import HLSConfig, IOType, Strategy, check_reuse_factor, valid_reuse_factors


def test_valid_reuse_factors_match_hls4ml_rule():
    assert valid_reuse_factors(4, 1) == [1, 2, 4]
    # rf < n_in must divide n_in and n_in*n_out; rf >= n_in must be a multiple of n_in dividing n_in*n_out
    assert valid_reuse_factors(21, 32)[:7] == [1, 3, 7, 21, 42, 84, 168]
    assert 2 not in valid_reuse_factors(21, 32)


def test_check_reuse_factor_lists_choices():
    with pytest.raises(ValueError, match=r"(?s)layer d1 \(21x32\).*valid for all layers: \[1\]") as e:
        check_reuse_factor(5, {"d1": (21, 32), "d2": (4, 1)})
    assert "d2" in str(e.value)
    check_reuse_factor(2, {"d1": (16, 32), "d2": (4, 1)})


def test_config_roundtrip_and_validation():
    c = HLSConfig(reuse_factor=2, strategy=Strategy.RESOURCE)
    assert HLSConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError):
        HLSConfig(clock_period_ns=0)
    with pytest.raises(ValueError):
        Strategy.parse("fast")
    with pytest.raises(ValueError):
        IOType.parse("io_stream")
