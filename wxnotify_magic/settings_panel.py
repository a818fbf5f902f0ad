"""The settings panel of ``%wxnotify config`` (ipywidgets are imported here only, and this module lazily).

Secrets are write-only: a password box holds a typed secret only until Save, Send test or a switch to another
channel, then it is emptied and shows the redacted value as its placeholder (``AT_…9f2c (saved)``), so the state
of the panel's widgets, and a notebook saved with widget state, never holds a secret. What was typed for one
channel is kept when another is chosen (secrets in Python only). Problems show under their field, in the
theme's error colour; the panel follows the width of the notebook and the chosen language.
"""

from __future__ import annotations

import html
import re
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as w

from .durations import parse_duration
from .i18n import LANGUAGES, N_, tr
from .paths import settings_path
from .providers import PROVIDERS, DestinationError, Provider, parse_destination
from .providers.base import Field, redact_value
from .receipts import describe
from .redact import problem as problem_text
from .redact import redact_url
from .session import Session
from .settings import ON_CHOICES, NoDestinationError, Route, WxNotify

NAME = re.compile(r"[\w.-]{1,40}")
TEST_WAIT = 5.0  # seconds Send test waits for the receipt
STYLE = {"description_width": "120px"}
LANGUAGE_NAMES = {"auto": N_("automatic (from the system)"), "zh": "中文", "en": "English"}
ROOT_CLASS = "wxnotify-panel"
# Scoped to the panel: wrapping text with normal line spacing, problems in the theme's error colour under their
# field, and a disabled button that looks disabled in every theme.
CSS = """<style>
.wxnotify-panel { max-width: 640px; container-type: inline-size; }
.wxnotify-panel .wxnotify-text, .wxnotify-panel .wxnotify-text .widget-html-content {
  white-space: normal; overflow-wrap: anywhere; height: auto; min-height: 0; line-height: 1.45;
  overflow: visible; text-overflow: clip; }
.wxnotify-panel .wxnotify-under { box-sizing: border-box; width: 100%; max-width: 600px; padding-left: 124px;
  margin: 0 0 6px 0; }
.wxnotify-panel .wxnotify-error { color: var(--jp-error-color1, #c62828); }
.wxnotify-panel .wxnotify-note { color: var(--jp-ui-font-color2, #616161); }
.wxnotify-panel .wxnotify-hint a { color: var(--jp-content-link-color, #1976d2); text-decoration: underline; }
.wxnotify-panel .widget-inline-hbox { width: auto !important; max-width: 600px; align-self: stretch; height: auto; }
.wxnotify-panel .wxnotify-row { flex-wrap: wrap; gap: 4px 8px; align-items: center; }
.wxnotify-panel .jupyter-button { max-width: 100%; }
.wxnotify-panel .wxnotify-saved { flex-wrap: nowrap; max-width: 600px; }
.wxnotify-panel .wxnotify-saved > .widget-label { flex: 1 1 auto; min-width: 0; width: auto; align-self: center;
  margin-top: 0; margin-bottom: 0; }
.wxnotify-panel .wxnotify-saved > .jupyter-button { flex: 0 0 auto; margin-left: auto; }
.wxnotify-panel .jupyter-button:disabled, .wxnotify-panel .jupyter-button.mod-disabled {
  opacity: 0.35 !important; filter: grayscale(100%); cursor: not-allowed; box-shadow: none; }
@container (max-width: 460px) {
  .wxnotify-panel .widget-inline-hbox { flex-wrap: wrap; }
  .wxnotify-panel .widget-inline-hbox > .widget-label { flex: 0 0 100%; width: 100% !important; max-width: none;
    text-align: left; height: auto; line-height: 1.45; padding-top: 2px; }
  .wxnotify-panel .widget-inline-hbox > input, .wxnotify-panel .widget-inline-hbox > select { min-width: 0; }
  .wxnotify-panel .wxnotify-under { padding-left: 0; }
}
</style>"""
TOOLTIP = "tooltip" if int(w.__version__.split(".")[0]) >= 8 else "description_tooltip"  # ipywidgets 7 (Colab)


