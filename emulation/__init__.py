"""Emulators of the firmware (behind ``predict(x) -> ndarray[n, n_out]``) and agreement metrics."""
