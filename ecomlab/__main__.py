"""``python -m ecomlab`` is the ``ecomlab`` command."""

import sys

from ecomlab.cli import main

sys.exit(main())
