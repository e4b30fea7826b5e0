"""``python -m jacchain``: the same as the ``jacchain`` command."""

import sys

from .cli.main import main

sys.exit(main())
