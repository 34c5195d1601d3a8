"""Sweeps over build configurations (precision, reuse factor, strategy, io_type, clock; QAT or PTQ): a
validated grid, each point in its own process and directory, resumable by configuration hash, a results
table (Parquet + CSV) and the Pareto front.  Entry point: :func:`sweep.runner.run_sweep`."""
