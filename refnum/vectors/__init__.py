"""Test vectors: function names, TestFloat lines, case generation and the conformance suite.

* :mod:`.functions` parses TestFloat function names (``f32_to_f16``, ``f16_add``, ``e4m3_mul_to_f32``);
* :mod:`.lines` reads and writes TestFloat vector lines;
* :mod:`.cases` generates operands (exhaustive for small formats, TestFloat-style patterns otherwise);
* :mod:`.outputs` writes and reads the output formats tv, memh, jsonl and npz;
* :mod:`.plan` describes files (entries), enumerates their cases and reads suite files;
* :mod:`.suite` writes suites: files, manifests, shards, worker processes, resumption.

Modules are imported on demand; this package imports nothing eagerly.
"""
