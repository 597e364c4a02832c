from __future__ import annotations

import pytest

from compose.errors import YamlError
from compose.yamlfile import Override, Reset, load_yaml, load_yaml_documents, strip_merge_tags


def test_every_node_has_line_and_column() -> None:
    doc, sources = load_yaml("services:\n  web:\n    image: nginx\n    ports:\n      - '80:80'\n", "c.yaml")
    assert doc == {"services": {"web": {"image": "nginx", "ports": ["80:80"]}}}
    image = sources.get(("services", "web", "image"))
    assert (image.file, image.line, image.column, image.path) == ("c.yaml", 3, 5, "services.web.image")
    port = sources.get(("services", "web", "ports", 0))
    assert (port.line, port.column, port.path) == (5, 9, "services.web.ports[0]")


def test_scalars_follow_yaml_1_2_like_compose_go() -> None:
    doc, _ = load_yaml("a: yes\nb: on\nc: true\nd: 0440\ne: 0x1f\nf: 1.5\ng: ~\nh: '1'\ni: 2024-01-01\n", "f")
    assert doc == {"a": "yes", "b": "on", "c": True, "d": 288, "e": 31, "f": 1.5, "g": None, "h": "1",
                   "i": "2024-01-01"}


def test_keys_are_strings() -> None:
    doc, _ = load_yaml("80: x\ntrue: y\n", "f")
    assert doc == {"80": "x", "true": "y"}


def test_duplicate_key_reports_both_lines() -> None:
    with pytest.raises(YamlError) as info:
        load_yaml("services:\n  web:\n    image: a\n    command: x\n    image: b\n", "dup.yaml")
    assert 'mapping key "image" already defined at line 3' in str(info.value)
    assert info.value.location.line == 5


def test_anchors_and_merge_keys() -> None:
    text = ("x-base: &base\n  image: busybox\n  environment: {A: '1'}\n"
            "services:\n  a:\n    <<: *base\n    image: alpine\n  b: *base\n")
    doc, sources = load_yaml(text, "f")
    assert doc["services"]["a"] == {"image": "alpine", "environment": {"A": "1"}}
    assert doc["services"]["b"] == {"image": "busybox", "environment": {"A": "1"}}
    assert doc["services"]["b"] is not doc["x-base"]  # copies, never shared objects


def test_merge_key_list_earlier_wins() -> None:
    doc, _ = load_yaml("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n", "f")
    assert doc["c"] == {"x": 1, "y": 2}


def test_reset_and_override_tags_are_kept_for_merging() -> None:
    doc, _ = load_yaml("command: !reset null\nports: !override ['80:80']\nlist: !reset []\n", "f")
    assert doc == {"command": Reset(None), "ports": Override(["80:80"]), "list": Reset([])}
    assert strip_merge_tags(doc) == {"ports": ["80:80"]}


def test_alias_bomb_is_refused() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    with pytest.raises(YamlError, match="excessive aliasing"):
        load_yaml("\n".join(lines) + "\n", "bomb.yaml")


def test_recursive_anchor_is_an_error_not_a_crash() -> None:
    with pytest.raises(YamlError, match="recursive anchor"):
        load_yaml("x: &h\n  e:\n    <<: *h\n", "f")


def test_syntax_error_has_location_and_hint() -> None:
    with pytest.raises(YamlError) as info:
        load_yaml("services:\n  web: [a\n  db: b\n", "bad.yaml")
    assert info.value.location.file == "bad.yaml" and info.value.location.line
    assert info.value.hint


def test_multiple_documents() -> None:
    docs, _ = load_yaml_documents("a: 1\n---\nb: 2\n", "f")
    assert docs == [{"a": 1}, {"b": 2}]


def test_empty_file_is_none() -> None:
    assert load_yaml("", "f")[0] is None


def test_heavy_but_legitimate_template_reuse_loads() -> None:
    template = "x-t: &t\n" + "".join(f"  k{i}: [a, b, {{c: d}}]\n" for i in range(30))
    services = "services:\n" + "".join(f"  s{i}:\n    <<: *t\n    image: x\n" for i in range(500))
    doc, _ = load_yaml(template + services, "f")
    assert len(doc["services"]) == 500 and doc["services"]["s499"]["k29"] == ["a", "b", {"c": "d"}]


def test_moderate_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a {k: v}"] + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 3)}]"
                                for i in range(11)]
    with pytest.raises(YamlError, match="excessive aliasing"):
        load_yaml("\n".join(lines) + "\n", "f")
