"""Model -> engine specs: names, labels, networks with service-name aliases, volumes, ports, healthchecks."""

from __future__ import annotations

import pytest

from compose import convert
from compose import labels as L
from compose.confighash import service_config_hash
from compose.errors import ConfigError, UsageError
from compose.model import project_from_document
from runtime import api


def project(services: dict, **top) -> object:  # type: ignore[type-arg]
    doc = {"name": "shop", "services": services, **top}
    return project_from_document(doc, working_dir="/srv/shop", config_files=["/srv/shop/compose.yaml"])


def test_names_labels_and_default_network() -> None:
    p = project({"web": {"image": "busybox", "labels": {"team": "a", L.PROJECT: "spoofed"},
                         "depends_on": {"db": {"condition": "service_healthy", "restart": True,
                                               "required": True}}},
                 "db": {"image": "busybox"}})
    web = p.services["web"]
    spec = convert.container_spec(p, web, 2, config_hash="abc")
    assert spec.name == "shop-web-2"
    assert spec.labels[L.PROJECT] == "shop" and spec.labels["team"] == "a"
    assert spec.labels[L.SERVICE] == "web" and spec.labels[L.CONTAINER_NUMBER] == "2"
    assert spec.labels[L.ONEOFF] == "False" and spec.labels[L.CONFIG_HASH] == "abc"
    assert spec.labels[L.WORKING_DIR] == "/srv/shop"
    assert spec.labels[L.CONFIG_FILES] == "/srv/shop/compose.yaml"
    assert spec.labels[L.DEPENDS_ON] == "db:service_healthy:true"
    assert [e.network for e in spec.networks] == ["shop_default"]
    assert spec.networks[0].aliases[:2] == ["web", "shop-web-2"]
    assert [n.name for n in convert.project_networks(p)] == ["shop_default"]


def test_container_name_and_scale_check() -> None:
    p = project({"web": {"image": "busybox", "container_name": "front"}})
    assert convert.container_spec(p, p.services["web"], 1, config_hash="x").name == "front"
    with pytest.raises(UsageError, match="container_name"):
        convert.check_scale(p.services["web"], 3)


def test_named_networks_volumes_and_aliases() -> None:
    p = project(
        {"web": {"image": "busybox",
                 "networks": {"front": {"aliases": ["www"]}, "back": None},
                 "volumes": [{"type": "volume", "source": "data", "target": "/data"},
                             {"type": "bind", "source": "/srv/shop/conf", "target": "/conf", "read_only": True},
                             {"type": "volume", "target": "/anon"}],
                 "tmpfs": ["/run:size=1m"]}},
        networks={"front": {}, "back": {"name": "shared-back", "internal": True}},
        volumes={"data": {}})
    web = p.services["web"]
    spec = convert.container_spec(p, web, 1, config_hash="x")
    nets = {e.network: e for e in spec.networks}
    assert set(nets) == {"shop_front", "shared-back"}
    assert nets["shop_front"].aliases == ["web", "shop-web-1", "www"]
    mounts = {m.target: m for m in spec.mounts}
    assert mounts["/data"] == api.Mount(type="volume", target="/data", source="shop_data")
    assert mounts["/conf"].type == "bind" and mounts["/conf"].read_only
    assert mounts["/anon"].source == ""
    assert mounts["/run"].type == "tmpfs" and mounts["/run"].tmpfs_size == 1024 * 1024
    net_specs = {n.name: convert.network_spec(p, n) for n in convert.project_networks(p)}
    assert net_specs["shared-back"].internal
    assert net_specs["shop_front"].labels[L.NETWORK] == "front"
    vols = [convert.volume_spec(p, v) for v in convert.project_volumes(p)]
    assert [v.name for v in vols] == ["shop_data"] and vols[0].labels[L.VOLUME] == "data"


def test_one_off_containers_get_the_service_aliases_only_with_use_aliases() -> None:
    p = project({"web": {"image": "busybox", "networks": {"front": {"aliases": ["www"]}}}}, networks={"front": {}})
    web = p.services["web"]

    def aliases(**kw: object) -> list[str]:
        spec = convert.container_spec(p, web, 1, config_hash="x", name="shop-web-run-1", oneoff=True, **kw)  # type: ignore[arg-type]
        return spec.networks[0].aliases

    assert aliases() == ["shop-web-run-1"]  # as compose's run: reachable by its own name only
    assert aliases(use_aliases=True) == ["web", "shop-web-run-1", "www"]


