"""Metadata-only instructions applied to an image config (pure)."""

from __future__ import annotations

from runtime.images.build import metadata
from runtime.images.build.instructions import (
    ExecOrShell,
    HealthcheckCommand,
    KeyValues,
    ShellCommand,
    Value,
    Words,
)


def test_env_label_expose_volume_user_stopsignal() -> None:
    config: dict = {"Env": ["PATH=/bin", "A=old"]}
    metadata.apply(config, "ENV", KeyValues([("A", "new"), ("B", "b c")]))
    assert config["Env"] == ["PATH=/bin", "A=new", "B=b c"]
    metadata.apply(config, "LABEL", KeyValues([("x", "1")]))
    metadata.apply(config, "LABEL", KeyValues([("y", "2"), ("x", "3")]))
    assert config["Labels"] == {"x": "3", "y": "2"}
    metadata.apply(config, "EXPOSE", Words(["80", "53/UDP", "7000-7002/tcp"]))
    assert sorted(config["ExposedPorts"]) == ["53/udp", "7000/tcp", "7001/tcp", "7002/tcp", "80/tcp"]
    metadata.apply(config, "VOLUME", Words(["/data", "/logs"]))
    assert config["Volumes"] == {"/data": {}, "/logs": {}}
    metadata.apply(config, "USER", Value("app:app"))
    metadata.apply(config, "STOPSIGNAL", Value("SIGINT"))
    assert (config["User"], config["StopSignal"]) == ("app:app", "SIGINT")


def test_cmd_entrypoint_and_shell() -> None:
    config: dict = {"Cmd": ["from-base"]}
    metadata.apply(config, "SHELL", ShellCommand(["/bin/bash", "-c"]))
    metadata.apply(config, "ENTRYPOINT", ExecOrShell(argv=None, script="run it"))
    assert config["Entrypoint"] == ["/bin/bash", "-c", "run it"]
    assert config["Cmd"] is None  # an inherited CMD is reset by ENTRYPOINT
    metadata.apply(config, "CMD", ExecOrShell(argv=["--flag"], script=None))
    metadata.apply(config, "ENTRYPOINT", ExecOrShell(argv=["/app"], script=None))
    assert config["Cmd"] == ["--flag"]  # a CMD of this stage stays


def test_healthcheck_onbuild_workdir_and_finish() -> None:
    config: dict = {}
    metadata.apply(config, "HEALTHCHECK", HealthcheckCommand(test=["CMD", "true"], interval=1.5, retries=2))
    assert config["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 1_500_000_000, "Retries": 2}
    metadata.apply(config, "ONBUILD", Value("RUN a"))
    metadata.apply(config, "ONBUILD", Value("RUN b"))
    assert config["OnBuild"] == ["RUN a", "RUN b"]
    assert metadata.workdir(config, "/srv") == "/srv"
    assert metadata.workdir(config, "app/../web") == "/srv/web"
    metadata.apply(config, "MAINTAINER", Value("me"))
    config["Cmd"] = None
    doc = metadata.finish({"config": config, "os": "linux"})
    assert doc["author"] == "me"
    assert "Cmd" not in doc["config"] and not any(k.startswith("_") for k in doc["config"])
    assert doc["config"]["WorkingDir"] == "/srv/web"
