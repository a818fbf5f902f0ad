"""The settings panel of ``%wxnotify config`` (ipywidgets are imported here only, and this module lazily).

Secrets are write-only: a password box holds a typed secret only until Save or Send test, then it is
emptied and shows the redacted value as its placeholder (``AT_…9f2c (saved)``), so the state of the
panel's widgets, and a notebook saved with widget state, never holds a secret.
"""

from __future__ import annotations

import html
import re
import sys
import time
from typing import Any

import ipywidgets as w

from .durations import parse_duration
from .i18n import tr
from .paths import settings_path
from .providers import PROVIDERS, DestinationError, Provider, parse_destination
from .providers.base import Field, redact_value
from .receipts import describe
from .redact import redact_url
from .session import Session
from .settings import NoDestinationError, Route, WxNotify

NAME = re.compile(r"[\w.-]{1,40}")
TEST_WAIT = 5.0  # seconds Send test waits for the receipt
STYLE = {"description_width": "110px"}
WIDE = {"width": "460px"}


def _split(text: str) -> list[str]:
    return [v for v in re.split(r"[\s,;]+", text.strip()) if v]


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value if v] if isinstance(value, list) else ([str(value)] if value else [])


def _duration_text(seconds: float) -> str:
    """300 -> ``5m``, 5400 -> ``1h30m``, 90 -> ``90``."""
    whole = int(seconds)
    if whole != seconds or whole < 60 or whole % 60:
        return f"{seconds:g}"
    hours, minutes = divmod(whole // 60, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")


def _close(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


class Panel:
    """The widgets of the settings panel and what its buttons do; ``.widget`` is the box to display."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.settings = settings = session.settings
        self._pending: dict[tuple[str, str], list[str]] = {}  # secrets typed, moved out of their box, not saved
        self._initial: dict[str, str] = {}
        default = next((t for t in settings.default_to() if t in settings.destinations), "me")
        self.channel = w.Dropdown(options=[(tr(p.label), p.name) for p in PROVIDERS.values()], description="Channel",
                                  style=STYLE)
        self.hint = w.HTML()
        self.fields: dict[str, Any] = {}  # field name -> Text, or Password for a secret
        self.messages: dict[str, w.Label] = {k: w.Label() for k in ("destination", "name", "after", "tail")}
        self.field_box = w.VBox()
        self.name = w.Text(value=default, description="Name", tooltip="use it as --to NAME", style=STYLE)
        self.after = w.Text(value=_duration_text(float(settings.after)), description="Notify after",
                            tooltip="90, 90s, 5m, 1h30m", style=STYLE)
        self.tail = w.IntText(value=settings.tail, description="Output lines", style=STYLE)
        self.on = w.Dropdown(options=["always", "success", "failure"], value=settings.on, description="Notify on",
                             style=STYLE)
        self.notes = {k: w.Label() for k in ("to", "after", "tail", "on")}
        self.save_button = w.Button(description="Save", button_style="primary", icon="save")
        self.test_button = w.Button(description="Send test message", icon="paper-plane", layout={"width": "auto"})
        self.status = w.Label()
        self.saved = w.VBox()
        self.remove_buttons: dict[str, w.Button] = {}
        self._shown = {"after": float(settings.after), "tail": settings.tail, "on": settings.on}
        saved = self._saved_destination(default, any_provider=True)
        self.channel.value = saved.provider.name if saved else "wxpusher"
        self._build_fields()
        self.channel.observe(lambda _: self._build_fields(), "value")
        self.name.observe(self._on_name, "value")
        for widget in (self.after, self.tail, self.on):
            widget.observe(self._changed, "value")
        self.save_button.on_click(self.save)
        self.test_button.on_click(self.send_test)
        row = w.HBox
        self.widget = w.VBox([
            w.HTML("<b>wxnotify settings</b>"), self.channel, self.hint, self.field_box, self.messages["destination"],
            row([self.name, self.messages["name"], self.notes["to"]]),
            row([self.after, self.messages["after"], self.notes["after"]]),
            row([self.tail, self.messages["tail"], self.notes["tail"]]), row([self.on, self.notes["on"]]),
            row([self.save_button, self.test_button]), self.status,
            w.HTML("<b>Saved destinations</b>"), self.saved, w.Label(f"settings file: {settings_path()}"),
        ])

    # -- the channel's fields ----------------------------------------------------------------------------

    @property
    def provider(self) -> Provider:
        return PROVIDERS[self.channel.value]

    def _saved_destination(self, name: str, any_provider: bool = False) -> Any:
        url = self.settings.destinations.get(name)
        try:
            dest = parse_destination(url, name) if url else None
        except DestinationError:
            return None
        return dest if dest and (any_provider or dest.provider.name == self.channel.value) else None

    def _saved_values(self) -> dict[str, list[str]]:
        dest = self._saved_destination(self.name.value.strip())
        return {k: _as_list(v) for k, v in dest.values.items()} if dest else {}

    def _build_fields(self) -> None:
        """(Re)build one box per field of the chosen channel: secret ones as password boxes."""
        for row in self.field_box.children:
            _close(row)
        for name in self.fields:
            del self.messages[name]
        saved, rows, self.fields = self._saved_values(), [], {}
        for f in self.provider.fields:
            box = (w.Password if f.secret else w.Text)(description=tr(f.label), tooltip=tr(f.hint), style=STYLE,
                                                       layout=WIDE)
            if not f.secret:
                box.value = ", ".join(saved.get(f.name, []))
            box.observe(self._changed, "value")
            self.fields[f.name], self.messages[f.name] = box, w.Label()
            rows.append(w.HBox([box, self.messages[f.name]]))
        self._initial = {f.name: self.fields[f.name].value for f in self.provider.fields if not f.secret}
        self.hint.value = f"<small>{html.escape(tr(self.provider.hint))}</small>"
        self.field_box.children = rows
        self._refresh()

    def _values(self, f: Field) -> list[str]:
        """A field's values: typed, else (secrets) typed earlier, else saved under this name."""
        typed = self.fields[f.name].value.strip()
        if typed and "://" in typed:  # a pasted whole URL (e.g. a WeCom webhook): take this field's value from it
            try:
                value = self.provider.parse(typed).values.get(f.name)
            except DestinationError:
                value = None
            if value:
                return list(value) if isinstance(value, list) else [value]
        if typed or not f.secret:
            return _split(typed) if f.many else ([typed] if typed else [])
        pending = self._pending.get((self.provider.name, f.name))
        return pending if pending is not None else self._saved_values().get(f.name, [])

    def _touched(self) -> bool:
        """True when the destination fields were edited (so Save stores a destination)."""
        p, boxes = self.provider.name, self.fields
        edited = any(boxes[f.name].value.strip() if f.secret else boxes[f.name].value != self._initial[f.name]
                     for f in self.provider.fields)
        return edited or any(key[0] == p for key in self._pending)

    def url(self) -> str:
        """The destination URL the fields describe (secret: never show it)."""
        return self.provider.to_url({f.name: self._values(f) if f.many else next(iter(self._values(f)), "")
                                     for f in self.provider.fields})

    # -- validation ----------------------------------------------------------------------------------------

    def problems(self) -> dict[str, str]:
        """One-line problems by field name (and 'name', 'after', 'tail', 'destination')."""
        found: dict[str, str] = {}
        if self._touched():
            for f in self.provider.fields:
                values = self._values(f)
                problem = next((p for p in map(f.check, values) if p), None) if values or f.many else f.check("")
                if problem:
                    found[f.name] = problem
            if not found:
                try:
                    parse_destination(self.url())
                except DestinationError as exc:
                    found["destination"] = str(exc)
        if not NAME.fullmatch(self.name.value.strip()):
            found["name"] = "a name is letters, digits, '.', '_' or '-' (e.g. me)"
        try:
            parse_duration(self.after.value)
        except ValueError as exc:
            found["after"] = str(exc)
        if self.tail.value < 0:
            found["tail"] = "must be 0 or more"
        return found

    def validate(self) -> dict[str, str]:
        """Show each problem next to its box; Save is enabled only when there is none."""
        found = self.problems()
        for key, label in self.messages.items():
            label.value = f"⚠ {found[key]}" if key in found else ""
        self.messages["destination"].layout.display = None if "destination" in found else "none"
        self.save_button.disabled = bool(found)
        return found

    def _changed(self, _: Any = None) -> None:
        found = self.validate()
        self.status.value = "fix the marked values to save" if found else "not saved yet"

    def _on_name(self, _: Any) -> None:
        saved = self._saved_destination(self.name.value.strip(), any_provider=True)
        if saved and saved.provider.name != self.channel.value:
            self.channel.value = saved.provider.name  # rebuilds the fields
        else:
            self._refresh()
        self._changed()

    # -- actions -------------------------------------------------------------------------------------------

    def save(self, _: Any = None) -> None:
        """Merge into the settings file (0600), apply to this session, and clear the password boxes."""
        if self.validate():
            self.status.value = "not saved: fix the marked values first"
            return
        file = self.session.file
        name = self.name.value.strip()
        if self._touched():
            file.save_destination(name, self.url())
        elif name in (file.read().get("destinations") or {}):
            file.save_destination(name, file.read()["destinations"][name])  # make it the default
        values = {"after": parse_duration(self.after.value), "tail": self.tail.value, "on": self.on.value}
        path = file.save_values(**{key: value for key, value in values.items()
                                   if self.settings.source(key) != "config" or value != self._shown[key]})
        self.session.reload()
        self._pending.clear()
        self._initial = {k: self.fields[k].value for k in self._initial}
        self._forget_secrets()
        elsewhere = [n for n in ("to", "after", "tail", "on") if self.settings.source(n) in ("env", "config")]
        self.status.value = f"saved to {path}; applied to this session" + (
            f" (env or IPython config still decide: {', '.join(elsewhere)})" if elsewhere else "")

    def send_test(self, _: Any = None) -> None:
        """Send a test message: to the typed (unsaved) destination when fields were edited, else the default."""
        try:
            if self._touched():
                found = self.validate()
                if any(k in found for k in (*self.fields, "destination")):
                    self.status.value = "not sent: fix the marked values first"
                    return
                route = Route((parse_destination(self.url(), self.name.value.strip()),))
                self._forget_secrets(keep=True)
            else:
                route = self.session.route()
        except (DestinationError, NoDestinationError) as exc:
            self.status.value = f"not sent: {exc}"
            return
        self.status.value = "sending a test message…"
        started = time.monotonic()
        ticket = self.session.send_test(route=route, origin=tr("sent from the settings panel"))
        self.status.value = describe(ticket.wait(TEST_WAIT), time.monotonic() - started)

    def remove(self, name: str) -> None:
        """Remove a named destination from the settings file (and from ``to``)."""
        self.session.file.remove_destination(name)
        self.session.reload()
        self._refresh()
        self.status.value = f"removed {name!r} from {settings_path()}"

    def _forget_secrets(self, keep: bool = False) -> None:
        """Empty every password box; with ``keep``, hold what was typed (in Python only) for a later Save."""
        for f in self.provider.fields:
            box = self.fields[f.name]
            if f.secret and box.value:
                if keep:
                    self._pending[(self.provider.name, f.name)] = self._values(f)
                box.value = ""
        self._refresh()

    # -- display -------------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Placeholders, override notes, the saved list, and the validation messages."""
        saved = self._saved_values()
        for f in self.provider.fields:
            pending = self._pending.get((self.provider.name, f.name))
            shown, word = (pending, "typed, not saved") if pending else (saved.get(f.name), "saved")
            self.fields[f.name].placeholder = (f"{', '.join(map(redact_value, shown))} ({word})"
                                               if f.secret and shown else f.hint)
        s = self.settings
        where = {"env": "(overridden by env WXNOTIFY_TO)", "config": "(set in IPython config)"}
        self.notes["to"].value = (f"default: {', '.join(map(redact_url, s.default_to())) or 'none'} "
                                  + where.get(s.source("to"), "")).strip()
        for key in ("after", "tail", "on"):
            self.notes[key].value = where["config"] if s.source(key) == "config" else ""
        self._refresh_saved()
        self.validate()

    def _refresh_saved(self) -> None:
        for child in self.saved.children:
            _close(child)
        in_file = self.settings.file_values.get("destinations") or {}
        default = self.settings.default_to()[:1]
        rows, self.remove_buttons = [], {}
        for name, url in {**in_file, **self.settings.destinations}.items():
            text = f"{name}: {redact_url(url)}" + (" · default" if [name] == default else "")
            if name not in in_file:
                rows.append(w.Label(text + " (IPython config)"))
                continue
            button = w.Button(description="Remove", icon="trash", layout={"width": "90px"})
            button.on_click(lambda _, n=name: self.remove(n))
            self.remove_buttons[name] = button
            rows.append(w.HBox([w.Label(text), button]))
        self.saved.children = rows or [w.Label("none saved yet")]


def build_panel(session: Session | WxNotify | None = None) -> Panel:
    """Build (not display) the panel over ``session`` or settings (default: the loaded extension's)."""
    from .session import current

    if isinstance(session, WxNotify):
        session = Session(session)
    return Panel(session if session is not None else current())


def in_kernel() -> bool:
    """True when running in an ipykernel (a widget frontend may be there), not a terminal IPython."""
    from IPython import get_ipython

    zmqshell = sys.modules.get("ipykernel.zmqshell")
    return zmqshell is not None and isinstance(get_ipython(), zmqshell.ZMQInteractiveShell)


def show(session: Session | None = None) -> None:
    """Display the panel in a kernel; in a terminal IPython print the settings and how to change them."""
    from .session import current

    session = session if session is not None else current()
    if not in_kernel():
        print("\n".join(session.settings_lines()))
        print(tr("in Jupyter, %wxnotify config shows a settings panel instead"))
        return None
    from IPython.display import display

    display(build_panel(session).widget)
    return None
