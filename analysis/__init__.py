"""Physics analysis of scores: working points by rate, efficiencies, cross-sections, reports (no TensorFlow)."""
