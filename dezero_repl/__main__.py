"""``python -m dezero_repl``: the same as the ``dezero-repl`` command."""

import sys

from dezero_repl.cli import main

sys.exit(main())
