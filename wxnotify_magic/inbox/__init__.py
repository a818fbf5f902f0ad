"""Local inbox: an emulator of the push services' HTTP APIs for demos, notebooks and tests.

Start one with ``Inbox().start()`` (or ``with Inbox() as inbox:``), point clients at it with
``WXNOTIFY_API_BASE=inbox.url``, then read ``inbox.messages``.
From a shell: ``python -m wxnotify_magic.inbox``.
"""

from .server import FAULT_PARAMS, SERVICE_NAMES, Inbox, main

__all__ = ["FAULT_PARAMS", "SERVICE_NAMES", "Inbox", "main"]
