"""config/README.md is the schema's own text: regenerated, not edited, so it cannot drift."""

from scalelaw import config_docs
from support.workflow_helpers import ROOT


def test_config_readme_is_the_generator_output():
    written = (ROOT / "config" / "README.md").read_text(encoding="utf-8")
    assert written == config_docs.render(config_docs.load_schema()), (
        "config/README.md differs from the schema: run `make config-docs`")


def _property_paths(node, schema, path=""):
    node = config_docs._resolve(node, schema)
    for key, child in (node.get("properties") or {}).items():
        child_path = f"{path}.{key}" if path else key
        yield child_path
        yield from _property_paths(child, schema, child_path)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _property_paths(node["additionalProperties"], schema, f"{path}.<name>")
    if isinstance(node.get("items"), dict):
        yield from _property_paths(node["items"], schema, f"{path}[]")


def test_every_schema_key_has_a_row():
    schema = config_docs.load_schema()
    text = config_docs.render(schema)
    paths = list(_property_paths(schema, schema))
    assert len(paths) > 100
    missing = [p for p in paths if f"| `{p}` |" not in text]
    assert not missing


TOY = {
    "definitions": {"fit": {"type": "object", "default": {}, "properties": {
        "seed": {"type": "integer", "default": 0, "description": "seeds <everything>"}}}},
    "required": ["corpus"],
    "properties": {
        "corpus": {"type": "object", "required": ["source"], "properties": {
            "source": {"enum": ["files", "hub"]},
            "paths": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "mode": {"type": "string", "pattern": "^(a|b)$", "default": "a"}},
            "allOf": [{"if": {"properties": {"source": {"const": "files"}}}, "then": {"required": ["paths"]}}]},
        "fit": {"$ref": "#/definitions/fit", "default": {"seed": 1}},
    },
}


def test_rows_show_defaults_choices_conditions_and_resolved_references():
    text = config_docs.render(TOY)
    rows = {line.split(" | ")[0].strip("| `"): line for line in text.splitlines() if line.startswith("| `")}
    assert '`"files"`, `"hub"`' in rows["corpus.source"] and "| required |" in rows["corpus.source"]
    assert 'required when source is `"files"`' in rows["corpus.paths"]
    assert "list of string" in rows["corpus.paths"] and "at least 1 item(s)" in rows["corpus.paths"]
    assert "`^(a\\|b)$`" in rows["corpus.mode"]  # a pipe inside a cell must not split the table
    assert '`{"seed": 1}`' in rows["fit"]  # a default beside the $ref wins over the definition's
    assert "seeds &lt;everything&gt;" in rows["fit.seed"]
    assert text.count("\n## `") == 2 and "Required." in text


def test_schema_has_no_key_split_off_a_description():
    """An unquoted comma inside a YAML flow mapping ({description: a, b}) cuts the text and
    makes a stray key of its tail; such a key has no value."""
    def stray(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                if value is None and key != "default":
                    yield f"{path}.{key}"
                yield from stray(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                yield from stray(item, path)

    assert not list(stray(config_docs.load_schema()))
