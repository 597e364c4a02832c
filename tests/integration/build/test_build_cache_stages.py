"""Layer cache hits and misses, multi-stage builds, --target, build args and .dockerignore in real builds."""

from __future__ import annotations

import pytest

from runtime.errors import BuildError
from tests.integration.build.conftest import Builder

APP = """\
FROM busybox:latest
ARG FLAVOR=plain
RUN echo "deps $FLAVOR" > /deps.txt
COPY requirements.txt /app/
RUN cat /app/requirements.txt > /app/installed.txt
COPY src/ /app/src/
RUN ls /app/src > /app/listing.txt
CMD ["cat", "/app/listing.txt"]
"""


def test_cache_hits_misses_and_no_cache(builder: Builder) -> None:
    # The host's network: these RUNs need none, and it spares a bridge per build (the test is about the cache).
    builder.defaults = {"network": "host"}
    builder.write({"requirements.txt": "flask\n", "src/main.py": "v1\n", "src/notes.log": "x\n",
                   ".dockerignore": "src/*.log\n"})
    first = builder.build(APP)
    assert len(first.executed_steps) == 6
    assert "notes.log" not in builder.read(first.info.id, "/app/listing.txt")

    # Nothing changed: every step is a cache hit, no RUN output, the same image.
    again = builder.build(APP)
    assert again.executed_steps == [] and again.output == []
    assert again.info.id == first.info.id

    # An ignored file changes nothing either.
    builder.write({"src/notes.log": "changed\n"})
    assert builder.build(APP).executed_steps == []

    # A changed source file re-runs from the COPY that reads it, not before.
    builder.write({"src/main.py": "v2\n"})
    changed = builder.build(APP)
    assert changed.executed_steps == ["COPY src/ /app/src/", "RUN ls /app/src > /app/listing.txt",
                                      'CMD ["cat", "/app/listing.txt"]']
    assert builder.read(changed.info.id, "/app/src/main.py") == "v2\n"
    assert builder.read(changed.info.id, "/deps.txt") == "deps plain\n"

    # A build arg a RUN can see is part of its key: changed value, re-run from there.
    flavored = builder.build(APP, args={"FLAVOR": "fancy"})
    assert flavored.executed_steps[0] == 'RUN echo "deps $FLAVOR" > /deps.txt'
    assert builder.read(flavored.info.id, "/deps.txt") == "deps fancy\n"

    # --no-cache runs everything again.
    assert len(builder.build(APP, no_cache=True).executed_steps) == 6
    assert builder.leftover_containers() == []
    # Only the final images remain: no intermediate images pile up for a single-stage build.
    assert all(i.tags or i.id in (first.info.id, changed.info.id, flavored.info.id)
               for i in builder.engine.image_list())


MULTI = """\
ARG BASE=busybox:latest
FROM ${BASE} AS deps
RUN echo deps > /deps.txt

FROM deps AS build
ARG BASE
ARG MODE=debug
COPY app.txt /src/
RUN echo "built $MODE from $BASE" > /out.txt && cat /src/app.txt >> /out.txt

FROM busybox:latest AS unused
RUN echo "this stage is never needed" && exit 1

FROM busybox:latest AS final
COPY --from=build /out.txt /deps.txt /result/
COPY --from=busybox:latest /bin/busybox /copied/busybox
RUN cat /result/out.txt
"""


def test_multi_stage_target_and_global_args(builder: Builder) -> None:
    builder.defaults = {"network": "host"}
    builder.write({"app.txt": "app\n"})
    built = builder.build(MULTI, args={"MODE": "release"})
    image = built.info.id
    assert builder.read(image, "/result/out.txt") == "built release from busybox:latest\napp\n"
    assert builder.read(image, "/result/deps.txt") == "deps\n"
    assert builder.mode(image, "/copied/busybox")[0] & 0o111
    # The unused stage never ran (it would have failed).
    assert not any("never needed" in line for line in built.output)
    # FROM <stage> inherits the stage's files.
    assert "built release" in built.output[-2]

    # --target stops at a stage; later stages do not run.
    target = builder.build(MULTI, target="build", tags=["test/target:1"])
    assert builder.read(target.info.id, "/out.txt") == "built debug from busybox:latest\napp\n"
    assert builder.view(target.info.id).lstat("/result") is None
    assert not any(e.stage == "final" for e in target.events)

    with pytest.raises(BuildError, match="target stage 'nope' could not be found"):
        builder.build(MULTI, target="nope")
    assert builder.leftover_containers() == []


def test_unconsumed_build_args_and_predefined_proxy_args(builder: Builder) -> None:
    built = builder.build("FROM busybox:latest\nRUN echo \"proxy=$HTTP_PROXY\" > /p.txt\n",
                          args={"NOT_DECLARED": "x", "HTTP_PROXY": "http://proxy:3128"})
    assert builder.read(built.info.id, "/p.txt") == "proxy=http://proxy:3128\n"
    assert any("NOT_DECLARED" in w and "not consumed" in w for w in built.warnings)
    assert not any("HTTP_PROXY" in w for w in built.warnings)
    # Proxy args never reach the image config.
    assert not any(e.startswith("HTTP_PROXY") for e in built.info.config.env)


def test_run_cache_mount_persists_and_network_none(builder: Builder) -> None:
    dockerfile = ("FROM busybox:latest\nARG N\n"
                  "RUN --mount=type=cache,target=/cache echo $N >> /cache/runs && cat /cache/runs > /seen.txt\n"
                  "RUN --network=none cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /ifaces.txt\n")
    one = builder.build(dockerfile, args={"N": "1"})
    two = builder.build(dockerfile, args={"N": "2"})
    assert builder.read(one.info.id, "/seen.txt") == "1\n"
    assert builder.read(two.info.id, "/seen.txt") == "1\n2\n"
    assert builder.view(two.info.id).lstat("/cache/runs") is None  # the cache mount is not in the layer
    assert builder.read(two.info.id, "/ifaces.txt") == "lo\n"


def test_dockerfile_flag_inline_and_named_ignore_file(builder: Builder) -> None:
    builder.write({"docker/prod.Dockerfile": "FROM busybox:latest\nCOPY . /ctx/\n",
                   "docker/prod.Dockerfile.dockerignore": "secret*\n", ".dockerignore": "public*\n",
                   "secret.txt": "s", "public.txt": "p"})
    built = builder.build(None, dockerfile="docker/prod.Dockerfile")
    names = builder.view(built.info.id).listdir("/ctx")
    assert "public.txt" in names and "secret.txt" not in names
    inline = builder.build(None, dockerfile_inline="FROM busybox:latest\nLABEL inline=yes\n")
    assert inline.info.config.labels == {"inline": "yes"}
    labelled = builder.build(None, dockerfile_inline="FROM busybox:latest\n", labels={"extra": "1"})
    assert labelled.info.config.labels == {"extra": "1"}
