"""Model registry, builders, training and deployable parts."""
