"""hoist config (alias: convert): the project's compose files merged, interpolated, validated and printed in
canonical form, as `docker compose config` prints it (same keys, same long forms, same order)."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "Parse, resolve and render compose file in canonical format"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="only validate the configuration, print nothing")
    parser.add_argument("--services", action="store_true", help="print the service names, one per line")
    parser.add_argument("--volumes", action="store_true", help="print the volume names, one per line")
    parser.add_argument("--networks", action="store_true", help="print the network names, one per line")
    parser.add_argument("--profiles", dest="list_profiles", action="store_true",
                        help="print the profile names, one per line")
    parser.add_argument("--images", action="store_true", help="print the image names, one per line")
    parser.add_argument("--hash", metavar="SERVICES",
                        help='print the config hash of the services ("*" for all), one per line')
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml", help="format the output")
    parser.add_argument("-o", "--output", metavar="FILE", help="save to FILE instead of printing")
    parser.add_argument("--no-interpolate", action="store_true", help="don't interpolate environment variables")
    parser.add_argument("--no-normalize", action="store_true", help="don't normalize compose model")
    parser.add_argument("--no-path-resolution", action="store_true", help="don't resolve file paths")
    parser.add_argument("--no-consistency", action="store_true",
                        help="don't check model consistency (undefined references, cycles...)")
    parser.add_argument("--no-env-resolution", action="store_true",
                        help="don't resolve service env files")
    parser.add_argument("--resolve-image-digests", action="store_true",
                        help="pin image tags to digests (asks each image's registry)")
    parser.add_argument("--variables", action="store_true", help="print the model variables and their defaults")
    parser.add_argument("--environment", action="store_true",
                        help="print the environment used for interpolation")
    parser.add_argument("service_names", nargs="*", metavar="SERVICE", help="only these services")


def run(args: argparse.Namespace) -> int:
    from compose.cli.projectopts import load_options
    from compose.project import load_document

    if args.variables:
        return _print_variables(args)
    options = load_options(
        args, interpolate=not args.no_interpolate, normalize=not args.no_normalize,
        resolve_paths=not args.no_path_resolution, consistency=not args.no_consistency,
        resolve_environment=not args.no_env_resolution, services=list(args.service_names),
    )
    if args.list_profiles:
        # List every profile declared, whatever is active: load with all profiles enabled.
        options.profiles = ["*"]
    if args.quiet and not any((args.services, args.volumes, args.networks, args.list_profiles, args.images,
                               args.hash, args.environment, args.resolve_image_digests)):
        from compose.project import check_project

        check_project(options)
        return 0
    loaded = load_document(options)
    document = loaded.document
    if args.service_names:
        document = _only_services(document, args.service_names)
    if args.resolve_image_digests:
        document = _with_image_digests(document)
    if args.environment:
        return _emit(args, "".join(f"{k}={v}\n" for k, v in sorted(loaded.environ.items())))
    if args.services:
        return _emit(args, _lines(document.get("services", {})))
    if args.volumes:
        return _emit(args, _lines(document.get("volumes", {})))
    if args.networks:
        return _emit(args, _lines(document.get("networks", {})))
    if args.list_profiles:
        profiles = sorted({p for svc in document.get("services", {}).values() for p in svc.get("profiles", [])}
                          | {p for svc in loaded.disabled.values() for p in svc.get("profiles", [])})
        return _emit(args, _lines(profiles))
    if args.images:
        images = [svc.get("image") or f"{loaded.name}-{name}" for name, svc in document["services"].items()]
        return _emit(args, _lines(images))
    if args.hash:
        from compose.confighash import service_config_hash

        wanted = list(document["services"]) if args.hash.strip() == "*" else \
            [s.strip() for s in args.hash.split(",") if s.strip()]
        lines = []
        for name in wanted:
            if name not in document["services"]:
                from compose.errors import UsageError

                raise UsageError(f"no such service: {name}")
            lines.append(f"{name} {service_config_hash(document['services'][name])}")
        return _emit(args, _lines(lines))
    from compose.canonical_output import to_json, to_yaml

    text = to_json(document) + "\n" if args.format == "json" else to_yaml(document)
    return _emit(args, text)


def _only_services(document: dict, names: list[str]) -> dict:
    from compose.errors import UsageError

    services = document.get("services", {})
    for name in names:
        if name not in services:
            raise UsageError(f"no such service: {name}")
    return {**document, "services": {k: v for k, v in services.items() if k in names}}


def _lines(items: object) -> str:
    return "".join(f"{item}\n" for item in items)  # type: ignore[attr-defined]


def _emit(args: argparse.Namespace, text: str) -> int:
    if args.quiet:
        return 0
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
        return 0
    import sys

    sys.stdout.write(text)
    return 0


def _print_variables(args: argparse.Namespace) -> int:
    """Every variable the files use, whether it is required, its default and its current value."""
    from compose.cli.projectopts import load_options
    from compose.variables import list_variables

    rows = list_variables(load_options(args))
    if args.format == "json":
        import json

        text = json.dumps({r["name"]: r for r in rows}, indent=2) + "\n"
    else:
        width = max([len("NAME")] + [len(r["name"]) for r in rows])
        text = f"{'NAME':<{width}}  REQUIRED  DEFAULT VALUE  ALTERNATE VALUE\n"
        for r in rows:
            text += (f"{r['name']:<{width}}  {str(r['required']).lower():<8}  {r['default_value'] or '':<13}  "
                     f"{r['alternate_value'] or ''}\n")
    return _emit(args, text)


def _with_image_digests(document: dict[str, Any]) -> dict[str, Any]:
    """``--resolve-image-digests``, as compose's: each service's image pinned to the digest its registry
    serves for that tag now (the manifest, or the index of a multi-platform image), written in full with
    its tag (``docker.io/library/busybox:latest@sha256:...``); an image already pinned only normalised, its
    tag dropped, as Docker's reference parser does. Services without an image (build only) are left as
    they are; a registry that cannot answer fails the command. The loaded document is not changed."""
    from runtime import naming
    from runtime.images import reference
    from runtime.images.registry import client_for

    services = {name: dict(svc) for name, svc in document.get("services", {}).items()}
    pinned: dict[str, str] = {}
    clients: dict[str, Any] = {}
    try:
        for svc in services.values():
            image = svc.get("image")
            if not image:
                continue
            if image not in pinned:
                ref = reference.parse(image)
                if ref.digest:
                    pinned[image] = f"{ref.repository}@{ref.digest}"
                else:
                    client = clients.get(ref.domain)
                    if client is None:
                        client = clients[ref.domain] = client_for(naming.resolve_root(), ref.domain)
                    manifest = client.get_manifest(ref.path, ref.tag or reference.DEFAULT_TAG)
                    pinned[image] = f"{ref}@{manifest.digest}"
            svc["image"] = pinned[image]
    finally:
        for client in clients.values():
            client.close()
    return {**document, "services": services}