def test_ports_restart_healthcheck_and_grace() -> None:
    p = project({"web": {"image": "busybox",
                         "ports": [{"target": 80, "published": "8080", "protocol": "tcp"},
                                   {"target": 53, "protocol": "udp", "host_ip": "127.0.0.1"}],
                         "restart": "on-failure:3", "stop_grace_period": "2s",
                         "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "retries": 2}}})
    spec = convert.container_spec(p, p.services["web"], 1, config_hash="x")
    assert spec.ports == [api.PortBinding(80, "tcp", "", 8080), api.PortBinding(53, "udp", "127.0.0.1", 0)]
    assert spec.restart == api.RestartPolicy("on-failure", 3)
    assert spec.stop_grace_period == 2.0
    assert spec.healthcheck is not None and spec.healthcheck.test == ["CMD", "true"]
    assert spec.healthcheck.interval == 1.0 and spec.healthcheck.retries == 2
    assert spec.healthcheck.timeout == 30.0  # engine default where neither side says


def test_healthcheck_inherits_image_and_disable() -> None:
    image_hc = api.Healthcheck(test=["CMD-SHELL", "probe"], interval=5)
    p = project({"a": {"image": "x", "healthcheck": {"retries": 9}},
                 "b": {"image": "x", "healthcheck": {"disable": True}},
                 "c": {"image": "x"}})
    cfg = api.ImageConfig(healthcheck=image_hc)
    a = convert.container_spec(p, p.services["a"], 1, config_hash="x", image_config=cfg).healthcheck
    assert a is not None and a.test == ["CMD-SHELL", "probe"] and a.retries == 9 and a.interval == 5
    b = convert.container_spec(p, p.services["b"], 1, config_hash="x", image_config=cfg).healthcheck
    assert b is not None and b.test == ["NONE"]
    assert convert.container_spec(p, p.services["c"], 1, config_hash="x", image_config=cfg).healthcheck is None


def test_build_only_service_gets_project_image_name_and_oneoff() -> None:
    p = project({"app": {"build": {"context": "/srv/shop"}}})
    assert convert.image_name(p, p.services["app"]) == "shop-app"
    spec = convert.container_spec(p, p.services["app"], 1, config_hash="x", oneoff=True,
                                  name=convert.oneoff_name(p, p.services["app"], "0123456789abcdef"),
                                  slug="0123456789abcdef")
    assert spec.name == "shop-app-run-0123456789ab"
    assert spec.labels[L.ONEOFF] == "True" and spec.labels[L.SLUG] == "0123456789abcdef"
    assert "app" not in spec.networks[0].aliases  # a one-off does not answer for the service name


def test_service_network_mode_and_undefined_network() -> None:
    p = project({"db": {"image": "x"}, "side": {"image": "x", "network_mode": "service:db"}})
    spec = convert.container_spec(p, p.services["side"], 1, config_hash="x")
    assert spec.network_mode == "container:shop-db-1" and spec.networks == []
    bad = project({"web": {"image": "x", "networks": {"nowhere": None}}})
    with pytest.raises(ConfigError, match="undefined network"):
        convert.project_networks(bad)


def test_config_hash_ignores_scale_build_and_dependencies() -> None:
    base = {"image": "busybox", "command": ["sleep", "1"]}
    h = service_config_hash(base)
    assert service_config_hash({**base, "scale": 3, "depends_on": {"db": {}}, "build": {"context": "."},
                                "pull_policy": "always", "profiles": ["x"]}) == h
    assert service_config_hash({**base, "deploy": {"replicas": 4}}) == \
        service_config_hash({**base, "deploy": {"replicas": 1}})
    assert service_config_hash({**base, "command": ["sleep", "2"]}) != h
    assert service_config_hash(dict(reversed(list(base.items())))) == h


def test_depends_on_label_round_trip() -> None:
    deps = [L.DependencyLabel("db", "service_healthy", True), L.DependencyLabel("cache", required=False)]
    assert L.parse_depends_on(L.format_depends_on(deps)) == deps


def test_secrets_and_configs_become_read_only_binds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = {"name": "shop", "services": {"web": {"image": "x", "secrets": [{"source": "tok"}],
                                                "configs": [{"source": "cfg", "target": "/etc/app.conf"}]}},
           "secrets": {"tok": {"environment": "TOKEN"}}, "configs": {"cfg": {"content": "a=1"}}}
    p = project_from_document(doc, working_dir="/srv/shop", environment={"TOKEN": "s3cret"})
    spec = convert.container_spec(p, p.services["web"], 1, config_hash="x", state_dir=tmp_path)
    mounts = {m.target: m for m in spec.mounts}
    assert mounts["/run/secrets/tok"].read_only and mounts["/etc/app.conf"].read_only
    assert open(mounts["/run/secrets/tok"].source).read() == "s3cret"
    assert open(mounts["/etc/app.conf"].source).read() == "a=1"
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700


def test_uts_cgroup_and_cgroup_parent_reach_the_spec() -> None:
    p = project({"web": {"image": "busybox", "uts": "host", "cgroup": "host", "cgroup_parent": "apps",
                         "userns_mode": "host"}})
    spec = convert.container_spec(p, p.services["web"], 1, config_hash="x")
    assert (spec.uts_mode, spec.cgroupns_mode, spec.cgroup_parent) == ("host", "host", "apps")


def test_a_userns_mode_other_than_host_is_refused() -> None:
    p = project({"web": {"image": "busybox", "userns_mode": "private"}})
    with pytest.raises(ConfigError, match='userns_mode "private" is not supported'):
        convert.container_spec(p, p.services["web"], 1, config_hash="x")


def test_external_links_join_the_links() -> None:
    p = project({"web": {"image": "busybox", "links": ["db:database"],
                         "external_links": ["other-cache-1:cache", "legacy"]},
                 "db": {"image": "busybox"}})
    spec = convert.container_spec(p, p.services["web"], 1, config_hash="x")
    assert spec.links == [("shop-db-1", "database"), ("other-cache-1", "cache"), ("legacy", "legacy")]


def test_cgroup_v1_extras_reach_the_spec() -> None:
    p = project({"web": {"image": "busybox", "mem_swappiness": 10, "oom_kill_disable": True,
                         "device_cgroup_rules": ["c 10:237 rwm"]},
                 "db": {"image": "busybox", "mem_swappiness": -1}})
    web = convert.container_spec(p, p.services["web"], 1, config_hash="x")
    assert (web.resources.mem_swappiness, web.resources.oom_kill_disable) == (10, True)
    assert web.device_cgroup_rules == ["c 10:237 rwm"]
    db = convert.container_spec(p, p.services["db"], 1, config_hash="x")
    assert (db.resources.mem_swappiness, db.resources.oom_kill_disable, db.device_cgroup_rules) == (None, False, [])


def test_blkio_config_reaches_the_spec_with_units_parsed() -> None:
    p = project({"web": {"image": "busybox", "blkio_config": {
        "weight": 300, "weight_device": [{"path": "/dev/vda", "weight": 400}],
        "device_read_bps": [{"path": "/dev/vda", "rate": "12mb"}],
        "device_write_iops": [{"path": "/dev/vda", "rate": 120}]}}})
    r = convert.container_spec(p, p.services["web"], 1, config_hash="x").resources
    assert r.blkio_weight == 300 and r.blkio_weight_device == [("/dev/vda", 400)]
    assert r.device_read_bps == [("/dev/vda", 12 << 20)] and r.device_write_iops == [("/dev/vda", 120)]
    assert r.device_write_bps == [] and r.device_read_iops == []


def test_annotations_reach_the_spec() -> None:
    p = project({"web": {"image": "busybox", "annotations": {"com.example.team": "a", "empty": ""}}})
    spec = convert.container_spec(p, p.services["web"], 1, config_hash="x")
    assert spec.annotations == {"com.example.team": "a", "empty": ""}
