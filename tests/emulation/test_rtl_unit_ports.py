"""The RTL path refuses, before the Verilator compile, a model whose ports da4ml 0.6's binder cannot read."""

from types import SimpleNamespace

import numpy as np
import pytest

from emulation.rtl import MAX_SIM_PORT_BITS, check_simulable


def _comb(out_bits, in_bits):
    # da4ml's CombLogic.out_kifs / inp_kifs: rows (keep_negative, integer, fractional), one column per port
    return SimpleNamespace(out_kifs=np.array([[1] * len(out_bits), [b - 1 for b in out_bits], [0] * len(out_bits)]),
                           inp_kifs=np.array([[1] * len(in_bits), [b - 1 for b in in_bits], [0] * len(in_bits)]))


def test_ports_up_to_32_bits_pass_and_wider_ones_are_named():
    check_simulable(_comb([MAX_SIM_PORT_BITS], [9] * 21))  # 32 bits: fine
    with pytest.raises(ValueError, match=r"its output is 38 bits wide .* at most 32 bits per port.*--score mu2"):
        check_simulable(_comb([38], [9] * 21))  # vae21's reco score, measured: 1 + 23 + 14 bits
    with pytest.raises(ValueError, match=r"its input is 40 bits wide"):
        check_simulable(_comb([16], [9, 40]))
