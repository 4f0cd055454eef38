"""``python -m tutorial_utils ...``: see :mod:`tutorial_utils.cli`."""

import sys

from .cli import main

sys.exit(main())
