"""``python -m pipelines.cli``: the ``streamwise`` console script, run as a module."""

import sys

from pipelines.cli import main

sys.exit(main())
