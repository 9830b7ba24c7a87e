"""Configuration checks that run before any job: one line per mistake, naming the key.

The JSON Schema (workflow/schemas/config.schema.yaml) is the single description of the
config; these functions turn its violations into readable lines and add the checks a
schema cannot express (names that refer to each other, files that must exist, columns
that must be present).
"""

from __future__ import annotations

import difflib
import glob
import json
import os
import re
from typing import Any, Iterable, Mapping

import jsonschema
import yaml

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def canonical(value: Any) -> Any:
    """A config value with dict keys sorted, as rule params: Snakemake compares params by
    their repr, so reordering keys in a config file must not rerun jobs."""
    if isinstance(value, Mapping):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def key_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    path = key_path(error.absolute_path)
    value = error.instance
    keyword = error.validator
    if keyword == "additionalProperties":
        allowed = list((error.schema.get("properties") or {}).keys())
        lines = []
        for key in sorted(set(value) - set(allowed)):
            if error.schema.get("patternProperties"):
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(allowed)})"
            lines.append(f"{key_path([*error.absolute_path, key])}: unknown key{hint}")
        return "\n".join(lines) or f"{path}: {error.message}"
    if keyword == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{path}: expected {expected}, got {json.dumps(value)}"
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[keyword]
        return f"{path}: must be {sign} {error.validator_value}, got {json.dumps(value)}"
    if keyword == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return f"{path}: {json.dumps(value)} is not one of: {choices}"
    if keyword in ("minItems", "minProperties") and error.validator_value == 1:
        return f"{path}: must not be empty"
    if keyword == "minItems":
        return f"{path}: needs at least {error.validator_value} entries"
    if keyword == "uniqueItems":
        seen, dupes = set(), []
        for item in value:
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                dupes.append(item)
            seen.add(key)
        return f"{path}: duplicate entries: {', '.join(json.dumps(d) for d in dupes)}"
    if keyword == "required":
        missing = [k for k in error.validator_value if k not in value]
        return "\n".join(f"{key_path([*error.absolute_path, k])}: missing (required here)" for k in missing)
    if keyword == "pattern":
        return f"{path}: {json.dumps(value)} does not match {error.validator_value}"
    if keyword == "propertyNames":
        return f"{path}: invalid name {json.dumps(value)}: {error.message}"
    return f"{path}: {error.message}"


def schema_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    lines: list[str] = []
    for error in errors:
        for line in _describe(error).splitlines():
            if line not in lines:
                lines.append(line)
    return lines