def tip(text: str) -> dict[str, str]:
    """The hover text of a widget, under the name this ipywidgets version uses."""
    return {TOOLTIP: text}


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


def _text(*classes: str) -> w.Label:
    """A Label that wraps (with normal line spacing) and hides itself while empty."""
    label = w.Label(layout={"display": "none"})
    for name in ("wxnotify-text", *classes):
        label.add_class(name)
    return label


def _put(label: w.Label, text: str) -> None:
    label.value = text
    label.layout.display = None if text else "none"


def hint_html(provider: Provider) -> str:
    """The provider's "where to get a token" hint, with its page as a link."""
    hint = html.escape(tr(provider.hint), quote=False)
    if not provider.hint_url:
        return f"<small>{hint}</small>"
    site = urlsplit(provider.hint_url).hostname or provider.hint_url
    link = (f'<a href="{html.escape(provider.hint_url)}" target="_blank" rel="noopener noreferrer">'
            f"{html.escape(tr('Open {site}', site=site), quote=False)} ↗</a>")
    return f"<small>{hint} {link}</small>"


def channels() -> list[Provider]:
    """The channels the panel offers: each service, then "Other service (apprise URL)" last, and only when
    apprise is installed (a destination the panel saves must be one this Python can send)."""
    from importlib.util import find_spec

    named = [p for p in PROVIDERS.values() if not p.catch_all]
    return named + ([p for p in PROVIDERS.values() if p.catch_all] if find_spec("apprise") else [])


def _prefixes() -> dict[str, tuple[Provider, Field]]:
    """The prefix a field's values start with (``AT_``, ``UID_``, ``SPT_``) -> that provider and field."""
    found = {}
    for provider in PROVIDERS.values():
        for f in provider.fields:
            if m := re.match(r"([A-Za-z]{2,5}_)\[", f.pattern):
                found[m[1].upper()] = (provider, f)
    return found


def misplaced(provider: Provider, f: Field, value: str) -> str | None:
    """A value typed in the wrong box (a WxPusher ``AT_`` token in the WeCom key box): say what it looks like."""
    for prefix, (owner, other) in _prefixes().items():
        if value.upper().startswith(prefix) and (owner.name, other.name) != (provider.name, f.name):
            return tr("{value} looks like a {service} {field}, not a {label}", value=redact_value(value),
                      service=tr(owner.label), field=tr(other.label), label=tr(f.label))
    return None


