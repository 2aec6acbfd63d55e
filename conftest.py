"""Collection rules for the whole repository: refnum/array.py is the optional numpy
path, so its doctests are not collected where numpy is missing (importing it fails)."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("numpy") else ["refnum/array.py"]
