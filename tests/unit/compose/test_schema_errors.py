"""Golden tests for schema error messages: file:line:column, dotted path, message and hint, for each kind of
bad input. The expected texts are written here; a change of wording must change this file."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from compose.errors import SchemaError
from compose.schema import validate_document
from compose.yamlfile import load_yaml


@dataclass(frozen=True)
class GoldenCase:
    kind: str
    text: str
    where: str
    path: str | None
    message: str
    hint: str | None


CASES = [
    GoldenCase(
        'typo_service_key',
        'services:\n  web:\n    imgae: nginx\n',
        'compose.yaml:3:5', 'services.web',
        'services.web has an unknown key `imgae`',
        'did you mean `image`?',
    ),
    GoldenCase(
        'typo_top_level',
        'servics:\n  web:\n    image: nginx\n',
        'compose.yaml:1:1', None,
        'unknown top-level key `servics`',
        'did you mean `services`?',
    ),
    GoldenCase(
        'unknown_top_level_far',
        'services:\n  web:\n    image: nginx\nfoo: 1\n',
        'compose.yaml:4:1', None,
        'unknown top-level key `foo`',
        'allowed keys here: `version`, `name`, `include`, `services`, `networks`, `volumes`, `secrets`, `configs`, `models`; custom keys must start with `x-`',
    ),
    GoldenCase(
        'port_list',
        'services:\n  web:\n    image: nginx\n    ports:\n      - [80, 81]\n',
        'compose.yaml:5:9', 'services.web.ports[0]',
        'services.web.ports[0] must be a number, a string or a mapping, not a list',
        None,
    ),
    GoldenCase(
        'port_bad_string',
        'services:\n  web:\n    image: nginx\n    ports:\n      - "80:80:80:80"\n',
        'compose.yaml:5:9', 'services.web.ports[0]',
        'services.web.ports[0]: `80:80:80:80` is not a valid port',
        'write a port such as `80`, `8080:80`, `127.0.0.1:8080:80/udp` or `9000-9010:9000-9010`',
    ),
    GoldenCase(
        'port_out_of_range',
        'services:\n  web:\n    image: nginx\n    ports:\n      - 70000\n',
        'compose.yaml:5:9', 'services.web.ports[0]',
        'services.web.ports[0]: `70000` is not a valid port',
        'write a port such as `80`, `8080:80`, `127.0.0.1:8080:80/udp` or `9000-9010:9000-9010`',
    ),
    GoldenCase(
        'port_long_typo',
        'services:\n  web:\n    image: nginx\n    ports:\n      - target: 80\n        publshed: 8080\n',
        'compose.yaml:6:9', 'services.web.ports[0]',
        'services.web.ports[0] has an unknown key `publshed`',
        'did you mean `published`?',
    ),
    GoldenCase(
        'bad_duration',
        'services:\n  web:\n    image: nginx\n    healthcheck:\n      test: [CMD, "true"]\n      interval: 10x\n',
        'compose.yaml:6:7', 'services.web.healthcheck.interval',
        'services.web.healthcheck.interval: `10x` is not a valid duration',
        'write a duration such as `30s`, `1m30s` or `500ms`',
    ),
    GoldenCase(
        'duration_no_unit',
        'services:\n  web:\n    image: nginx\n    stop_grace_period: "10"\n',
        'compose.yaml:4:5', 'services.web.stop_grace_period',
        'services.web.stop_grace_period: `10` is not a valid duration',
        'write a duration such as `30s`, `1m30s` or `500ms`',
    ),
    GoldenCase(
        'depends_condition_enum',
        'services:\n  web:\n    image: nginx\n    depends_on:\n      db:\n        condition: service_ready\n  db:\n    image: postgres\n',
        'compose.yaml:6:9', 'services.web.depends_on.db.condition',
        'services.web.depends_on.db.condition: `service_ready` is not an allowed value',
        'valid choices: `service_started`, `service_healthy`, `service_completed_successfully`',
    ),
    GoldenCase(
        'depends_missing_condition',
        'services:\n  web:\n    image: nginx\n    depends_on:\n      db:\n        restart: true\n',
        'compose.yaml:5:7', 'services.web.depends_on.db',
        'services.web.depends_on.db is missing the required key `condition`',
        'add `condition:` to services.web.depends_on.db',
    ),
    GoldenCase(
        'volume_type_enum',
        'services:\n  web:\n    image: nginx\n    volumes:\n      - type: disk\n        source: data\n        target: /data\n',
        'compose.yaml:5:9', 'services.web.volumes[0].type',
        'services.web.volumes[0].type: `disk` is not an allowed value',
        'valid choices: `bind`, `volume`, `tmpfs`, `cluster`, `npipe`, `image`',
    ),
    GoldenCase(
        'volume_missing_type',
        'services:\n  web:\n    image: nginx\n    volumes:\n      - source: data\n        target: /data\n',
        'compose.yaml:5:9', 'services.web.volumes[0]',
        'services.web.volumes[0] is missing the required key `type`',
        'add `type:` to services.web.volumes[0]',
    ),
    GoldenCase(
        'service_is_list',
        'services:\n  web:\n    - image: nginx\n',
        'compose.yaml:2:3', 'services.web',
        'services.web must be a mapping, not a list',
        None,
    ),
    GoldenCase(
        'services_is_list',
        'services:\n  - web\n',
        'compose.yaml:1:1', 'services',
        'services must be a mapping, not a list',
        None,
    ),
    GoldenCase(
        'bad_service_name',
        'services:\n  my web:\n    image: nginx\n',
        'compose.yaml:2:3', 'services',
        'services has an invalid name `my web`',
        'names may contain only letters, digits, `.`, `_` and `-`',
    ),
    GoldenCase(
        'environment_int',
        'services:\n  web:\n    image: nginx\n    environment: 5\n',
        'compose.yaml:4:5', 'services.web.environment',
        'services.web.environment must be a mapping or a list, not an integer',
        None,
    ),
    GoldenCase(
        'environment_nested_map',
        'services:\n  web:\n    image: nginx\n    environment:\n      A:\n        B: 1\n',
        'compose.yaml:5:7', 'services.web.environment.A',
        'services.web.environment.A must be a string, a number, a boolean or empty (null), not a mapping',
        None,
    ),
    GoldenCase(
        'command_map',
        'services:\n  web:\n    image: nginx\n    command:\n      run: x\n',
        'compose.yaml:4:5', 'services.web.command',
        'services.web.command must be empty (null), a string or a list, not a mapping',
        None,
    ),
    GoldenCase(
        'cap_add_duplicate',
        'services:\n  web:\n    image: nginx\n    cap_add: [NET_ADMIN, NET_ADMIN]\n',
        'compose.yaml:4:5', 'services.web.cap_add',
        'services.web.cap_add lists the same item more than once',
        'remove the duplicate entry',
    ),
    GoldenCase(
        'build_typo',
        'services:\n  web:\n    build:\n      context: .\n      dockerfle: Dockerfile\n',
        'compose.yaml:5:7', 'services.web.build',
        'services.web.build has an unknown key `dockerfle`',
        'did you mean `dockerfile`?',
    ),
    GoldenCase(
        'extends_missing_service',
        'services:\n  web:\n    extends:\n      file: base.yaml\n',
        'compose.yaml:3:5', 'services.web.extends',
        'services.web.extends is missing the required key `service`',
        'add `service:` to services.web.extends',
    ),
    GoldenCase(
        'network_top_typo',
        'services:\n  web:\n    image: nginx\nnetworks:\n  front:\n    drvier: bridge\n',
        'compose.yaml:6:5', 'networks.front',
        'networks.front has an unknown key `drvier`',
        'did you mean `driver`?',
    ),
    GoldenCase(
        'cgroup_enum',
        'services:\n  web:\n    image: nginx\n    cgroup: shared\n',
        'compose.yaml:4:5', 'services.web.cgroup',
        'services.web.cgroup: `shared` is not an allowed value',
        'valid choices: `host`, `private`',
    ),
    GoldenCase(
        'cpu_percent_range',
        'services:\n  web:\n    image: nginx\n    cpu_percent: 150\n',
        'compose.yaml:4:5', 'services.web.cpu_percent',
        'services.web.cpu_percent must be at most 100, not 150',
        None,
    ),
    GoldenCase(
        'ulimits_missing_hard',
        'services:\n  web:\n    image: nginx\n    ulimits:\n      nofile:\n        soft: 10\n',
        'compose.yaml:5:7', 'services.web.ulimits.nofile',
        'services.web.ulimits.nofile is missing the required key `hard`',
        'add `hard:` to services.web.ulimits.nofile',
    ),
    GoldenCase(
        'mem_limit_bad',
        'services:\n  web:\n    image: nginx\n    mem_limit: lots\n',
        'compose.yaml:4:5', 'services.web.mem_limit',
        'services.web.mem_limit: `lots` is not a valid size',
        'write a size such as `512m`, `1g` or a number of bytes',
    ),
    GoldenCase(
        'deploy_resources_typo',
        'services:\n  web:\n    image: nginx\n    deploy:\n      resources:\n        limits:\n          memroy: 1g\n',
        'compose.yaml:7:11', 'services.web.deploy.resources.limits',
        'services.web.deploy.resources.limits has an unknown key `memroy`',
        'did you mean `memory`?',
    ),
    GoldenCase(
        'develop_action_enum',
        'services:\n  web:\n    image: nginx\n    develop:\n      watch:\n        - path: .\n          action: explode\n',
        'compose.yaml:7:11', 'services.web.develop.watch[0].action',
        'services.web.develop.watch[0].action: `explode` is not an allowed value',
        'valid choices: `rebuild`, `sync`, `restart`, `sync+restart`, `sync+exec`',
    ),
    GoldenCase(
        'gpus_bad',
        'services:\n  web:\n    image: nginx\n    gpus: some\n',
        'compose.yaml:4:5', 'services.web.gpus',
        'services.web.gpus must be `all` or a list, not a string',
        None,
    ),
    GoldenCase(
        'privileged_list',
        'services:\n  web:\n    image: nginx\n    privileged: [true]\n',
        'compose.yaml:4:5', 'services.web.privileged',
        'services.web.privileged must be a boolean or a string, not a list',
        None,
    ),
    GoldenCase(
        'document_list',
        '- services\n',
        'compose.yaml:1:1', None,
        'the compose file must be a mapping of top-level keys, not a list',
        'start the file with `services:`',
    ),
    GoldenCase(
        'secret_top_typo',
        'services:\n  web:\n    image: nginx\nsecrets:\n  s:\n    fiel: ./s.txt\n',
        'compose.yaml:6:5', 'secrets.s',
        'secrets.s has an unknown key `fiel`',
        'did you mean `file`?',
    ),
    GoldenCase(
        'include_typo',
        'include:\n  - path: a.yaml\n    env_fle: .env\nservices:\n  web:\n    image: nginx\n',
        'compose.yaml:3:5', 'include[0]',
        'include[0] has an unknown key `env_fle`',
        'did you mean `env_file`?',
    ),
    GoldenCase(
        'container_name_short',
        'services:\n  web:\n    image: nginx\n    container_name: x\n',
        'compose.yaml:4:5', 'services.web.container_name',
        'services.web.container_name: `x` is not a valid value',
        'a container name has at least two characters (letters, digits, `_`, `.`, `-`) and starts with a letter or a digit',
    ),
    GoldenCase(
        'pull_policy_bad',
        'services:\n  web:\n    image: nginx\n    pull_policy: sometimes\n',
        'compose.yaml:4:5', 'services.web.pull_policy',
        'services.web.pull_policy: `sometimes` is not a valid value',
        'valid choices: `always`, `never`, `missing`, `build`, `if_not_present`, `daily`, `weekly`, `every_<duration>` (e.g. `every_12h`)',
    ),
    GoldenCase(
        'network_null_service',
        'services:\n  web:\n',
        'compose.yaml:2:3', 'services.web',
        'services.web must be a mapping, not empty (null)',
        None,
    ),
    GoldenCase(
        'healthcheck_typo',
        'services:\n  web:\n    image: nginx\n    healthcheck:\n      tset: [CMD, true]\n',
        'compose.yaml:5:7', 'services.web.healthcheck',
        'services.web.healthcheck has an unknown key `tset`',
        'did you mean `test`?',
    ),
    GoldenCase(
        'expose_bad',
        'services:\n  web:\n    image: nginx\n    expose:\n      - http\n',
        'compose.yaml:5:9', 'services.web.expose[0]',
        'services.web.expose[0]: `http` is not a valid exposed port',
        'write a port or range such as `80`, `80/udp` or `8000-8010`',
    ),
    GoldenCase(
        'tmpfs_size_negative',
        'services:\n  web:\n    image: nginx\n    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs:\n          size: -5\n',
        'compose.yaml:8:11', 'services.web.volumes[0].tmpfs.size',
        'services.web.volumes[0].tmpfs.size must be at least 0, not -5',
        None,
    ),
    GoldenCase(
        'logging_options_list',
        'services:\n  web:\n    image: nginx\n    logging:\n      options:\n        max-size: [1m]\n',
        'compose.yaml:6:9', 'services.web.logging.options.max-size',
        'services.web.logging.options.max-size must be a string, a number or empty (null), not a list',
        None,
    ),
    GoldenCase(
        'volume_short_bad',
        'services:\n  web:\n    image: nginx\n    volumes:\n      - ./src:/src:ro:x\n',
        'compose.yaml:5:9', 'services.web.volumes[0]',
        'services.web.volumes[0]: `./src:/src:ro:x` is not a valid volume',
        'write a volume such as `data:/var/lib/data`, `./src:/src:ro` or `/anonymous`',
    ),
    GoldenCase(
        'key_one_level_too_high',
        'services:\n  web:\n    build: .\n    dockerfile: Dockerfile.dev\n',
        'compose.yaml:4:5', 'services.web',
        'services.web has an unknown key `dockerfile`',
        '`dockerfile` belongs under `build:`',
    ),
    GoldenCase(
        'key_alias',
        'services:\n  web:\n    image: nginx\n    env:\n      A: 1\n',
        'compose.yaml:4:5', 'services.web',
        'services.web has an unknown key `env`',
        'did you mean `environment`?',
    ),
    GoldenCase(
        'boolean_word',
        'services:\n  web:\n    image: nginx\n    privileged: maybe\n',
        'compose.yaml:4:5', 'services.web.privileged',
        'services.web.privileged: `maybe` is not a valid boolean',
        'write `true` or `false`',
    ),
    GoldenCase(
        'integer_word',
        'services:\n  web:\n    image: nginx\n    scale: two\n',
        'compose.yaml:4:5', 'services.web.scale',
        'services.web.scale: `two` is not a valid whole number',
        'write a whole number',
    ),
    GoldenCase(
        'config_two_sources',
        'services:\n  web:\n    image: nginx\nconfigs:\n  site:\n    file: ./site.conf\n    content: x\n',
        'compose.yaml:7:5', 'configs.site',
        'configs.site sets both `file` and `content`',
        'a config takes its content from one of `file`, `environment` or `content`',
    ),
    GoldenCase(
        'secret_without_source',
        'services:\n  web:\n    image: nginx\nsecrets:\n  token:\n    name: prod-token\n',
        'compose.yaml:5:3', 'secrets.token',
        'secrets.token has no content',
        'set one of `file` or `environment`, or `external: true` for one that already exists',
    ),
    GoldenCase(
        'watch_path_empty',
        'services:\n  web:\n    build: .\n    develop:\n      watch:\n        - path: ""\n          action: rebuild\n',
        'compose.yaml:6:11', 'services.web.develop.watch[0].path',
        'services.web.develop.watch[0].path must not be empty',
        'give the directory or file to watch, relative to the project directory',
    ),
    GoldenCase(
        'unknown_far_key',
        'services:\n  web:\n    image: nginx\n    frobnicate: 1\n',
        'compose.yaml:4:5', 'services.web',
        'services.web has an unknown key `frobnicate`',
        'see the compose specification for the allowed keys; custom keys must start with `x-`',
    ),

]


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_golden_schema_error(case: GoldenCase) -> None:
    document, sources = load_yaml(case.text, "compose.yaml")
    with pytest.raises(SchemaError) as caught:
        validate_document(document, sources)
    error = caught.value
    location = error.location
    assert location is not None
    assert f"{location.file}:{location.line}:{location.column}" == case.where
    assert location.path == case.path
    assert error.message == case.message
    assert error.hint == case.hint


def test_at_least_25_kinds() -> None:
    assert len({c.kind for c in CASES}) >= 25


def test_printed_form_names_the_place_once() -> None:
    document, sources = load_yaml("services:\n  web:\n    ports:\n      - [80]\n", "compose.yaml")
    with pytest.raises(SchemaError) as caught:
        validate_document(document, sources)
    assert str(caught.value) == (
        "compose.yaml:4:9: services.web.ports[0] must be a number, a string or a mapping, not a list")


def test_first_problem_in_the_file_is_reported_most_specific_cause_at_one_place() -> None:
    text = ("services:\n  a:\n    image: x\n    ports: [1]\n  b:\n    imgae: y\n    depends_on:\n"
            "      a: {restrat: true}\n  c:\n    ports: [[1]]\n")
    document, sources = load_yaml(text, "compose.yaml")
    with pytest.raises(SchemaError) as caught:
        validate_document(document, sources)
    assert str(caught.value) == "compose.yaml:6:5: services.b has an unknown key `imgae`\n  hint: did you mean `image`?"
    # Fix that one: the next is inside depends_on, where the typo beats the missing `condition`.
    document, sources = load_yaml(text.replace("imgae", "image"), "compose.yaml")
    with pytest.raises(SchemaError) as caught:
        validate_document(document, sources)
    assert caught.value.message == "services.b.depends_on.a has an unknown key `restrat`"
    assert caught.value.hint == "did you mean `restart`?"
