"""The pure-Python data plane as one zip for the phone's python3.

The zip holds `wgdroid.userspace` and exactly the wgdroid modules it imports
(found by reading their `import` statements), so the phone gets no CLI, no
TUI and none of their dependencies (textual, adbutils, pydantic): only
`cryptography` must exist there. python3 imports from a zip on sys.path
(zipimport), so the launcher only sets PYTHONPATH. Stored, not deflated:
zipimport then needs no zlib, and the whole thing is a few hundred KiB.
"""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

import wgdroid

ROOT_PACKAGE = "wgdroid.userspace"
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # the same sources give the same bytes


def _package_root() -> Path:
    return Path(wgdroid.__file__).resolve().parent.parent


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imports(path: Path, module: str) -> set[str]:
    """wgdroid modules `path` imports (absolute and relative, at any depth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    return {m for m in found if m == "wgdroid" or m.startswith("wgdroid.")}


def modules() -> dict[str, Path]:
    """module name -> source file: the userspace package and its wgdroid closure."""
    root = _package_root()
    todo = [ROOT_PACKAGE]
    pkg_dir = root.joinpath(*ROOT_PACKAGE.split("."))
    for path in sorted(pkg_dir.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        todo.append(name)
    found: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in found:
            continue
        source = _module_file(root, name)
        if source is None:
            continue  # `from pkg import name` where name is not a module
        found[name] = source
        todo.extend(_imports(source, name))
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages
    return found


def build_zip() -> bytes:
    """The zip's bytes, deterministic for the same sources."""
    root = _package_root()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for _, path in sorted(modules().items()):
            info = zipfile.ZipInfo(str(path.relative_to(root)), _FIXED_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()
