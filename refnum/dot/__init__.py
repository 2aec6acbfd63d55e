"""Accumulators and dot-product models, with the hardware presets as data tables."""
