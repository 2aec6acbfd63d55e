"""Test vectors: function names, TestFloat lines, case generation and the conformance suite.

* :mod:`.functions` parses TestFloat function names (``f32_to_f16``, ``e4m3_to_bf16``);
* :mod:`.lines` reads and writes TestFloat vector lines;
* :mod:`.cases` generates operands (exhaustive for <= 16 bits, TestFloat-style patterns otherwise);
* :mod:`.suite` writes the published conformance corpus.

Modules are imported on demand; this package imports nothing eagerly.
"""
