"""Our schema (schemas/compose-spec.json) must accept exactly the documents the official compose schema accepts.

Inputs: every compose file of the shared corpus (awesome-compose, conformance-tests, compose-go, compose-e2e)
plus seeded mutations of the valid ones (misspelt keys, wrong types, bad durations, bad ports, bad enum values,
extra top-level keys, nulls). The official schema (../shared/reference/compose-spec.schema.json) is used only as
an oracle here. Both are run as plain JSON schemas; the agreement figure is printed. Every disagreement must be
listed (by an fnmatch pattern of its case id) with its reason in schema_known_differences.txt.

A second figure is reported for compose.schema.validate_document, which also checks value formats (durations,
port specs, sizes...) and compose-go's post-schema rules (where a config's content comes from, non-empty watch
paths): those it rejects where the official schema accepts. docker compose rejects the same values later, so the
test checks that every such extra rejection is a format or rule error.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose import schema as schema_module
from compose.errors import ComposeError, SchemaError
from compose.schema import SCHEMA_FILE, validate_document
from compose.schemacheck import compile_schema
from compose.semantic import check_references
from compose.sourcemap import SourceMap
from compose.yamlfile import load_yaml_documents, strip_merge_tags

SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpus"
OFFICIAL_SCHEMA = SHARED / "reference" / "compose-spec.schema.json"
# compose-go's copy of the schema, which docker compose itself validates with: consulted on disagreements.
COMPOSE_GO_SCHEMA = SHARED / "reference" / "compose-go.schema.json"
KNOWN_DIFFERENCES = Path(__file__).with_name("schema_known_differences.txt")
CORPUS_DIRS = ("awesome-compose", "conformance-tests", "compose-go", "compose-e2e")
# Expected outputs of compose-go, not inputs.
SKIPPED_NAMES = ("expected.yaml", ".golden.yaml")
SEED = 20261127
# Endings of the messages of the rules validate_document checks beyond the schema (as compose-go's validation).
RULE_MESSAGES = ("has no content", "must not be empty")
AGREEMENT_BAR = 0.99

WRONG_VALUES: list[Any] = [{}, [], 3, True, None, "text", 1.5, ["a"], {"a": 1}, {"x-ext": 1}, -1]
BAD_DURATIONS = ["10x", "ten seconds", "10", "1h30", "-", "5 s", "1.5.2s"]
BAD_VOLUMES = ["data:", "ab::/x", "src:/dst:ro:extra", ":/x", ""]
BAD_PORTS: list[Any] = ["abc", 70000, "80:80:80:80", "8080:80/icmp", "1.2.3.999:80:80", "90-80:90-80", "8080:",
                        0, True, [80], {"target": 80, "publshed": 8080}, {"target": [80]}, {"protocol": 6},
                        {"mode": {}}]
BAD_ENUMS: list[tuple[tuple[str, ...], Any]] = [
    (("depends_on",), {"db": {"condition": "service_ready"}}),
    (("depends_on",), {"db": {"condition": "service_healthy", "restart": "yes", "requird": True}}),
    (("depends_on",), {"db": {"restart": True}}),
    (("cgroup",), "shared"),
    (("volumes",), [{"type": "disk", "source": "a", "target": "/a"}]),
    (("volumes",), [{"type": "bind", "source": ".", "target": "/a", "bind": {"selinux": "x"}}]),
    (("volumes",), [{"source": "a", "target": "/a"}]),
    (("volumes",), [{"type": "tmpfs", "target": "/a", "tmpfs": {"size": -5}}]),
    (("develop",), {"watch": [{"path": ".", "action": "explode"}]}),
    (("develop",), {"watch": [{"action": "sync"}]}),
    (("deploy",), {"update_config": {"order": "random"}}),
    (("deploy",), {"resources": {"limits": {"memroy": "1g"}}}),
    (("deploy",), {"restart_policy": {"condition": 5}}),
    (("cpu_percent",), 150),
    (("oom_score_adj",), 5000),
    (("gpus",), "some"),
    (("extends",), {"file": "x.yaml"}),
    (("ulimits",), {"nofile": {"soft": 10}}),
    (("healthcheck",), {"test": ["CMD", "true"], "interval": 30}),
    (("healthcheck",), {"tset": "true"}),
    (("logging",), {"driver": "json-file", "options": {"max-size": ["1m"]}}),
    (("env_file",), [{"required": False}]),
    (("networks",), {"front end": None}),
    (("networks",), {"front": {"alias": ["a"]}}),
    (("build",), {"context": ".", "dockerfle": "Dockerfile"}),
    (("build",), {"context": ".", "args": "A=1"}),
    (("environment",), ["A=1", "A=1"]),
    (("cap_add",), ["NET_ADMIN", "NET_ADMIN"]),
    (("ports",), ["80", "80"]),
]
TOP_LEVEL_EXTRAS: list[tuple[str, Any]] = [
    ("servics", {}), ("foo", 1), ("network", {}), ("x-ok", {"a": 1}), ("version", 3), ("name", ["x"]),
    ("include", "other.yaml"), ("include", [{"path": "a.yaml", "env_fle": ".env"}]), ("models", {"m": {}}),
    ("secrets", {"s": {"file": "./s", "enviroment": "X"}}), ("configs", {"c": None}), ("volumes", {"v": []}),
]


@dataclass
class Case:
    case_id: str
    document: Any


def _load_corpus() -> list[Case]:
    cases: list[Case] = []
    for folder in CORPUS_DIRS:
        for path in sorted((CORPUS / folder).rglob("*")):
            if path.suffix not in (".yml", ".yaml") or path.name.endswith(SKIPPED_NAMES):
                continue
            rel = path.relative_to(CORPUS)
            try:
                documents, _ = load_yaml_documents(path.read_text(), str(path))
            except Exception:  # noqa: BLE001 - files that are not YAML at all are the loader's tests, not ours
                continue
            for index, document in enumerate(documents):
                suffix = f"#{index}" if len(documents) > 1 else ""
                cases.append(Case(f"corpus:{rel}{suffix}", strip_merge_tags(document)))
    return cases


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield prefix + (key,)
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield prefix + (index,)
            yield from _paths(item, prefix + (index,))


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + "x"
    i = rng.randrange(len(word) - 1)
    choice = rng.randrange(3)
    if choice == 0:  # swap two neighbours
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if choice == 1:  # drop one
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]  # double one


def _mutations(base: Case, rng: random.Random, per_doc: int) -> Iterator[Case]:
    document = base.document
    all_paths = list(_paths(document))
    key_paths = [p for p in all_paths if isinstance(p[-1], str)]
    for n, path in enumerate(rng.sample(key_paths, min(per_doc, len(key_paths)))):
        renamed = copy.deepcopy(document)
        parent = _parent(renamed, path)
        new_key = _typo(path[-1], rng)
        if new_key not in parent:
            parent[new_key] = parent.pop(path[-1])
            yield Case(f"mutation:typo:{base.case_id}:{'.'.join(map(str, path))}:{n}", renamed)
    for n, path in enumerate(rng.sample(all_paths, min(per_doc, len(all_paths)))):
        retyped = copy.deepcopy(document)
        value = rng.choice(WRONG_VALUES)
        _parent(retyped, path)[path[-1]] = copy.deepcopy(value)
        yield Case(f"mutation:type:{base.case_id}:{'.'.join(map(str, path))}={json.dumps(value)}:{n}", retyped)
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict) or not services:
        return
    name = sorted(services)[0]
    if not isinstance(services[name], dict):
        return

    def with_service_key(key_path: tuple[str, ...], value: Any, kind: str) -> Case:
        changed = copy.deepcopy(document)
        target = changed["services"][name]
        for part in key_path[:-1]:
            target = target.setdefault(part, {})
        target[key_path[-1]] = copy.deepcopy(value)
        return Case(f"mutation:{kind}:{base.case_id}:{'.'.join(key_path)}={json.dumps(value)}", changed)

    yield with_service_key(("healthcheck", "interval"), rng.choice(BAD_DURATIONS), "duration")
    yield with_service_key(("stop_grace_period",), rng.choice(BAD_DURATIONS), "duration")
    yield with_service_key(("ports",), [rng.choice(BAD_PORTS)], "port")
    yield with_service_key(("volumes",), [rng.choice(BAD_VOLUMES)], "volume")
    key_path, value = rng.choice(BAD_ENUMS)
    yield with_service_key(key_path, value, "enum")
    key, value = rng.choice(TOP_LEVEL_EXTRAS)
    extra = copy.deepcopy(document)
    extra[key] = value
    yield Case(f"mutation:top:{base.case_id}:{key}={json.dumps(value)}", extra)


PROBE_VALUES: list[Any] = ["x", "${X}", "10s", "8080:80", "all", 5, 0, -1, 1001, 1.5, True, None, [], ["a"],
                          ["a", "a"], [1], {}, {"a": 1}, {"a": None}, {"a": [1]}, {"x-a": 1}, {"zzz": 1}]
PROBE_MAX_DEPTH = 7


def _sample(schema: Any, defs: dict[str, Any]) -> Any:
    """A value the schema accepts (enum's first choice, required keys filled in), to surround a probe."""
    schema = _deref(schema, defs)
    if "anyOf" in schema:
        return _sample(schema["anyOf"][0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {key: _sample(schema["properties"][key], defs) for key in schema.get("required", [])}
    if schema.get("format") == "duration":
        return "10s"
    return {"string": "x", "integer": 1, "number": 1, "boolean": True, "array": [], "null": None}.get(kind, "x")


def _deref(schema: Any, defs: dict[str, Any]) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _probe_sites(schema: Any, defs: dict[str, Any], depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(dotted site, place) for every key our schema knows: place(value) builds the enclosing value."""
    schema = _deref(schema, defs)
    if depth > PROBE_MAX_DEPTH:
        return
    for alternative in schema.get("anyOf", [schema]):
        alternative = _deref(alternative, defs)
        kind = alternative.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "object" in kinds:
            base = _sample(alternative, defs) if "properties" in alternative else {}
            children = dict(alternative.get("properties", {}))
            for pattern, sub in alternative.get("patternProperties", {}).items():
                if pattern != "^x-":
                    children["n1"] = sub
            if isinstance(alternative.get("additionalProperties"), dict):
                children["k1"] = alternative["additionalProperties"]
            children.setdefault("zzz_unknown", {})
            for key, sub in children.items():
                def place(value: Any, key: str = key, base: Any = base) -> Any:
                    return {**copy.deepcopy(base), key: value}
                yield key, place
                for site, inner in _probe_sites(sub, defs, depth + 1):
                    yield f"{key}.{site}", (lambda value, key=key, base=base, inner=inner:
                                            {**copy.deepcopy(base), key: inner(value)})
        if "array" in kinds and isinstance(alternative.get("items"), dict):
            yield "[]", lambda value: [value]
            for site, inner in _probe_sites(alternative["items"], defs, depth + 1):
                yield f"[].{site}", (lambda value, inner=inner: [inner(value)])


def _probes(schema: dict[str, Any]) -> Iterator[Case]:
    """Every key our schema knows, set to each of PROBE_VALUES, inside a minimal valid project."""
    defs = schema["$defs"]
    for site, place in _probe_sites(schema, defs):
        if site.split(".")[0] == "services" and not site.startswith("services.n1."):
            continue  # service-level probes below, inside a service that has an image
        for value in PROBE_VALUES:
            document = place(value)
            if isinstance(document, dict) and document.get("services") is None and "services" not in site:
                document.setdefault("services", {"web": {"image": "busybox"}})
            yield Case(f"probe:{site}={json.dumps(value)}", document)


@dataclass
class Verdicts:
    cases: int
    agree: int
    agree_compose_go: int  # disagreements where compose-go's schema gives our verdict
    disagreements: list[tuple[str, bool, bool]]
    format_only: list[str]
    validate_mismatch: list[str]
    quick_mismatch: list[str]


def all_cases(official_is_valid: Any) -> list[Case]:
    """Corpus, probes of every key, and seeded mutations of the corpus files the official schema accepts."""
    rng = random.Random(SEED)
    corpus = _load_corpus()
    cases = list(corpus) + list(_probes(json.loads(SCHEMA_FILE.read_text())))
    for base in corpus:
        if official_is_valid(base.document):
            cases.extend(_mutations(base, rng, per_doc=3))
    return cases


def compute_verdicts() -> Verdicts:
    import jsonschema

    official = jsonschema.Draft7Validator(json.loads(OFFICIAL_SCHEMA.read_text()))
    ours = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    cases = all_cases(official.is_valid)
    result = Verdicts(len(cases), 0, 0, [], [], [], [])
    compose_go = jsonschema.Draft202012Validator(json.loads(COMPOSE_GO_SCHEMA.read_text()))
    quick = compile_schema(json.loads(SCHEMA_FILE.read_text()))
    with_formats = schema_module._validator()
    for case in cases:
        theirs, mine = official.is_valid(case.document), ours.is_valid(case.document)
        if quick(case.document) != with_formats.is_valid(case.document):
            result.quick_mismatch.append(case.case_id)
        if theirs == mine:
            result.agree += 1
        else:
            result.disagreements.append((case.case_id, theirs, mine))
            result.agree_compose_go += compose_go.is_valid(case.document) == mine
        # The user-facing validator adds format checks on top of the plain schema.
        try:
            validate_document(case.document, SourceMap())
            accepted = True
        except SchemaError as exc:
            accepted = False
            if mine and ("is not a valid" in exc.message or exc.message.endswith(RULE_MESSAGES)
                         or " sets both `" in exc.message):
                result.format_only.append(case.case_id)
            elif mine:
                result.validate_mismatch.append(f"{case.case_id}: {exc}")
        if not mine and accepted:
            result.validate_mismatch.append(f"{case.case_id}: schema rejects, validate_document accepts")
    return result


def _known_patterns() -> list[str]:
    patterns = []
    for line in KNOWN_DIFFERENCES.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            pattern, _, reason = line.partition(" | ")
            assert reason.strip(), f"known difference without a reason: {line}"
            patterns.append(pattern.strip())
    return patterns


def test_schema_verdicts_against_the_official_schema() -> None:
    # One test on purpose: computing the verdicts takes seconds, and pytest-xdist would redo it per worker.
    verdicts = compute_verdicts()
    assert verdicts.cases >= 1000

    ratio = verdicts.agree / verdicts.cases
    print(f"\nschema agreement with the official compose schema: {verdicts.agree}/{verdicts.cases} "
          f"= {ratio:.2%} ({len(verdicts.disagreements)} disagreements)")
    print(f"of these, compose-go's schema (used by docker compose) gives our verdict in "
          f"{verdicts.agree_compose_go}")
    print(f"extra rejections by validate_document (format checks and compose-go rules; official accepts): "
          f"{len(verdicts.format_only)}")
    assert ratio >= AGREEMENT_BAR

    # Every disagreement is listed with its reason, and no listed one is stale.
    patterns = _known_patterns()
    unknown = [f"{cid} (official {'accepts' if theirs else 'rejects'}, ours {'accepts' if mine else 'rejects'})"
               for cid, theirs, mine in verdicts.disagreements
               if not any(fnmatch.fnmatchcase(cid, p) for p in patterns)]
    assert not unknown, "\n".join(unknown)
    stale = [p for p in patterns if not any(fnmatch.fnmatchcase(cid, p) for cid, _, _ in verdicts.disagreements)]
    assert not stale, f"known differences that no longer occur: {stale}"
    # ... and each is a place where docker compose's own schema (compose-go's) gives our verdict.
    assert verdicts.agree_compose_go == len(verdicts.disagreements)

    # validate_document = the schema + format checks: it rejects more only with a format error.
    assert not verdicts.validate_mismatch, "\n".join(verdicts.validate_mismatch[:20])
    assert verdicts.format_only, "the mutations include bad durations and ports; some must be rejected"

    # compose/schemacheck.py decides valid documents alone: it must give jsonschema's verdict on every case.
    assert not verdicts.quick_mismatch, verdicts.quick_mismatch[:20]


def test_semantic_checks_never_crash_on_schema_valid_documents() -> None:
    # check_references runs after the schema: on anything the schema lets through it may raise a ComposeError
    # (undefined reference, cycle, conflict) but nothing else.
    import jsonschema

    official = jsonschema.Draft7Validator(json.loads(OFFICIAL_SCHEMA.read_text()))
    quick = compile_schema(json.loads(SCHEMA_FILE.read_text()))
    checked = 0
    for case in all_cases(official.is_valid):
        if not quick(case.document):
            continue
        checked += 1
        try:
            check_references(case.document, SourceMap())
        except ComposeError:
            pass
    assert checked >= 1000
