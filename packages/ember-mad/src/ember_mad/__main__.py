"""``python -m ember_mad train|benchmark|report ...``: the ``ember mad`` commands."""

import sys

from ._cli import main

sys.exit(main())
