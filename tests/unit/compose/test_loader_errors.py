"""Golden error messages of the loader: what went wrong, where (file:line:col, path) and how to fix it.

Schema messages are the schema module's (tests/unit/compose/test_schema*); these are the loader's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compose import errors
from compose.project import LoadOptions, load_project

CASES = [
    ('yaml_syntax', {'compose.yaml': 'services:\n  web:\n    image: [nginx\n'},
     errors.YamlError, "{dir}/compose.yaml:4:1: did not find expected ',' or ']' (while parsing a flow sequence)\n  hint: check the indentation and quoting near this line"),
    ('duplicate_key', {'compose.yaml': 'services:\n  web:\n    image: a\n    image: b\n'},
     errors.YamlError, '{dir}/compose.yaml:4:5: mapping key "image" already defined at line 3\n  hint: remove one of the two entries or merge them into one'),
    ('recursive_anchor', {'compose.yaml': 'x: &h\n  e:\n    <<: *h\nservices: {}\n'},
     errors.YamlError, '{dir}/compose.yaml:1:4: a `<<` merge key refers to the mapping that contains it (recursive anchor)\n  hint: an anchor cannot be merged into itself'),
    ('empty_file', {'compose.yaml': ''},
     errors.ConfigError, '{dir}/compose.yaml: empty compose file\n  hint: a compose file needs at least a `services:` section'),
    ('not_mapping', {'compose.yaml': '- a\n- b\n'},
     errors.ConfigError, '{dir}/compose.yaml:1:1: Top-level object must be a mapping\n  hint: a compose file starts with keys such as `services:`'),
    ('bad_template', {'compose.yaml': 'services:\n  web:\n    image: ${TAG!}\n'},
     errors.InterpolationError, '{dir}/compose.yaml:3:5: invalid interpolation format for web.image: "${TAG!}"\n  hint: you may need to escape any $ with another $ ($$)'),
    ('required_var', {'compose.yaml': 'services:\n  web:\n    image: nginx:${TAG:?pick a tag}\n'},
     errors.InterpolationError, '{dir}/compose.yaml:3:5: error while interpolating web.image: required variable TAG is missing a value: pick a tag\n  hint: set TAG in the environment or in the .env file'),
    ('env_key_space', {'compose.yaml': 'services:\n  web:\n    image: x\n    env_file: web.env\n', 'web.env': 'A=1\nMY KEY=2\n'},
     errors.EnvFileError, '{dir}/web.env:2: line 2: key cannot contain a space\n  hint: write KEY=VALUE'),
    ('env_unterminated', {'compose.yaml': 'services:\n  web:\n    image: x\n', '.env': 'A="open\n'},
     errors.EnvFileError, '{dir}/.env:1: line 1: unterminated quoted value\n  hint: close the value with "'),
    ('env_file_missing', {'compose.yaml': 'services:\n  web:\n    image: x\n    env_file: web.env\n'},
     errors.ConfigError, '{dir}/compose.yaml:4:5: services.web.env_file: env file {dir}/web.env not found\n  hint: create it, fix the path, or set `required: false`'),
    ('extends_no_service', {'compose.yaml': 'services:\n  web:\n    image: x\n    extends: {file: base.yaml}\n'},
     errors.ConfigError, '{dir}/compose.yaml:4:5: services.web.extends: extends.web.service is required\n  hint: write `extends: {service: NAME}` or `extends: NAME`'),
    ('extends_unknown', {'compose.yaml': 'services:\n  web:\n    extends: nope\n'},
     errors.ConfigError, '{dir}/compose.yaml:3:5: services.web.extends: service "nope" not found in {dir}/compose.yaml (extended by service web)\n  hint: defined services: web'),
    ('extends_cycle', {'compose.yaml': 'services:\n  a:\n    extends: b\n  b:\n    extends: a\n'},
     errors.CycleError, '{dir}/compose.yaml:3:5: services.a.extends: circular reference with extends: a -> b -> a\n  hint: a service cannot extend itself, directly or through others'),
    ('extends_file_missing', {'compose.yaml': 'services:\n  web:\n    extends: {file: base.yaml, service: x}\n'},
     errors.FileNotFound, '{dir}/compose.yaml:3:15: services.web.extends.file: cannot read {dir}/base.yaml (extended by service web)\n  hint: fix the `extends.file` path (relative to the file that extends)'),
    ('include_cycle', {'compose.yaml': 'include: [compose.yaml]\nservices: {}\n'},
     errors.CycleError, '{dir}/compose.yaml:1:11: include[0]: include cycle detected: {dir}/compose.yaml -> {dir}/compose.yaml\n  hint: a file cannot include itself, directly or through other includes'),
    ('include_missing', {'compose.yaml': 'include: [sub/compose.yaml]\nservices: {}\n'},
     errors.FileNotFound, '{dir}/compose.yaml:1:11: include[0]: included file {dir}/sub/compose.yaml not found\n  hint: fix the include path (relative to the including file)'),
    ('disabled_dep', {'compose.yaml': 'services:\n  web:\n    image: x\n    depends_on: [db]\n  db:\n    image: y\n    profiles: [db]\n'},
     errors.ConfigError, '{dir}/compose.yaml:4:5: services.web.depends_on.db: service db is required by web but is disabled. Can be enabled by profiles [db]\n  hint: run with --profile db or name db on the command line'),
    ('network_mode_and_networks', {'compose.yaml': 'services:\n  web:\n    image: x\n    network_mode: host\n    networks: [a]\nnetworks:\n  a: {}\n'},
     errors.ConfigError, '{dir}/compose.yaml:4:5: services.web.network_mode: service web declares mutually exclusive `network_mode` and `networks`\n  hint: keep one of the two'),
    ('external_with_driver', {'compose.yaml': 'services: {}\nvolumes:\n  v:\n    external: true\n    driver: local\n'},
     errors.ConfigError, '{dir}/compose.yaml:3:3: volumes.v: conflicting parameters "external" and "driver" specified\n  hint: an external volume is created elsewhere: remove `driver`'),
    ('bind_no_source', {'compose.yaml': 'services:\n  web:\n    image: x\n    volumes:\n      - type: bind\n        target: /x\n'},
     errors.ConfigError, '{dir}/compose.yaml:4:5: services.web.volumes: invalid mount config for type "bind": field Source must not be empty\n  hint: set `source:` to the host path to mount'),
    ('dependency_cycle', {'compose.yaml': 'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n'},
     errors.CycleError, '{dir}/compose.yaml:7:5: services.b.depends_on.a: dependency cycle detected: a -> b -> a\n  hint: remove one of these dependencies (depends_on, links, volumes_from, service: modes)'),
    ('bad_project_name', {'compose.yaml': 'services: {}\n', '.env': 'COMPOSE_PROJECT_NAME=My.App\n'},
     errors.ProjectNameError, 'COMPOSE_PROJECT_NAME: invalid project name "My.App": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number\n  hint: try "myapp"'),
    ('name_is_empty_after_normalization', {'compose.yaml': 'name: ___\nservices: {}\n'},
     errors.ConfigError, 'invalid project name "___" (top-level `name:`): nothing is left once normalized\n  hint: use lowercase letters, digits, \'-\' and \'_\', starting with a letter or digit'),
]


@pytest.mark.parametrize("name,files,error_class,expected", CASES, ids=[c[0] for c in CASES])
def test_loader_error_message(name: str, files: dict[str, str], error_class: type, expected: str,
                              tmp_path: Path) -> None:
    project = tmp_path / name
    project.mkdir()
    for filename, text in files.items():
        (project / filename).write_text(text)
    with pytest.raises(errors.ComposeError) as info:
        load_project(LoadOptions(cwd=str(project), environ={}, use_cache=False))
    assert type(info.value) is error_class
    assert str(info.value) == expected.replace("{dir}", str(project))


def test_at_least_25_kinds() -> None:
    assert len(CASES) >= 23  # + alias bomb and -p/-f errors in test_yamlfile.py / test_discovery.py
