"""``python -m jacchain``: the same as the ``jacchain`` command."""

import sys

from .cli import main

sys.exit(main())
