"""config/README.md, written from the config schema, so the key reference cannot drift.

The schema (``workflow/schemas/config.schema.yaml``) is the only place for defaults and
allowed values; this module turns it into one table per top-level section. Regenerate
with ``make config-docs`` (``python -m scalelaw.config_docs > config/README.md``);
``tests/docs/test_config_docs.py`` fails when the file and the schema disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"

HEADER = """\
# Configuration keys

<!-- generated from workflow/schemas/config.schema.yaml by `make config-docs`; do not edit -->

Every key the workflow reads, with its type, default and allowed values, generated from
the schema `workflow/schemas/config.schema.yaml`, which is enforced before any job runs:
an unknown key, a wrong type or a bad value stops the run with one line naming the key.
`config/config.yaml` is the default configuration; a file given with
`--configfile my.yaml` (or `make run CONFIG=my.yaml`) overrides any of its keys, and a
list given there replaces the default list whole. A key that is absent takes the default
shown here.

In key paths, `<name>` stands for a name you choose (a corpus, a law table) and `[]` for
every item of a list.
"""


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The node with a ``$ref`` into the schema's definitions replaced by its target
    (keys written beside the ``$ref``, such as a default, win)."""
    if "$ref" not in node:
        return node
    target: Any = schema
    for part in node["$ref"].lstrip("#/").split("/"):
        target = target[part]
    merged = dict(_resolve(target, schema))
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return merged


def _code(value: Any) -> str:
    return "`" + json.dumps(value, ensure_ascii=False) + "`"


def _type(node: dict[str, Any], schema: dict[str, Any]) -> str:
    if "enum" in node:
        return "one of"
    if "const" in node:
        return "constant"
    if "oneOf" in node and "type" not in node:
        return " or ".join(_type(option, schema) for option in node["oneOf"])
    kinds = node.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    text = " or ".join(kinds)
    items = _resolve(node.get("items") or {}, schema)
    if "array" in kinds and "type" in items:
        item = items["type"]
        text = text.replace("array", f"list of {item if isinstance(item, str) else ' or '.join(item)}")
    elif "array" in kinds and "enum" in items:
        text = text.replace("array", "list")
    return text


def _allowed(node: dict[str, Any]) -> str:
    """Allowed values and bounds, in words."""
    parts = []
    for source in (node, node.get("items") or {}):
        if "enum" in source:
            parts.append(", ".join(_code(v) for v in source["enum"]))
        if "const" in source:
            parts.append(_code(source["const"]))
        for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"),
                          ("exclusiveMaximum", "<")):
            if key in source:
                parts.append(f"{sign} {source[key]}")
        if "pattern" in source:
            parts.append(f"matches `{source['pattern']}`")
    if "oneOf" in node:
        alternatives = node["oneOf"]
        if all(set(option) == {"required"} for option in alternatives):
            parts.append("exactly one of " + ", ".join(f"`{k}`" for option in alternatives
                                                        for k in option["required"]))
        else:
            parts += [_allowed(option) for option in alternatives if _allowed(option)]
    if node.get("minItems"):
        parts.append(f"at least {node['minItems']} item(s)")
    if node.get("uniqueItems"):
        parts.append("no repeats")
    if "contains" in node:
        parts.append(f"must contain {_allowed(node['contains'])}")
    return "; ".join(parts)


def _conditions(node: dict[str, Any]) -> dict[str, str]:
    """{property: 'required when ...'} from the ``allOf: [{if, then: {required}}]`` blocks."""
    notes: dict[str, str] = {}
    for clause in node.get("allOf", []):
        condition = clause.get("if", {}).get("properties", {})
        when = ", ".join(f"{key} is {_code(spec.get('const'))}" for key, spec in condition.items())
        for key in clause.get("then", {}).get("required", []):
            notes[key] = f"required when {when}"
    return notes


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _rows(node: dict[str, Any], path: str, schema: dict[str, Any], note: str = "") -> Iterator[list[str]]:
    """One row per key under ``path``, depth first, parents before their children."""
    node = _resolve(node, schema)
    default = _code(node["default"]) if "default" in node else ""
    if path:
        description = node.get("description", "").replace("<", "&lt;").replace(">", "&gt;")
        yield [f"`{path}`", _type(node, schema), default, _allowed(node), note or "", description]
    required = set(node.get("required", []))
    conditional = _conditions(node)
    for key, child in (node.get("properties") or {}).items():
        why = "required" if key in required else conditional.get(key, "")
        yield from _rows(child, f"{path}.{key}" if path else key, schema, why)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        yield from _rows(extra, f"{path}.<name>", schema)
    items = node.get("items")
    if isinstance(items, dict) and (_resolve(items, schema).get("properties")):
        yield from _rows(items, f"{path}[]", schema)


def render(schema: dict[str, Any]) -> str:
    """config/README.md for ``schema``: the header, then one table per top-level key."""
    out = [HEADER]
    required = set(schema.get("required", []))
    for key, node in schema["properties"].items():
        resolved = _resolve(node, schema)
        out += [f"## `{key}`", ""]
        if resolved.get("description"):
            out += [_cell(resolved["description"]).replace("\\|", "|") + ".", ""]
        if key in required:
            out += ["Required.", ""]
        out += ["| key | type | default | allowed | required | description |", "|---|---|---|---|---|---|"]
        out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in _rows(node, key, schema)]
        out.append("")
    return "\n".join(out)


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else SCHEMA_PATH
    sys.stdout.write(render(load_schema(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
