"""The layers of ARCHITECTURE.md hold: no import cycles, nothing imports upwards, fronts never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "wxnotify_magic"
MAX_LINES = 600

LAYERS = {  # the lowest layer first; a module may import only its own layer or lower ones
    "values": {"i18n", "lang_zh", "durations", "message", "metrics", "figures", "capture", "status", "paths",
               "ranks", "resources", "netfs", "patterns"},
    "providers": {"providers"},
    "engine": {"redact", "transport", "storage", "outbox_repair", "outbox", "workers", "ticketbook", "policy",
               "receipts", "delivery", "settings", "watch", "auto", "cellinfo", "monitor", "watchdog",
               "watchdog_process", "ledger", "redis_ledger", "redis_wire"},  # limits ledger: local, and shared (Redis)
    "session": {"session"},
    "fronts": {"magics", "hooks", "receipt_view", "settings_panel", "api", "cli", "__main__"},
}
TOOLS = {"inbox"}  # the local emulator: stands on the values and the providers (their INBOX), any front may run it
FRONTS = {"ipython": {"magics", "hooks", "receipt_view", "settings_panel"}, "api": {"api"}, "cli": {"cli", "__main__"}}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every package module ``name`` imports, lazily or not (all ``import`` statements in the file)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in known else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods)) for name, path in mods.items()}


def part(module: str) -> str:
    """``wxnotify_magic.providers.base`` -> ``providers``; the package root is ``wxnotify_magic``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer(module: str) -> int:
    name = part(module)
    if name in TOOLS:
        return 1
    return next(i for i, members in enumerate(LAYERS.values()) if name in members)


def test_every_module_has_a_layer():
    for module in graph():
        if module != "wxnotify_magic":
            assert part(module) in TOOLS or any(part(module) in m for m in LAYERS.values()), module


def test_no_import_cycles():
    g, cycles = graph(), []
    seen: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        for nxt in g[node]:
            if nxt in stack:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in seen:
                visit(nxt, [*stack, nxt])
        seen.add(node)

    for node in g:
        if node not in seen:
            visit(node, [node])
    assert cycles == []


def test_nothing_imports_upwards():
    wrong = [(m, t) for m, targets in graph().items() if m != "wxnotify_magic" for t in targets
             if t != "wxnotify_magic" and part(m) != part(t) and layer(t) > layer(m)]
    assert wrong == []


def test_tools_stand_on_the_values_and_the_providers_only():
    wrong = [(m, t) for m, targets in graph().items() if part(m) in TOOLS for t in targets
             if part(t) not in TOOLS | LAYERS["values"] | LAYERS["providers"]]
    assert wrong == []


def test_fronts_never_import_each_other():
    owner = {name: front for front, names in FRONTS.items() for name in names}
    wrong = [(m, t) for m, targets in graph().items() for t in targets
             if part(m) in owner and part(t) in owner and owner[part(m)] != owner[part(t)]]
    assert wrong == []


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
