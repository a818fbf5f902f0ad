"""``python -m wxnotify_magic.inbox [--host H] [--port N] [--quiet]``."""

from .cli import main

raise SystemExit(main())