class Panel:
    """The widgets of the settings panel and what its buttons do; ``.widget`` is the box to display."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.settings = settings = session.settings
        self._pending: dict[tuple[str, str], list[str]] = {}  # secrets typed, moved out of their box, not saved
        self._boxes: dict[str, dict[str, Any]] = {}  # channel -> field name -> Text, or Password for a secret
        self._field_messages: dict[str, dict[str, w.Label]] = {}
        self._rows: dict[str, list[Any]] = {}
        self._initial: dict[str, dict[str, str]] = {}  # channel -> non-secret values as loaded
        self._quiet = False
        self._replace: tuple[str, str] | None = None  # (name, URL) Save was asked to store over another
        default = next((t for t in settings.default_to() if t in settings.destinations), "me")
        self.title = w.HTML()
        self.title.add_class("wxnotify-text")
        self.language = w.Dropdown(options=self._language_options(), value=settings.lang, style=STYLE)
        self.channel = w.Dropdown(options=self._channel_options(), style=STYLE)
        self.hint = w.HTML()
        self.hint.add_class("wxnotify-text")
        self.hint.add_class("wxnotify-hint")
        self.field_box = w.VBox()
        self._general = {k: _text("wxnotify-error", "wxnotify-under") for k in ("destination", "name", "after", "tail",
                                                                               "ledger")}
        self.name = w.Text(value=default, style=STYLE)
        self.after = w.Text(value=_duration_text(float(settings.after)), style=STYLE, **tip("90, 90s, 5m, 1h30m"))
        self.tail = w.IntText(value=settings.tail, style=STYLE)
        self.on = w.Dropdown(options=self._on_options(), value=settings.on, style=STYLE)
        self.ledger = w.Text(value=settings.ledger, placeholder="redis://host:6379/0", style=STYLE)  # a group's count
        self.notes = {k: _text("wxnotify-note", "wxnotify-under") for k in ("to", "after", "tail", "on", "lang")}
        self.save_button = w.Button(button_style="primary", icon="save", layout={"width": "auto"})
        self.test_button = w.Button(icon="paper-plane", layout={"width": "auto"})
        self.status = w.Label()
        self.status.add_class("wxnotify-text")
        self.saved_title = w.HTML()
        self.saved_title.add_class("wxnotify-text")
        self.saved = w.VBox()
        self.file_label = _text("wxnotify-note")
        self.remove_buttons: dict[str, w.Button] = {}
        self._shown = {"after": float(settings.after), "tail": settings.tail, "on": settings.on,
                       "lang": settings.lang, "ledger": settings.ledger}
        saved = self._saved_destination(default, any_provider=True)
        offered = [value for _, value in self.channel.options]
        self.channel.value = saved.provider.name if saved and saved.provider.name in offered else "wxpusher"
        self._show_channel()
        self.channel.observe(self._on_channel, "value")
        self.name.observe(self._on_name, "value")
        for widget in (self.after, self.tail, self.on, self.language, self.ledger):
            widget.observe(self._changed, "value")
        self.save_button.on_click(self.save)
        self.test_button.on_click(self.send_test)
        row = self._row
        self.widget = w.VBox([
            w.HTML(CSS), self.title, self.language, self.notes["lang"], self.channel, self.hint, self.field_box,
            self._general["destination"], self.name, self._general["name"], self.notes["to"],
            self.after, self._general["after"], self.notes["after"], self.tail, self._general["tail"],
            self.notes["tail"], self.on, self.notes["on"], self.ledger, self._general["ledger"],
            row([self.save_button, self.test_button]), self.status,
            self.saved_title, self.saved, self.file_label,
        ], layout={"width": "100%"})
        self.widget.add_class(ROOT_CLASS)
        self._label()
        self._refresh()

    @staticmethod
    def _row(children: list[Any]) -> w.HBox:
        box = w.HBox(children, layout={"width": "100%"})
        box.add_class("wxnotify-row")
        return box

    # -- words (in the chosen language) --------------------------------------------------------------------

    @staticmethod
    def _language_options() -> list[tuple[str, str]]:
        return [(tr(LANGUAGE_NAMES[code]) if code == "auto" else LANGUAGE_NAMES[code], code) for code in LANGUAGES]

    @staticmethod
    def _channel_options() -> list[tuple[str, str]]:
        return [(tr(p.label), p.name) for p in channels()]

    @staticmethod
    def _on_options() -> list[tuple[str, str]]:
        return [(tr(label), value) for value, label in ON_CHOICES.items()]

    def _label(self) -> None:
        """Every word of the panel in the current language (again after the language was saved)."""
        self._quiet = True
        try:
            for dropdown, options in ((self.language, self._language_options()),
                                      (self.channel, self._channel_options()), (self.on, self._on_options())):
                value = dropdown.value
                dropdown.options = options
                dropdown.value = value
        finally:
            self._quiet = False
        self.title.value = f"<b>{html.escape(tr('wxnotify settings'), quote=False)}</b>"
        self.language.description = tr("Language")
        self.channel.description = tr("Channel")
        self.name.description = tr("Name")
        setattr(self.name, TOOLTIP, tr("use it as --to NAME"))
        self.after.description = tr("Shortest run")
        setattr(self.after, TOOLTIP, tr("shortest run to notify (--after): a cell that ends sooner sends nothing"))
        self.tail.description = tr("Output lines")
        self.on.description = tr("Notify on")
        self.ledger.description = tr("Shared ledger")
        self.save_button.description = tr("Save")
        self.test_button.description = tr("Send test message")
        self.saved_title.value = f"<b>{html.escape(tr('Saved destinations'), quote=False)}</b>"
        _put(self.file_label, tr("settings file: {path}", path=settings_path()))
        for name, boxes in self._boxes.items():
            for f in PROVIDERS[name].fields:
                boxes[f.name].description = tr(f.label)
                setattr(boxes[f.name], TOOLTIP, tr(f.hint))
        self.hint.value = hint_html(self.provider)

    # -- the channel's fields ----------------------------------------------------------------------------

    @property
    def provider(self) -> Provider:
        return PROVIDERS[self.channel.value]

    @property
    def fields(self) -> dict[str, Any]:
        """The boxes of the chosen channel's fields."""
        return self._boxes[self.channel.value]

    @property
    def messages(self) -> dict[str, w.Label]:
        """The problem line under each box: the chosen channel's fields, destination, name, after, tail."""
        return {**self._general, **self._field_messages.get(self.channel.value, {})}

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

    def _build_fields(self, provider: Provider) -> None:
        """One box per field of ``provider`` (secret ones as password boxes), each with its problem line under it."""
        boxes, messages, rows = {}, {}, []
        for f in provider.fields:
            box = (w.Password if f.secret else w.Text)(description=tr(f.label), style=STYLE, **tip(tr(f.hint)))
            box.observe(self._changed, "value")
            boxes[f.name], messages[f.name] = box, _text("wxnotify-error", "wxnotify-under")
            rows.append(w.VBox([box, messages[f.name]], layout={"width": "100%"}))
        self._boxes[provider.name], self._field_messages[provider.name] = boxes, messages
        self._rows[provider.name] = rows
        self._load_saved()

    def _load_saved(self) -> None:
        """Put the saved non-secret values of this name into the chosen channel's boxes."""
        saved, boxes = self._saved_values(), self.fields
        for f in self.provider.fields:
            if not f.secret:
                boxes[f.name].value = ", ".join(saved.get(f.name, []))
        self._initial[self.provider.name] = {f.name: boxes[f.name].value for f in self.provider.fields
                                             if not f.secret}

    def _show_channel(self) -> None:
        if self.channel.value not in self._boxes:
            self._build_fields(self.provider)
        self.field_box.children = self._rows[self.channel.value]
        self.hint.value = hint_html(self.provider)

    def _on_channel(self, change: Any) -> None:
        """Another channel: hold what was typed for the old one (secrets in Python only) and show the new one."""
        if self._quiet:
            return
        old = change.get("old")
        if old in self._boxes:
            self._quiet = True  # emptying the old boxes is not an edit of the new channel
            try:
                self._stash(old)
            finally:
                self._quiet = False
        self._show_channel()
        self._refresh()

    def _stash(self, channel: str) -> None:
        """Move the secrets typed in ``channel``'s boxes out of the widgets, to be saved or sent later."""
        provider, boxes = PROVIDERS[channel], self._boxes[channel]
        for f in provider.fields:
            typed = boxes[f.name].value.strip()
            if f.secret and typed:
                self._pending[(channel, f.name)] = self._values_of(provider, boxes, f)
                boxes[f.name].value = ""

    def _values(self, f: Field) -> list[str]:
        return self._values_of(self.provider, self.fields, f)

    def _values_of(self, provider: Provider, boxes: dict[str, Any], f: Field) -> list[str]:
        """A field's values: typed, else (secrets) typed earlier, else saved under this name."""
        typed = boxes[f.name].value.strip()
        if typed and "://" in typed:  # a pasted whole URL (e.g. a WeCom webhook): take this field's value from it
            try:
                value = provider.parse(typed).values.get(f.name)
            except DestinationError:
                value = None
            if value:
                return list(value) if isinstance(value, list) else [value]
        if typed or not f.secret:
            return _split(typed) if f.many else ([typed] if typed else [])
        pending = self._pending.get((provider.name, f.name))
        return pending if pending is not None else self._saved_values().get(f.name, [])

    def _touched(self) -> bool:
        """True when the destination fields were edited (so Save stores a destination)."""
        p, boxes, initial = self.provider.name, self.fields, self._initial.get(self.provider.name, {})
        edited = any(boxes[f.name].value.strip() if f.secret else boxes[f.name].value != initial.get(f.name, "")
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
                problem = problem or next((p for v in values if (p := misplaced(self.provider, f, v))), None)
                if problem:
                    found[f.name] = problem
            if not found:
                try:
                    parse_destination(self.url())
                except DestinationError as exc:
                    found["destination"] = problem_text(exc)
        if not NAME.fullmatch(self.name.value.strip()):
            found["name"] = tr("a name is letters, digits, '.', '_' or '-' (e.g. me)")
        try:
            parse_duration(self.after.value)
        except ValueError as exc:
            found["after"] = str(exc)
        if self.tail.value < 0:
            found["tail"] = tr("must be 0 or more")
        if self.ledger.value.strip() and not self.ledger.value.strip().startswith(("redis://", "rediss://")):
            found["ledger"] = tr("ledger: a redis://host:6379/0 URL, or '' for this host")
        return found

    def validate(self) -> dict[str, str]:
        """Show each problem under its box; Save is enabled only when there is none."""
        found = self.problems()
        for key, label in self.messages.items():
            _put(label, f"⚠ {found[key]}" if key in found else "")
        self.save_button.disabled = bool(found)
        return found

    def _changed(self, _: Any = None) -> None:
        if self._quiet:
            return
        self._replace = None
        found = self.validate()
        self.status.value = tr("fix the marked values to save") if found else tr("not saved yet")

    def _on_name(self, _: Any) -> None:
        saved = self._saved_destination(self.name.value.strip(), any_provider=True)
        if saved and saved.provider.name != self.channel.value and any(
                value == saved.provider.name for _, value in self.channel.options):
            self.channel.value = saved.provider.name  # shows its fields
        if saved:
            self._load_saved()
        self._refresh()
        self._changed()

    # -- actions -------------------------------------------------------------------------------------------

    def save(self, _: Any = None) -> None:
        """Merge into the settings file (0600), apply to this session, and clear the password boxes."""
        if self.validate():
            self.status.value = tr("not saved: fix the marked values first")
            return
        file = self.session.file
        name = self.name.value.strip()
        if self._touched():
            url, before = self.url(), (file.read().get("destinations") or {}).get(name)
            if before and self._another(before) and self._replace != (name, url):
                self._replace = (name, url)  # a second Save replaces it
                self.status.value = tr("{name} is already saved ({url}): Save again to replace it, or choose "
                                       "another name", name=repr(name), url=redact_url(before))
                return
            file.save_destination(name, url)
        elif name in (file.read().get("destinations") or {}):
            file.save_destination(name, file.read()["destinations"][name])  # make it the default
        values = {"after": parse_duration(self.after.value), "tail": self.tail.value, "on": self.on.value,
                  "lang": self.language.value}
        if self.ledger.value.strip() or self.settings.ledger:  # written once a group's ledger is set
            values["ledger"] = self.ledger.value.strip()
        path = file.save_values(**{key: value for key, value in values.items()
                                   if self.settings.source(key) != "config" or value != self._shown[key]})
        self.session.reload()
        self._pending = {k: v for k, v in self._pending.items() if k[0] != self.provider.name}
        self._initial[self.provider.name] = {f.name: self.fields[f.name].value for f in self.provider.fields
                                             if not f.secret}
        self._forget_secrets()
        self._label()  # the language may have changed
        self._refresh()
        elsewhere = [n for n in ("to", "after", "tail", "on", "lang") if self.settings.source(n) in ("env", "config")]
        self.status.value = tr("saved to {path}; applied to this session", path=path) + (
            tr(" (env or IPython config still decide: {names})", names=", ".join(elsewhere)) if elsewhere else "")

    def _another(self, saved_url: str) -> bool:
        """True when the fields describe another destination than ``saved_url`` (another service, or other
        secrets), not an edit of its other values (a topic, a mention)."""
        try:
            saved = parse_destination(saved_url)
        except DestinationError:
            return True
        if saved.provider.name != self.provider.name:
            return True
        return any(sorted(_as_list(saved.values.get(f.name))) != sorted(self._values(f))
                   for f in self.provider.fields if f.secret)

    def send_test(self, _: Any = None) -> None:
        """Send a test message: to the typed (unsaved) destination when fields were edited, else the default."""
        try:
            if self._touched():
                found = self.validate()
                if any(k in found for k in (*self.fields, "destination")):
                    self.status.value = tr("not sent: fix the marked values first")
                    return
                route = Route((parse_destination(self.url(), self.name.value.strip()),))
                self._forget_secrets(keep=True)
            else:
                route = self.session.route()
        except (DestinationError, NoDestinationError) as exc:
            self.status.value = tr("not sent: {problem}", problem=problem_text(exc))
            return
        self.status.value = tr("sending a test message…")
        started = time.monotonic()
        ticket = self.session.send_test(route=route, origin=tr("sent from the settings panel"))
        self.status.value = describe(ticket.wait(TEST_WAIT), time.monotonic() - started)

    def remove(self, name: str) -> None:
        """Remove a named destination from the settings file (and from ``to``)."""
        self.session.file.remove_destination(name)
        self.session.reload()
        self._refresh()
        self.status.value = tr("removed {name} from {path}", name=repr(name), path=settings_path())

    def _forget_secrets(self, keep: bool = False) -> None:
        """Empty the chosen channel's password boxes; with ``keep``, hold what was typed (in Python only)."""
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
            shown, word = (pending, tr("typed, not saved")) if pending else (saved.get(f.name), tr("saved"))
            self.fields[f.name].placeholder = (tr("{value} ({word})", value=", ".join(map(redact_value, shown)),
                                                  word=word) if f.secret and shown else tr(f.hint))
        s = self.settings
        where = {"env": tr("(overridden by env WXNOTIFY_TO)"), "config": tr("(set in IPython config)")}
        defaults = ", ".join(map(redact_url, s.default_to()))
        note = (tr("default: {destinations}", destinations=defaults) if defaults
                else tr("default: none yet (Save makes the destination above the default)"))
        source = where.get(s.source("to"), "")
        _put(self.notes["to"], tr("{note} {source}", note=note, source=source) if source else note)
        for key in ("after", "tail", "on", "lang"):
            _put(self.notes[key], where["config"] if s.source(key) == "config" else "")
        self._refresh_saved()
        self.validate()

    def _refresh_saved(self) -> None:
        for child in self.saved.children:
            _close(child)
        in_file = self.settings.file_values.get("destinations") or {}
        default = self.settings.default_to()  # every default is marked, as the note above says
        rows, self.remove_buttons = [], {}
        for name, url in {**in_file, **self.settings.destinations}.items():
            text = f"{name}: {redact_url(url)}" + (tr(" · default") if name in default else "")
            if name not in in_file:
                rows.append(self._saved_label(text + tr(" (IPython config)")))
                continue
            button = w.Button(description=tr("Remove"), icon="trash", layout={"width": "auto", "min_width": "90px"})
            button.on_click(lambda _, n=name: self.remove(n))
            self.remove_buttons[name] = button
            row = self._row([self._saved_label(text), button])
            row.add_class("wxnotify-saved")
            rows.append(row)
        self.saved.children = rows or [self._saved_label(tr("none saved yet"))]

    @staticmethod
    def _saved_label(text: str) -> w.Label:
        label = w.Label(text)
        label.add_class("wxnotify-text")
        return label


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
