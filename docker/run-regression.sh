#!/usr/bin/env bash
# The emulator regression in Docker, in one command (as root or with sudo), from anywhere in the repository:
#
#   docker/run-regression.sh                                   # every zoo model x both boards
#   docker/run-regression.sh --models tiny_dscnn --samples 3   # arguments go to docker/regression.py
#
# 1. installs docker.io and debootstrap if missing; 2. starts dockerd if no daemon answers (and stops it, by
# its PID, on exit); 3. builds the base image tinyc-base:bookworm with debootstrap from the Debian mirror apt is
# configured with, if absent (no image registry needed); 4. builds the tinyc image from docker/Dockerfile;
# 5. runs docker/regression.py in the container with --network none: QEMU for every model x board that fits,
# Renode where the image has it. Exit status: 0 all passed, 1 a failure, 77 skipped (the daemon cannot start;
# the reason is printed).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${TINYC_IMAGE:-tinyc:regression}"
base_image="${TINYC_BASE_IMAGE:-tinyc-base:bookworm}"
suite=bookworm
work="$(mktemp -d "${TMPDIR:-/tmp}/tinyc-docker.XXXXXX")"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
dockerd_pid=""

log() { printf '[run-regression] %s\n' "$*" >&2; }

cleanup() {
    if [ -n "$dockerd_pid" ]; then
        log "stopping the dockerd this script started (pid $dockerd_pid)"
        $sudo kill "$dockerd_pid" 2>/dev/null || true
        for _ in $(seq 1 30); do
            $sudo kill -0 "$dockerd_pid" 2>/dev/null || break
            sleep 1
        done
    fi
    $sudo rm -rf "$work"
}
trap cleanup EXIT

# The Debian mirror apt uses here: the first bookworm 'main' source that is not the security archive,
# from deb822 files (URIs:/Suites:) or one-line 'deb URI SUITE ...' entries.
debian_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '
            /^[[:space:]]*$/ { if (uri != "" && suites ~ "(^| )" suite "( |$)" && uri !~ /security/) { print uri; exit }
                               uri = ""; suites = ""; next }
            /^URIs:/ { uri = $2 } /^Suites:/ { $1 = ""; suites = $0 }
            END { if (uri != "" && suites ~ "(^| )" suite "( |$)" && uri !~ /security/) print uri }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                              if ($(i + 1) == suite && $i !~ /security/) print $i }' "$f"
    done
}

missing=""
command -v docker >/dev/null 2>&1 || missing="$missing docker.io"
command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
if [ -n "$missing" ]; then
    log "installing$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

if ! $sudo docker info >/dev/null 2>&1; then
    log "no Docker daemon answers: starting dockerd (no iptables, no bridge; builds use --network host)"
    $sudo dockerd --iptables=false --ip6tables=false --bridge=none >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 60); do
        $sudo docker info >/dev/null 2>&1 && break
        if ! $sudo kill -0 "$dockerd_pid" 2>/dev/null; then break; fi
        sleep 1
    done
    if ! $sudo docker info >/dev/null 2>&1; then
        echo "SKIP: the Docker daemon could not start; dockerd said:" >&2
        tail -n 15 "$work/dockerd.log" >&2 || true
        exit 77
    fi
fi

if ! $sudo docker image inspect "$base_image" >/dev/null 2>&1; then
    mirror="$(debian_mirror | head -n 1)"
    if [ -z "$mirror" ]; then
        echo "error: no Debian $suite mirror found in /etc/apt/sources.list{,.d/*}; pass a base image with TINYC_BASE_IMAGE" >&2
        exit 1
    fi
    log "building $base_image with debootstrap --variant=minbase $suite from $mirror"
    start=$SECONDS
    $sudo debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
    $sudo tar -C "$work/rootfs" -c . | $sudo docker import - "$base_image" >/dev/null
    $sudo rm -rf "$work/rootfs"
    log "base image ready in $((SECONDS - start)) s"
fi

# The build context: the working tree's files (tracked and untracked, minus what .gitignore ignores), plus this
# machine's locally added CA certificates as docker/host-ca-*.crt, so that pip inside the build trusts the same
# TLS proxy the host does (the Dockerfile installs any it finds).
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done > "$work/files")
else  # not a git checkout: every file but caches and build products
    (cd "$repo" && find . -type f ! -path './.git/*' ! -path '*/__pycache__/*' ! -path '*/obj/*' \
        ! -path './build/*' ! -name '*.pyc' -print0 > "$work/files")
fi
mkdir -p "$work/extra/docker"
for ca in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$ca" ] && cp "$ca" "$work/extra/docker/host-ca-$(basename "$ca")"
done
log "building $image from docker/Dockerfile (BASE_IMAGE=$base_image)"
start=$SECONDS
{ tar -C "$repo" --null -T "$work/files" -cf - ; } > "$work/context.tar"
tar -C "$work/extra" -rf "$work/context.tar" docker
$sudo docker build --network host --build-arg BASE_IMAGE="$base_image" ${TINYC_DOCKER_BUILD_ARGS:-} \
    -t "$image" -f docker/Dockerfile - < "$work/context.tar"
log "image built in $((SECONDS - start)) s"

log "running the emulator regression in the container (--network none): $*"
start=$SECONDS
status=0
$sudo docker run --rm --network none "$image" python3 docker/regression.py "$@" || status=$?
log "regression finished in $((SECONDS - start)) s with status $status"
exit "$status"
