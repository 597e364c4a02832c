"""Recreate hands the new container its predecessor's anonymous volumes (compose's behaviour)."""

from __future__ import annotations

from compose.orchestrator import inherit_anonymous_volumes
from runtime.api import ContainerSpec, Mount


def test_anonymous_mounts_and_image_volumes_inherit_others_do_not() -> None:
    spec = ContainerSpec(name="p-db-1", image="img", mounts=[
        Mount(type="volume", target="/data/"),  # anonymous in the file: inherits
        Mount(type="volume", target="/named", source="p_named"),  # named: stays
        Mount(type="bind", target="/src", source="/host/src"),  # now a bind where a volume was: stays
        Mount(type="volume", target="/fresh"),  # nothing to inherit: stays anonymous
    ])
    inherited = {"/data": "anon1", "/src": "anon2", "/var/lib/db": "anon3", "/gone": "anon4"}
    out = inherit_anonymous_volumes(spec, inherited, ["/var/lib/db/", "/named"])
    by_target = {m.target.rstrip("/"): m for m in out.mounts}
    assert by_target["/data"].source == "anon1" and by_target["/data"].anonymous
    assert by_target["/named"].source == "p_named" and not by_target["/named"].anonymous
    assert by_target["/src"].type == "bind" and by_target["/src"].source == "/host/src"
    assert by_target["/fresh"].source == "" and not by_target["/fresh"].anonymous
    assert by_target["/var/lib/db"].source == "anon3" and by_target["/var/lib/db"].anonymous  # image VOLUME
    assert "/gone" not in by_target  # no longer declared anywhere: not mounted again
    assert len(out.mounts) == 5
