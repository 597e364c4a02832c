"""Every Dockerfile instruction, built for real on busybox: RUN in hoist containers, layers in the store."""

from __future__ import annotations

import pytest

from runtime.api import ContainerSpec
from runtime.images.build.dockerfile import DockerfileError
from tests.integration.build.conftest import Builder, make_tar

EVERYTHING = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox:latest
FROM ${BASE}
ARG VERSION=1.0
ENV APP_HOME=/srv/app GREETING="hello world"
LABEL org.example.version=$VERSION "org.example.name"="demo app"
MAINTAINER someone@example.com
WORKDIR $APP_HOME
COPY --chown=app:app --chmod=640 config.ini conf/
COPY src/ ./src/
COPY *.txt notes/
ADD payload.tar.gz /opt/payload/
ADD plain.txt /opt/plain.txt
COPY <<EOF /etc/motd
welcome to $APP_HOME
EOF
RUN echo "$GREETING from $(pwd) v$VERSION" > /built.txt \\
    && ls conf src notes >> /built.txt
RUN ["/bin/sh", "-c", "id -u > /exec-form.txt"]
SHELL ["/bin/sh", "-e", "-c"]
RUN <<EOS
echo "line one" > /heredoc.txt
echo "line two" >> /heredoc.txt
EOS
USER app
RUN id -un > /tmp/user.txt && cp /tmp/user.txt $APP_HOME/whoami 2>/dev/null || id -un > /tmp/whoami
USER root
VOLUME ["/data"]
EXPOSE 8080 53/udp
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5s --timeout=2s --retries=2 CMD ["test", "-f", "/built.txt"]
ONBUILD RUN echo triggered > /onbuild.txt
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /built.txt"]
"""


def test_every_instruction(builder: Builder) -> None:
    builder.write({
        "config.ini": "[main]\n", "src/a.py": "A\n", "src/pkg/b.py": "B\n", "one.txt": "1\n", "two.txt": "2\n",
        "payload.tar.gz": make_tar({"inner/data.bin": b"tarred"}), "plain.txt": "not an archive\n",
    })
    built = builder.build(EVERYTHING)
    info = built.info
    image = info.id
    cfg = builder.engine.images.image_config_json(image)
    c = cfg["config"]
    assert "APP_HOME=/srv/app" in c["Env"] and "GREETING=hello world" in c["Env"]
    assert not any(e.startswith("VERSION=") for e in c["Env"])  # ARGs do not persist
    assert c["Labels"] == {"org.example.version": "1.0", "org.example.name": "demo app"}
    assert cfg["author"] == "someone@example.com"
    assert c["WorkingDir"] == "/srv/app"
    assert c["User"] == "root"
    assert c["Volumes"] == {"/data": {}}
    assert c["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert c["StopSignal"] == "SIGQUIT"
    assert c["Healthcheck"] == {"Test": ["CMD", "test", "-f", "/built.txt"], "Interval": 5_000_000_000,
                                "Timeout": 2_000_000_000, "Retries": 2}
    assert c["Shell"] == ["/bin/sh", "-e", "-c"]
    assert c["OnBuild"] == ["RUN echo triggered > /onbuild.txt"]
    assert c["Entrypoint"] == ["/bin/sh", "-c"] and c["Cmd"] == ["cat /built.txt"]
    assert info.tags == ["docker.io/test/built:latest"]
    # Files: COPY with --chown/--chmod (names from the image's passwd), directories, globs, ADD.
    assert builder.mode(image, "/srv/app/conf/config.ini") == (0o640, 1000, 1000)
    assert builder.read(image, "/srv/app/src/pkg/b.py") == "B\n"
    assert builder.mode(image, "/srv/app/src/a.py")[1:] == (0, 0)
    assert builder.read(image, "/srv/app/notes/one.txt") == "1\n" and builder.read(image, "/srv/app/notes/two.txt")
    assert builder.read(image, "/opt/payload/inner/data.bin") == "tarred"
    assert builder.mode(image, "/opt/payload/inner/data.bin") == (0o640, 7, 8)
    assert builder.read(image, "/opt/plain.txt") == "not an archive\n"
    assert builder.read(image, "/etc/motd") == "welcome to /srv/app\n"
    # RUN: shell form with ENV, ARG and WORKDIR; exec form; heredoc script; USER.
    assert builder.read(image, "/built.txt") == ("hello world from /srv/app v1.0\nconf:\nconfig.ini\n\n"
                                                 "notes:\none.txt\nplain.txt\ntwo.txt\n\nsrc:\na.py\npkg\n")
    assert builder.read(image, "/exec-form.txt") == "0\n"
    assert builder.read(image, "/heredoc.txt") == "line one\nline two\n"
    assert builder.read(image, "/tmp/user.txt") == "app\n"
    # The runtime's own mount points are not part of any layer.
    assert builder.view(image).lstat("/etc/hostname") is None
    assert builder.leftover_containers() == []


def test_built_image_runs_and_onbuild_triggers(builder: Builder) -> None:
    built = builder.build('FROM busybox:latest\nONBUILD RUN echo triggered > /onbuild.txt\n'
                          'CMD ["sh", "-c", "echo from-image"]\n', tags=["parent:1"])
    child = builder.build("FROM parent:1\nRUN cat /onbuild.txt > /copy.txt\n", tags=["child:1"])
    assert builder.read(child.info.id, "/copy.txt") == "triggered\n"
    assert "ONBUILD RUN echo triggered > /onbuild.txt" in [e.text for e in child.events if e.kind == "step"]
    assert not builder.engine.images.image_config_json(child.info.id)["config"].get("OnBuild")
    # The built image runs as a container.
    engine = builder.engine
    state = engine.container_create(ContainerSpec(name="built-run", image="parent:1", network_mode="none"))
    try:
        engine.container_start(state.id)
        assert engine.container_wait(state.id, timeout=30) == 0
        assert [r.text for r in engine.container_logs(state.id)] == ["from-image\n"]
    finally:
        engine.container_remove(state.id, force=True)
    assert built.info.config.cmd == ["sh", "-c", "echo from-image"]


def test_entrypoint_clears_inherited_cmd_and_shell_forms(builder: Builder) -> None:
    builder.build('FROM busybox:latest\nCMD ["inherited"]\n', tags=["base:cmd"])
    built = builder.build("FROM base:cmd\nENTRYPOINT exec top -b\n")
    assert built.info.config.entrypoint == ["/bin/sh", "-c", "exec top -b"]
    assert built.info.config.cmd is None


def test_failing_run_reports_its_line_and_leaves_nothing(builder: Builder) -> None:
    dockerfile = "FROM busybox:latest\nENV A=1\nRUN echo before\nRUN echo oops >&2 && \\\n    exit 3\nRUN echo never\n"
    images_before = {i.id for i in builder.engine.image_list()}
    with pytest.raises(DockerfileError) as err:
        builder.build(dockerfile)
    assert err.value.line == 4
    assert "exit code: 3" in str(err.value) and str(err.value).startswith("Dockerfile:4: RUN failed")
    assert builder.leftover_containers() == []
    # At most one intermediate image (the cache's material for the steps that worked) is kept.
    assert len({i.id for i in builder.engine.image_list()} - images_before) <= 1


def test_dockerfile_syntax_errors_come_before_any_step(builder: Builder) -> None:
    with pytest.raises(DockerfileError) as err:
        builder.build("FROM busybox:latest\nRUN echo should-not-run\nHEALTHCHECK --interval=x CMD true\n")
    assert err.value.line == 3
    assert "invalid HEALTHCHECK --interval=x" in str(err.value)
    assert [e for e in builder.last_events if e.kind in ("step", "output")] == []


def test_copy_errors(builder: Builder) -> None:
    builder.write({"a.txt": "a", "b.txt": "b", ".dockerignore": "secret.txt\n", "secret.txt": "s"})
    with pytest.raises(DockerfileError, match="must be a directory and end with a /") as err:
        builder.build("FROM busybox:latest\nCOPY a.txt b.txt /nodir\n")
    assert err.value.line == 2
    with pytest.raises(DockerfileError, match="excluded by .dockerignore"):
        builder.build("FROM busybox:latest\nCOPY secret.txt /\n")
    with pytest.raises(DockerfileError, match="outside the build context"):
        builder.build("FROM busybox:latest\nCOPY ../x /\n")
    # A base image that is neither in the store nor pullable: the FROM line, and how to get one.
    with pytest.raises(DockerfileError, match="127.0.0.1:9/nosuch:1 is not in the image store") as err:
        builder.build("ARG X=1\n\nFROM 127.0.0.1:9/nosuch:1\n")
    assert err.value.line == 3 and "hoist image base" in str(err.value)