def _file_columns(path: str, fmt: str) -> list[str] | None:
    """Column names of one data file, read from its header only (None: not readable here;
    the corpus job then reports the file). A UTF-8 BOM does not hide the first column."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if fmt == "csv":
            import csv

            with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
                return next(csv.reader(handle), None)
        if fmt == "jsonl":
            with open(path, encoding="utf-8-sig", errors="replace") as handle:
                for line in handle:
                    if line.strip():
                        row = json.loads(line)
                        return list(row.keys()) if isinstance(row, dict) else None
    except (OSError, ValueError, UnicodeError):
        return None
    except Exception:  # pyarrow's errors for a file that is not Parquet
        return None
    return None


def _corpus_errors(name: str, spec: Mapping[str, Any], base_dir: str) -> list[str]:
    lines = []
    if spec.get("source") == "files" and spec.get("paths"):
        files = []
        for i, pattern in enumerate(spec["paths"]):
            full = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
            found = sorted(glob.glob(full, recursive=True))
            matches = [m for m in found if os.path.isfile(m)]
            broken = [m for m in found if os.path.islink(m) and not os.path.exists(m)]
            if not matches and broken:
                lines.append(f"corpora.{name}.paths[{i}]: {pattern!r} matches only broken links "
                             f"({', '.join(os.path.relpath(b, base_dir) for b in broken[:3])})")
            elif not matches:
                lines.append(f"corpora.{name}.paths[{i}]: {pattern!r} matches no file (relative to {os.path.abspath(base_dir)})")
            files += [m for m in matches if m not in files]
        fmt = spec.get("format")
        if fmt in ("parquet", "csv", "jsonl"):
            # every file, not only the first: a corpus of many files often has one odd one
            for key in ("text_column", "id_column"):
                wanted = spec.get(key) or ("text" if key == "text_column" else None)
                if not wanted:
                    continue
                for path in files:
                    columns = _file_columns(path, fmt)
                    if columns is not None and wanted not in columns:
                        lines.append(
                            f"corpora.{name}.{key}: column {wanted!r} not in {os.path.relpath(path, base_dir)} "
                            f"(columns: {', '.join(columns)})"
                        )
                        break
    if spec.get("strip_pattern"):
        import regex

        try:
            regex.compile(spec["strip_pattern"])
        except regex.error as err:
            lines.append(f"corpora.{name}.strip_pattern: does not compile: {err}")
    if spec.get("source") == "hub" and spec.get("streaming") and not spec.get("max_docs"):
        lines.append(f"corpora.{name}.max_docs: a streamed hub corpus needs max_docs")
    return lines


def _model_folder_errors(generate: Mapping[str, Any], base_dir: str) -> list[str]:
    """A `path:` model must be a folder written by save_pretrained (it holds config.json)."""
    lines = []
    for i, model in enumerate(generate.get("models") or []):
        if not isinstance(model, Mapping) or not model.get("path"):
            continue
        folder = model["path"] if os.path.isabs(model["path"]) else os.path.join(base_dir, model["path"])
        if not os.path.isdir(folder):
            lines.append(f"generate.models[{i}].path: {model['path']!r} is not a folder")
        elif not os.path.isfile(os.path.join(folder, "config.json")):
            lines.append(
                f"generate.models[{i}].path: {model['path']!r} has no config.json "
                "(expected a folder written by save_pretrained)"
            )
    return lines


def results_dir_errors(base_dir: str = ".") -> list[str]:
    """The outputs folder must be a folder the workflow can write (checked before any job,
    so that a read-only results/ is named as such, not blamed on a corpus)."""
    results = os.path.join(base_dir, "results")
    where = os.path.abspath(results)
    if os.path.exists(results) and not os.path.isdir(results):
        return [f"results: {where} is a file; the workflow writes its outputs into a folder of that name "
                "(move the file away)"]
    folder = results if os.path.isdir(results) else base_dir
    if not os.access(folder, os.W_OK | os.X_OK):
        return [f"results: cannot write in {os.path.abspath(folder)} (permission denied); the workflow writes "
                "its outputs under results/ (fix the permissions, or run elsewhere with --directory)"]
    return []


def output_error_line(err: OSError) -> str:
    """One line for an output that cannot be written (raised by scalelaw.io as
    "cannot write <path>: <reason>"): the output is named, not the data."""
    return f"results: {' '.join(str(err).split())} (check permissions and free space of the results folder)"


def _tokenizer_errors(tokenizer: Mapping[str, Any], base_dir: str) -> list[str]:
    name = tokenizer.get("name", "bundled:gpt2")
    if name.startswith("bundled:"):
        return [] if name == "bundled:gpt2" else [f"tokenizer.name: unknown bundled tokenizer {name!r}; available: bundled:gpt2"]
    if os.path.isdir(name if os.path.isabs(name) else os.path.join(base_dir, name)):
        return []
    if HUB_ID.match(name):
        return []
    return [
        f"tokenizer.name: {name!r} is neither bundled:gpt2, an existing folder, nor a hub id "
        f"of the form owner/name (GPT-2 is openai-community/gpt2)"
    ]


def semantic_errors(config: Mapping[str, Any], base_dir: str = ".") -> list[str]:
    """Checks across keys and against the file system; assumes the schema passed."""
    lines = []
    corpora = config.get("corpora", {})
    for i, name in enumerate(config.get("use_corpora", [])):
        if name not in corpora:
            lines.append(
                f"use_corpora[{i}]: {name!r} is not a key of corpora (known: {', '.join(sorted(corpora))})"
            )
    for name in config.get("use_corpora", []):
        if name in corpora:
            lines += _corpus_errors(name, corpora[name], base_dir)
    lines += _tokenizer_errors(config.get("tokenizer", {}), base_dir)
    generate = config.get("generate") or {}
    if generate.get("enabled"):
        lines += _model_folder_errors(generate, base_dir)
    names = [m.get("name") for m in generate.get("models", []) if isinstance(m, Mapping)]
    for dupe in sorted({n for n in names if names.count(n) > 1}):
        lines.append(f"generate.models: duplicate model name {dupe!r}")
    return lines


# Stages that read one corpus of use_corpora: (config section, what it does with it)
CORPUS_STAGES = {"generate": "prompts are cut from it", "ladder": "the ladder trains on it"}


def resolve_stage_corpora(config: dict[str, Any]) -> list[str]:
    """Point every enabled stage that reads one corpus at a corpus in use.

    A config naming only the user's corpus (``use_corpora: [mine]``) leaves the default
    ``generate.corpus: sotu``; instead of stopping, such a stage takes the first of
    use_corpora. Changes ``config`` in place (before the stage rule files read it) and
    returns one line per change, for the console.
    """
    in_use = list(config.get("use_corpora") or [])
    notes = []
    for section, purpose in CORPUS_STAGES.items():
        stage = config.get(section)
        if not isinstance(stage, dict) or not stage.get("enabled") or not in_use:
            continue
        named = stage.get("corpus")
        if named not in in_use:
            stage["corpus"] = in_use[0]
            was = f"{named!r} is not in use_corpora" if named else "is not set"
            notes.append(f"scalelaw: {section}.corpus {was}; using {in_use[0]!r}, the first of use_corpora ({purpose})")
    return notes


def resolve_input_paths(config: dict[str, Any]) -> None:
    """With ``input_dir`` set, relative input paths are taken from that folder instead
    of the working directory: a run with ``--directory runs/mine`` (``make run OUT=...``)
    still reads ``data/...`` from the repository. Changes ``config`` in place."""
    base = config.get("input_dir")
    if not base:
        return

    def absolute(path: str) -> str:
        return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))

    for spec in (config.get("corpora") or {}).values():
        if isinstance(spec, dict) and spec.get("source") == "files" and isinstance(spec.get("paths"), list):
            spec["paths"] = [absolute(p) for p in spec["paths"]]
    tokenizer = config.get("tokenizer") or {}
    name = tokenizer.get("name")
    if isinstance(name, str) and not name.startswith("bundled:") and os.path.isdir(absolute(name)):
        tokenizer["name"] = absolute(name)
    for model in (config.get("generate") or {}).get("models") or []:
        for key in ("path", "tokenizer"):
            if isinstance(model, dict) and isinstance(model.get(key), str):
                model[key] = absolute(model[key])
        if isinstance(model, dict) and isinstance(model.get("gguf"), str) and not model["gguf"].startswith("package:"):
            model["gguf"] = absolute(model["gguf"])
    for table in (config.get("law_tables") or {}).values():
        if isinstance(table, dict) and isinstance(table.get("path"), str):
            table["path"] = absolute(table["path"])


class _StrictLoader(yaml.SafeLoader):
    pass


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def yaml_syntax_errors(paths: Iterable[str]) -> list[str]:
    """A YAML syntax error as one line naming the file, line and column."""
    lines = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                yaml.safe_load(handle)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            lines.append(f"config: {where}: YAML syntax error: {err.problem or err.context}")
        except (OSError, yaml.YAMLError):
            continue
    return lines


def stop_on_yaml_syntax_errors(*paths: str) -> None:
    """Before Snakemake reads a config file: one line and exit 1 on a YAML syntax error."""
    import sys

    problems = yaml_syntax_errors(paths)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} problem(s) in the configuration; nothing was run.", file=sys.stderr)
        sys.exit(1)


def duplicate_key_errors(paths: Iterable[str]) -> list[str]:
    """YAML silently keeps the last of two equal keys; two corpora named alike are a mistake."""
    lines = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                yaml.load(handle, Loader=_StrictLoader)
        except yaml.constructor.ConstructorError as err:
            mark = err.problem_mark
            lines.append(f"{path}:{mark.line + 1}: {err.problem}")
        except (OSError, yaml.YAMLError):
            continue
    return lines


def check(config: Mapping[str, Any], schema: Mapping[str, Any], config_files: Iterable[str] = ()) -> list[str]:
    """Every schema mistake in the config, one line each, prefixed with "config: ".

    Run ``semantic_errors`` once this passes and the schema defaults are filled in.
    """
    return [f"config: {line}" for line in duplicate_key_errors(config_files) + schema_errors(config, schema)]


def prepare(config: dict[str, Any], schema_path: str | os.PathLike, config_files: Iterable[str] = (),
            base_dir: str = ".") -> tuple[list[str], list[str]]:
    """Everything the workflow checks and resolves before its stage files read ``config``
    (common.smk calls this): schema mistakes, then schema defaults filled in, input paths
    and stage corpora resolved, then cross-key and file-system checks. Changes ``config``
    in place; returns (problems, notes), one line each; problems stop the run."""
    from pathlib import Path

    from snakemake.utils import validate

    problems = check(config, yaml.safe_load(Path(schema_path).read_text()), config_files)
    if problems:
        return problems, []
    validate(config, str(schema_path))  # fills in the schema's defaults
    resolve_input_paths(config)
    notes = resolve_stage_corpora(config)
    return [f"config: {line}" for line in semantic_errors(config, base_dir)], notes


def main(argv: list[str]) -> int:
    """``python -m scalelaw.config FILE...``: check config files before Snakemake reads
    them. Snakemake reads a --configfile before the workflow starts and names no line for
    a YAML mistake; this names file, line and column (``make run CONFIG=...`` runs it)."""
    import sys

    problems = []
    for path in argv:
        if not os.path.isfile(path):
            problems.append(f"config: {path}: no such file")
    problems += yaml_syntax_errors(p for p in argv if os.path.isfile(p))
    problems += [f"config: {line}" for line in duplicate_key_errors(p for p in argv if os.path.isfile(p))]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} problem(s) in the configuration; nothing was run.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
