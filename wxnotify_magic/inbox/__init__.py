"""Local inbox: an emulator of the push services' HTTP APIs for demos, notebooks and tests.

Start one with ``Inbox().start()`` (or ``with Inbox() as inbox:``), point clients at it with
``WXNOTIFY_API_BASE=inbox.url``, then read ``inbox.messages``.
From a shell: ``python -m wxnotify_magic.inbox``.
"""

from .cli import main
from .faults import FAULT_PARAMS
from .server import Inbox
from .services import SERVICE_NAMES

__all__ = ["FAULT_PARAMS", "SERVICE_NAMES", "Inbox", "main"]
