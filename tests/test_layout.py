"""The package's layout: stage subpackages that follow the rule files, imports that only
point down the workflow's stages, and no cycles (every import read from the source, the
ones inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "workflow" / "efficient_synapses"

# The workflow's stages in the order of its rule chain (Snakefile); the modules at the top
# of the package (config, artefacts, costs, statistics, logs) are the base every stage uses.
STAGES = [
    "base",
    "data",
    "training",
    "synapses",
    "posterior",
    "experimental",
    "figures",
    "claims",
    "reproduction",
]
RULE_FILES = {
    "data": "data.smk",
    "training": "train.smk",
    "synapses": "curvature.smk",
    "posterior": "posterior.smk",
    "experimental": "experimental.smk",
    "figures": "figures.smk",
    "claims": "claims.smk",
    "reproduction": "reproduction.smk",
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _stage(module: str) -> str:
    first = module.split(".")[0] if module else ""
    return first if first in STAGES else "base"


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports (relative and absolute, anywhere)."""
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([p for p in base if p] + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("efficient_synapses"):
                target = node.module.removeprefix("efficient_synapses").lstrip(".")
            else:
                continue
            for alias in node.names:  # "from . import x" names a module
                candidate = f"{target}.{alias.name}" if target else alias.name
                found.add(candidate if _exists(candidate) else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("efficient_synapses."):
                    found.add(alias.name.removeprefix("efficient_synapses."))
    return {m for m in found if m and _exists(m)}


def _exists(module: str) -> bool:
    path = PACKAGE.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_every_stage_has_its_rule_file_and_its_subpackage():
    rules = PACKAGE.parents[0] / "rules"
    for stage, rule_file in RULE_FILES.items():
        assert (rules / rule_file).is_file(), rule_file
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
        assert ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))


def test_imports_point_down_the_stages_only():
    """A stage imports the base, earlier stages and itself, never a later stage; the base
    imports no stage."""
    rank = {stage: i for i, stage in enumerate(STAGES)}
    upward = [
        f"{module} ({_stage(module)}) imports {target} ({_stage(target)})"
        for module, targets in _graph().items()
        for target in targets
        if rank[_stage(target)] > rank[_stage(module)]
    ]
    assert not upward, "\n".join(upward)


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(module, path):
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target == module or target.startswith(module + "."):
                continue  # a package's __init__ re-exporting its own modules
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path, target]))
            elif state.get(target) is None:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_no_module_is_named_after_another_with_a_suffix():
    """Names say the job: no x.py beside x_analysis.py (or x_data.py) in one folder."""
    for folder in [PACKAGE, *[p for p in PACKAGE.iterdir() if p.is_dir()]]:
        names = {p.stem for p in folder.glob("*.py")}
        clashes = [
            (a, b)
            for a in names
            for b in names
            if a != b and b.startswith(a + "_") and b.split("_")[-1] in ("analysis", "data")
        ]
        assert not clashes, f"{folder}: {clashes}"


def test_docs_name_for_every_figure_a_rule_a_script_and_a_function_that_exist():
    """docs/workflow.md's figure table, rule → script → function, against the code."""
    import importlib
    import re

    root = PACKAGE.parents[1]
    rules = "\n".join(p.read_text() for p in (root / "workflow" / "rules").glob("*.smk"))
    table = (root / "docs" / "workflow.md").read_text().split("rule → script → function")[1]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 13
    for row in rows:
        _, figure, rule_cell, script_cell, function_cell, _ = row.split("|")
        for rule in re.findall(r"`(\w+)`", rule_cell.split("(")[0]):
            if rule.startswith(("plot_", "compute_")):
                assert re.search(rf"rule {rule}\b|{rule.removeprefix('plot_')}", rules), rule
        for script in re.findall(r"`([\w.]+\.py)`", script_cell):
            assert (root / "workflow" / "scripts" / script).is_file(), script
        for dotted in re.findall(r"`([\w.]+)`", function_cell):
            module, name = dotted.rsplit(".", 1)
            assert hasattr(importlib.import_module(f"efficient_synapses.{module}"), name), dotted
