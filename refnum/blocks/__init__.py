"""Shared-exponent blocks: k elements sharing one scale (OCP MX v1.0, NVFP4, BFP, DFP, FP8 recipes).

Schemes are data (:mod:`refnum.blocks.schemes`), scale rules exact
(:mod:`refnum.blocks.scale`), and every element passes through refnum's one
projection step (:mod:`refnum.blocks.quantize`).  Dynamic fixed-point arithmetic
is :mod:`refnum.blocks.dfp`.
"""

from .quantize import Block, blocks_of, dequantize, quantize, quantize_tensor, requantize
from .schemes import SCHEMES, Scheme, scheme

__all__ = ["Block", "SCHEMES", "Scheme", "blocks_of", "dequantize", "quantize", "quantize_tensor", "requantize",
           "scheme"]
