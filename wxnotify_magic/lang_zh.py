"""Chinese (简体中文) entries of the language table, keyed by the English text (see ``i18n.py``)."""

from __future__ import annotations

ZH: dict[str, str] = {
}
