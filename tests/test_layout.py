"""The package's layout: folders by concern in pipeline order. No module imports from a
folder later in the pipeline than its own (the order is `bitmap2pcm.STAGES`), so each step can
be read without the ones after it."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

import bitmap2pcm

PACKAGE = REPO / "bitmap2pcm"


def stage_of(module: str) -> int:
    """Position in the pipeline of a dotted module name inside the package."""
    parts = module.split(".")
    assert parts[0] == "bitmap2pcm"
    return bitmap2pcm.STAGES.index(parts[1]) if len(parts) > 2 else -1


def imported_modules(path: Path) -> list[str]:
    """The package modules `path` imports, as absolute dotted names."""
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else [target]
                found += names
            elif node.module and node.module.startswith("bitmap2pcm"):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("bitmap2pcm")]
    return found


def test_every_module_lives_in_a_stage_folder():
    # __main__.py is `python -m bitmap2pcm`, one call into commands/
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"modules outside the stage folders: {loose}"
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(bitmap2pcm.STAGES)
    for folder in folders:
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
        assert doc, f"{folder}/__init__.py says nothing of what lives there"


def test_no_folder_imports_a_later_step():
    offences = []
    for path in PACKAGE.rglob("*.py"):
        mine = stage_of(".".join(path.relative_to(REPO).with_suffix("").parts))
        for name in imported_modules(path):
            if name.count(".") >= 2 and stage_of(name) > mine >= 0:
                offences.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offences, "\n".join(offences)
