"""``python -m wxnotify_magic.inbox [--host H] [--port N] [--quiet]``."""

from .server import main

raise SystemExit(main())
