"""``python -m wxnotify_magic`` is the ``wxnotify`` command line."""

import sys

from .cli import main

sys.exit(main())
