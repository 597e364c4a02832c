#!/bin/sh
# A journaled ext4 filesystem of its own for the benchmarks (root): `scripts/bench-fs.sh up` prints the
# HOIST_BENCH_DIR to export, `scripts/bench-fs.sh down` unmounts and deletes it.
#
# Why: the development VMs' root filesystem is ext4 without a journal. Before reusing an inode, such an
# ext4 looks at every inode of the block group freed in the last 12 hours (vm.dirtytime_expire_seconds)
# whose inode table is cached, so a directory where tests or benchmarks created and deleted many files
# takes 200-350 us per new file instead of 15-20 us, for hours. A container start creates a dozen files,
# so figures taken there measure the directory's history. A journaled ext4 (what hosts usually have)
# does not make that check.
set -eu
dir=${HOIST_BENCH_FS:-/var/tmp/hoist-benchfs}
case "${1:-}" in
up)
    if ! mountpoint -q "$dir"; then
        mkdir -p "$dir"
        truncate -s 8G "$dir.img"
        mkfs.ext4 -q -F "$dir.img"
        mount -o loop "$dir.img" "$dir"
    fi
    echo "export HOIST_BENCH_DIR=$dir"
    ;;
down)
    if mountpoint -q "$dir"; then umount "$dir"; fi
    rm -f "$dir.img"
    rmdir "$dir" 2>/dev/null || true
    ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
