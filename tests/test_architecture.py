"""Dependencies are visible at the top of a file: no function imports another app, except the
few named below with their reason (README, "Architecture"). This list only shrinks."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "clm", "outbox", "campaigns", "leads", "crm", "attribution", "insights", "nurture",
    "integrations", "mix", "dashboards", "demo",
)  # fmt: skip

# "module -> imported app": why the import sits inside a function.
ALLOWED: dict[str, str] = {
    # None remain. An entry needs its reason here and in the README's "Architecture".
}


def _modules() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts)
    ]


def function_level_imports_of_other_apps(path: Path, root: Path = ROOT) -> set[str]:
    """`module -> app` for each import inside a def whose target is another first-party app."""
    rel = path.relative_to(root)
    app, module = rel.parts[0], ".".join(rel.with_suffix("").parts)
    found: set[str] = set()

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            return [node.module]
        return []

    for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                for target in targets(node):
                    top = target.split(".")[0]
                    if top in APPS and top != app:
                        found.add(f"{module} -> {top}")
    return found


def all_function_level_imports() -> set[str]:
    return {found for path in _modules() for found in function_level_imports_of_other_apps(path)}


def test_no_function_imports_another_app_unless_allowed_with_a_reason():
    unexplained = sorted(all_function_level_imports() - set(ALLOWED))
    assert unexplained == [], "move these imports to the top of the file, or announce an event"


def test_the_allow_list_names_only_imports_that_still_exist():
    assert sorted(set(ALLOWED) - all_function_level_imports()) == []


def test_every_allowed_import_has_a_reason():
    assert all(reason.strip() for reason in ALLOWED.values())


def test_the_walk_finds_imports_of_other_apps_inside_functions_only(tmp_path):
    module = tmp_path / "leads" / "probe.py"
    module.parent.mkdir()
    module.write_text(
        "from crm import models\n"
        "def f():\n    from crm.models import Deal\n    import insights.hooks\n"
        "    from leads.models import Lead\n    import pandas\n"
    )
    assert function_level_imports_of_other_apps(module, root=tmp_path) == {
        "leads.probe -> crm",
        "leads.probe -> insights",
    }
