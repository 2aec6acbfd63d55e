"""Accumulators and dot products: the floating-point models (:mod:`refnum.dot.models`) and the
hardware presets as a data table (:mod:`refnum.dot.presets`).  Integer accumulators live in
``refnum.dot.integer``."""
