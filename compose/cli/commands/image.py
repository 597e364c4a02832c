"""hoist image: manage images in the local store (docker image ls|inspect|tag|rm|prune|import|load|save|history)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from compose.cli.gotemplate import render_template

HELP = "Manage images"

_SUBCOMMANDS: tuple[str, ...] = ("ls", "inspect", "tag", "rm", "prune", "import", "load", "save", "history")
_SUBCOMMANDS += ("pull", "push")
_SUBCOMMANDS += ("build", "base")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compose.cli.parsers import LazyParser

    # One process runs one sub-command: each sub-parser gets its flags only when used (parsers.LazyParser);
    # building all thirteen cost ~5 ms of every `hoist image ...` process.
    sub = parser.add_subparsers(dest="image_command", metavar="COMMAND", title="commands",
                                parser_class=LazyParser)
    for name, aliases, text, description, flags in _subcommand_parsers():
        sub.add_parser(name, aliases=aliases, help=text, description=description or text,
                       populate=_with_global_flags(flags))


def _with_global_flags(flags: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser],
                                                                                      None]:
    def populate(parser: argparse.ArgumentParser) -> None:
        from compose.cli.main import add_global_flags

        flags(parser)
        # Global flags (--root, ...) after the subcommand too, as docker's persistent flags allow.
        add_global_flags(parser, after_command=True)

    return populate


_Flags = Callable[[argparse.ArgumentParser], None]


def _subcommand_parsers() -> list[tuple[str, list[str], str, str, _Flags]]:
    """(name, aliases, help, description when it says more than help, flags) of each sub-command."""
    from compose.cli.commands import build_image, image_registry

    return [
        ("ls", ["list"], "List images", "", _ls_flags),
        ("inspect", [], "Display detailed information on one or more images", "", _inspect_flags),
        ("tag", [], "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", "", _tag_flags),
        ("rm", ["remove", "rmi"], "Remove one or more images", "", _rm_flags),
        ("prune", [], "Remove unused images", "", _prune_flags),
        ("import", [], "Import the contents from a tarball to create a filesystem image",
         "Import the contents from a tarball (or a directory) to create a filesystem image", _import_flags),
        ("load", [], "Load an image from a tar archive or STDIN",
         "Load an image from a tar archive (docker-archive or oci-archive) or STDIN", _load_flags),
        ("save", [], "Save one or more images to a tar archive (streamed to STDOUT by default)",
         "Save one or more images to a tar archive", _save_flags),
        ("history", [], "Show the history of an image", "", _history_flags),
        # pull/push: the registry client's verbs, defined in image_registry (stdlib-only at import time).
        ("pull", [], image_registry.PULL_HELP, "", image_registry.add_pull_arguments),
        ("push", [], image_registry.PUSH_HELP, "", image_registry.add_push_arguments),
        # build/base: the Dockerfile builder's verbs, defined in build_image (stdlib-only at import time).
        ("build", [], build_image.HELP, "", build_image.add_arguments),
        ("base", [], build_image.BASE_HELP, "", build_image.add_base_arguments),
    ]


def _ls_flags(ls: argparse.ArgumentParser) -> None:
    ls.add_argument("-a", "--all", action="store_true", help="show all images (accepted; there are no "
                    "intermediate images)")
    ls.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    ls.add_argument("--digests", action="store_true", help="show digests")
    ls.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    ls.add_argument("-f", "--filter", action="append", default=[], metavar="FILTER",
                    help="filter output (dangling=true|false, reference=PATTERN, label=KEY[=VALUE], "
                    "before=IMAGE, since=IMAGE)")
    ls.add_argument("--format", default="table", metavar="FORMAT",
                    help="'table', 'json', or a template such as '{{.Repository}}:{{.Tag}}'")
    ls.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")


def _inspect_flags(inspect: argparse.ArgumentParser) -> None:
    inspect.add_argument("-f", "--format", default="", metavar="FORMAT",
                         help="'json' (default) or a template such as '{{.Id}}'")
    inspect.add_argument("images", nargs="+", metavar="IMAGE")


def _tag_flags(tag: argparse.ArgumentParser) -> None:
    tag.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    tag.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


def _rm_flags(rm: argparse.ArgumentParser) -> None:
    rm.add_argument("-f", "--force", action="store_true", help="force removal of the image")
    rm.add_argument("--no-prune", action="store_true", help="do not delete untagged parents (accepted)")
    rm.add_argument("images", nargs="+", metavar="IMAGE")


def _prune_flags(prune: argparse.ArgumentParser) -> None:
    prune.add_argument("-a", "--all", action="store_true", help="remove all unused images, not just dangling ones")
    prune.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    prune.add_argument("--filter", action="append", default=[], metavar="FILTER",
                       help="provide filter values (label=KEY[=VALUE], label!=KEY[=VALUE])")


def _import_flags(imp: argparse.ArgumentParser) -> None:
    imp.add_argument("-c", "--change", action="append", default=[], metavar="INSTRUCTION",
                     help="apply a Dockerfile instruction to the created image (repeatable)")
    imp.add_argument("-m", "--message", default="", help="set commit message for the imported image")
    imp.add_argument("--platform", default="", help="set platform (accepted; only the host's is supported)")
    imp.add_argument("file", metavar="FILE|-")
    imp.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")


def _load_flags(load: argparse.ArgumentParser) -> None:
    load.add_argument("-i", "--input", default=None, metavar="FILE", help="read from tar archive file, "
                      "instead of STDIN")
    load.add_argument("-q", "--quiet", action="store_true", help="suppress the load output")


def _save_flags(save: argparse.ArgumentParser) -> None:
    save.add_argument("-o", "--output", default=None, metavar="FILE", help="write to a file, instead of STDOUT")
    save.add_argument("--format", choices=("docker", "oci"), default="docker",
                      help="archive format: docker (manifest.json + repositories) or oci (oci-archive)")
    save.add_argument("images", nargs="+", metavar="IMAGE")


def _history_flags(hist: argparse.ArgumentParser) -> None:
    hist.add_argument("-H", "--human", action=argparse.BooleanOptionalAction, default=True,
                      help="print sizes and dates in human readable format")
    hist.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    hist.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    hist.add_argument("--format", default="table", metavar="FORMAT", help="'table', 'json' or a template")
    hist.add_argument("image", metavar="IMAGE")


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "image_command", None)
    if command is None:
        print("usage: hoist image COMMAND (one of: " + ", ".join(_SUBCOMMANDS) + ")", file=sys.stderr)
        return 1
    handler = _HANDLERS[{"list": "ls", "remove": "rm", "rmi": "rm"}.get(command, command)]
    return handler(args)


# --------------------------------------------------------------------------------------------- helpers


def _store() -> Any:
    from runtime.images.store import ImageStore
    from runtime.naming import resolve_root

    return ImageStore(resolve_root())


def _in_use_checker() -> Callable[[str], bool]:
    """Image id -> is a container (of any state) using it. Asks the container records once."""
    from runtime.naming import resolve_root

    try:
        from runtime.engine import open_engine

        engine = open_engine(resolve_root())
        used = {rec.image_id for rec in engine.records.all()}
    except ImportError:  # an engine without containers: nothing can use an image
        used = set()
    return lambda image_id: image_id in used


def human_size(size: float) -> str:
    """Docker's sizes: decimal units, 3 significant digits (``4.26MB``, ``0B``)."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.3g}{units[i]}"


