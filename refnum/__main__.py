"""``python -m refnum``: the same command as the ``refnum`` console script."""

import sys

from .cli import main

sys.exit(main())