def human_since(rfc3339: str) -> str:
    """Docker's ``CreatedSince``: "5 minutes ago", "About an hour ago", "2 weeks ago"."""
    from datetime import UTC, datetime

    try:
        created = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    except ValueError:
        return "N/A"
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    seconds = (datetime.now(UTC) - created).total_seconds()
    if seconds < 1:
        text = "Less than a second"
    elif seconds < 2:
        text = "1 second"
    elif seconds < 60:
        text = f"{int(seconds)} seconds"
    elif seconds < 120:
        text = "About a minute"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} minutes"
    elif seconds < 7200:
        text = "About an hour"
    elif seconds < 48 * 3600:
        text = f"{int(seconds // 3600)} hours"
    elif seconds < 7 * 24 * 3600 * 2:
        text = f"{int(seconds // 86400)} days"
    elif seconds < 30 * 24 * 3600 * 3:
        text = f"{int(seconds // (7 * 86400))} weeks"
    elif seconds < 365 * 24 * 3600 * 2:
        text = f"{int(seconds // (30 * 86400))} months"
    else:
        text = f"{int(seconds // (365 * 86400))} years"
    return f"{text} ago"


def _print_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    """Docker's tabwriter look: columns padded to the widest cell plus 3 spaces."""
    table = [[title for title, _ in columns]] + [[str(r.get(key, "")) for _, key in columns] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    for row in table:
        print("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def _output(rows: list[dict[str, Any]], fmt: str, columns: list[tuple[str, str]]) -> None:
    import json

    if fmt == "json":
        for row in rows:
            print(json.dumps(row, separators=(",", ":")))
    elif fmt in ("", "table"):
        _print_table(rows, columns)
    elif fmt.startswith("table "):
        template = fmt[len("table "):]
        header = {key: title for title, key in columns}
        print(render_template(template, {**{k: k.upper() for r in rows for k in r}, **header}))
        for row in rows:
            print(render_template(template, row))
    else:
        for row in rows:
            print(render_template(fmt, row))


def _short_id(image_id: str, no_trunc: bool) -> str:
    return image_id if no_trunc else image_id.removeprefix("sha256:")[:12]


# ------------------------------------------------------------------------------------------------- ls


def _ls_rows(store: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    from runtime.images import reference

    infos = store.list()
    filters = _parse_filters(args.filter)
    infos = _apply_filters(store, infos, filters)
    rows = []
    for info in infos:
        digests = {reference.parse(d).repository: d.split("@", 1)[1] for d in info.digests}
        entries = [(reference.parse(t).familiar_name(), reference.parse(t).tag or "<none>") for t in info.tags]
        if not entries:
            entries = [("<none>", "<none>")]
        for repo, tag in entries:
            if args.repository and not _matches_repository(args.repository, repo, tag):
                continue
            if "reference" in filters and not any(
                    _glob_ref(p, repo, tag) for p in filters["reference"]):
                continue
            full_repo = reference.parse(repo).repository if repo != "<none>" else ""
            rows.append({
                "Containers": "N/A",
                "CreatedAt": info.created,
                "CreatedSince": human_since(info.created),
                "Digest": digests.get(full_repo, "<none>"),
                "ID": _short_id(info.id, args.no_trunc),
                "Repository": repo,
                "SharedSize": "N/A",
                "Size": human_size(info.size),
                "Tag": tag,
                "UniqueSize": "N/A",
                "VirtualSize": human_size(info.size),
            })
    return rows


def _parse_filters(raw: list[str]) -> dict[str, list[str]]:
    from compose.errors import UsageError

    filters: dict[str, list[str]] = {}
    for item in raw:
        key, eq, value = item.partition("=")
        if not eq and not key.startswith("label"):
            raise UsageError(f"bad format of filter (expected name=value): {item!r}")
        if key not in ("dangling", "reference", "label", "label!", "before", "since", "until"):
            raise UsageError(f"invalid filter {key!r}",
                             hint="use dangling, reference, label, before, since or until")
        filters.setdefault(key, []).append(value)
    return filters


def _label_match(labels: dict[str, str], spec: str) -> bool:
    key, eq, value = spec.partition("=")
    return key in labels and (not eq or labels[key] == value)


def _apply_filters(store: Any, infos: list[Any], filters: dict[str, list[str]]) -> list[Any]:
    from compose.errors import UsageError

    if "dangling" in filters:
        wanted = filters["dangling"][-1].lower()
        if wanted not in ("true", "false", "1", "0"):
            raise UsageError(f"invalid filter 'dangling={wanted}'", hint="use dangling=true or dangling=false")
        dangling = wanted in ("true", "1")
        infos = [i for i in infos if (not i.tags) == dangling]
    for spec in filters.get("label", []):
        infos = [i for i in infos if _label_match(i.config.labels, spec)]
    for spec in filters.get("label!", []):
        infos = [i for i in infos if not _label_match(i.config.labels, spec)]
    for ref in filters.get("before", []):
        pivot = store.resolve(ref).created
        infos = [i for i in infos if i.created < pivot]
    for ref in filters.get("since", []):
        pivot = store.resolve(ref).created
        infos = [i for i in infos if i.created > pivot]
    return infos


def _glob_ref(pattern: str, repo: str, tag: str) -> bool:
    """docker's reference filter: a glob against the familiar name, or name:tag when the pattern has a tag."""
    import fnmatch

    if ":" in pattern.rsplit("/", 1)[-1]:
        return fnmatch.fnmatchcase(f"{repo}:{tag}", pattern)
    return fnmatch.fnmatchcase(repo, pattern)


def _matches_repository(wanted: str, repo: str, tag: str) -> bool:
    from runtime.images import reference

    try:
        parsed = reference.parse(wanted, default_tag=False)
    except reference.InvalidSpec:
        return False
    if repo == "<none>" or reference.parse(repo).repository != parsed.repository:
        return False
    return parsed.tag is None or parsed.tag == tag


def _cmd_ls(args: argparse.Namespace) -> int:
    rows = _ls_rows(_store(), args)
    if args.quiet:
        seen: list[str] = []
        for row in rows:
            if row["ID"] not in seen:
                seen.append(row["ID"])
        for image_id in seen:
            print(image_id)
        return 0
    columns = [("REPOSITORY", "Repository"), ("TAG", "Tag")]
    if args.digests:
        columns.append(("DIGEST", "Digest"))
    columns += [("IMAGE ID", "ID"), ("CREATED", "CreatedSince"), ("SIZE", "Size")]
    _output(rows, args.format, columns)
    return 0


# ------------------------------------------------------------------------------------------ inspect


def _cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from runtime.errors import NotFound
    from runtime.images.inspect import inspect_document

    store = _store()
    docs = []
    missing = []
    for ref in args.images:
        try:
            docs.append(inspect_document(store, ref))
        except NotFound as exc:
            missing.append(exc)
    if args.format and args.format != "json":
        for doc in docs:
            print(render_template(args.format, doc))
    else:
        print(json.dumps(docs, indent=4))
    if missing:
        for error in missing:
            print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------------------------- tag, rm, prune


def _cmd_tag(args: argparse.Namespace) -> int:
    _store().tag(args.source, args.target)
    return 0


def _cmd_rm(args: argparse.Namespace) -> int:
    from runtime.errors import RuntimeErrorBase

    store = _store()
    in_use = _in_use_checker()
    failed = 0
    for ref in args.images:
        try:
            for line in store.remove(ref, force=args.force, in_use=in_use):
                print(line)
        except RuntimeErrorBase as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _confirm(question: str) -> bool:
    print(f"{question} [y/N] ", end="", flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _cmd_prune(args: argparse.Namespace) -> int:
    filters = _parse_filters(args.filter)
    unsupported = set(filters) - {"label", "label!"}
    if unsupported:
        from compose.errors import UsageError

        raise UsageError(f"invalid filter {sorted(unsupported)[0]!r} for image prune", hint="use label=...")
    if not args.force:
        warning = ("WARNING! This will remove all images without at least one container associated to them."
                   if args.all else "WARNING! This will remove all dangling images.")
        print(warning)
        if not _confirm("Are you sure you want to continue?"):
            return 0
    store = _store()
    checker = _in_use_checker()
    keep: set[str] = set()
    if filters:
        # Images the label filters exclude are treated as in use: prune must not touch them.
        infos = store.list()
        selected = {i.id for i in _apply_filters(store, infos, filters)}
        keep = {i.id for i in infos} - selected
    report = store.prune(all=args.all, in_use=lambda image_id: image_id in keep or checker(image_id))
    if report.deleted:
        print("Deleted Images:")
        for line in report.deleted:
            kind, _, what = line.partition(": ")
            print(f"{kind.lower()}: {what}")  # docker's prune prints "untagged: ..." / "deleted: ..."
        print()
    print(f"Total reclaimed space: {human_size(report.space_reclaimed)}")
    return 0


# -------------------------------------------------------------------------- import, load, save, history


def _cmd_import(args: argparse.Namespace) -> int:
    import os
    import shutil
    import tempfile

    store = _store()
    if args.file == "-":
        with tempfile.NamedTemporaryFile(prefix="hoist-import-", suffix=".tar") as tmp:
            shutil.copyfileobj(sys.stdin.buffer, tmp, 1 << 20)
            tmp.flush()
            info = store.import_tarball(tmp.name, args.reference, args.change, message=args.message or
                                        "Imported from -")
    elif os.path.isdir(args.file):
        info = store.import_directory(args.file, args.reference, args.change, message=args.message)
    else:
        info = store.import_tarball(args.file, args.reference, args.change, message=args.message)
    print(info.id)
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    import tempfile

    from runtime.images import reference

    store = _store()
    if args.input:
        loaded = store.load_detailed(args.input)
    else:
        if sys.stdin.isatty():
            from compose.errors import UsageError

            raise UsageError("requested load from stdin, but stdin is empty",
                             hint="pipe an archive in, or give it with -i FILE")
        import shutil

        with tempfile.NamedTemporaryFile(prefix="hoist-load-", suffix=".tar") as tmp:
            shutil.copyfileobj(sys.stdin.buffer, tmp, 1 << 20)
            tmp.flush()
            loaded = store.load_detailed(tmp.name)
    if not args.quiet:
        for info, tags in loaded:
            for tag in tags:
                print(f"Loaded image: {reference.familiar(tag)}")
            if not tags:
                print(f"Loaded image ID: {info.id}")
    return 0


def _cmd_save(args: argparse.Namespace) -> int:
    from pathlib import Path

    store = _store()
    if args.output:
        store.save(args.images, Path(args.output), args.format)
        return 0
    if sys.stdout.isatty():
        from compose.errors import UsageError

        raise UsageError("cowardly refusing to save to a terminal", hint="use the -o flag or redirect")
    from runtime.images.archive import save_archive

    sys.stdout.flush()
    save_archive(store, list(args.images), sys.stdout.buffer, args.format)
    sys.stdout.buffer.flush()
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from runtime.images.inspect import history

    entries = history(_store(), args.image)
    if args.quiet:
        for entry in entries:
            print(_short_id(entry.id, args.no_trunc) if entry.id != "<missing>" else entry.id)
        return 0
    rows = []
    for entry in entries:
        created_by = entry.created_by
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        rows.append({
            "ID": _short_id(entry.id, args.no_trunc) if entry.id != "<missing>" else entry.id,
            "CreatedAt": entry.created,
            "CreatedSince": human_since(entry.created) if args.human else entry.created,
            "CreatedBy": created_by,
            "Size": human_size(entry.size) if args.human else str(entry.size),
            "Comment": entry.comment,
        })
    _output(rows, args.format, [("IMAGE", "ID"), ("CREATED", "CreatedSince"), ("CREATED BY", "CreatedBy"),
                                ("SIZE", "Size"), ("COMMENT", "Comment")])
    return 0


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "ls": _cmd_ls, "inspect": _cmd_inspect, "tag": _cmd_tag, "rm": _cmd_rm, "prune": _cmd_prune,
    "import": _cmd_import, "load": _cmd_load, "save": _cmd_save, "history": _cmd_history,
}


def _cmd_pull(args: argparse.Namespace) -> int:
    from compose.cli.commands import image_registry

    return image_registry.run_pull(args)


def _cmd_push(args: argparse.Namespace) -> int:
    from compose.cli.commands import image_registry

    return image_registry.run_push(args)


_HANDLERS.update({"pull": _cmd_pull, "push": _cmd_push})


def _cmd_build(args: argparse.Namespace) -> int:
    from compose.cli.commands import build_image

    return build_image.run(args)


def _cmd_base(args: argparse.Namespace) -> int:
    from compose.cli.commands import build_image

    return build_image.run_base(args)


_HANDLERS.update({"build": _cmd_build, "base": _cmd_base})
