#!/usr/bin/env bash
# t/docker-image.sh - build the Docker image (docker/Dockerfile) and check
# that it works, without Docker and without a registry. TAP output.
#
# Usage (as root; t/run-all.sh runs it through sudo when not root):
#
#   t/docker-image.sh CONTEXT LOGDIR
#
#   CONTEXT  the build context: a copy of the repository (it may hold build
#            outputs; docker/Dockerfile.dockerignore leaves them out)
#   LOGDIR   where the logs go (build logs, the server's log)
#
# 1. A stand-in for the official postgres:15-bookworm image, built locally
#    (t/docker-standin/README.md says how it differs): a Debian 12 root file
#    system from debootstrap, imported as an image, then
#    t/docker-standin/Containerfile on top. Kept in buildah's storage and
#    as an OCI archive in HANAMI_DOCKER_CACHE, keyed by a hash of its
#    recipe, so later runs reuse it; a run without it builds it from
#    nothing (debootstrap and apt from the machine's Debian mirror).
# 2. docker/Dockerfile with --build-arg BASE=<the stand-in>, with
#    `buildah bud --isolation chroot --layers` (apt layers are cached).
# 3. The image's file system (buildah from + mount), in a private mount
#    namespace (proc, sys, dev and /dev/shm mounted inside it, all gone
#    with it), chroot: its own docker-entrypoint.sh with its own
#    environment initialises an empty PGDATA, runs docker/initdb/ and starts
#    the server, as `docker run -e POSTGRES_PASSWORD=... -e POSTGRES_DB=hanami`
#    would, but on a unix socket only. Then SQL checks: preloading, the
#    extensions, pg_cron's launcher, a fit, a named model, OpenCL on PoCL.
#    The server is stopped and the container removed on any exit.
#
# Environment:
#   HANAMI_DOCKER_CACHE  directory for the stand-in's archive
#                        (default /var/tmp/hanami-docker-base)
#   HANAMI_DOCKER_PORT   first port to try for the server (default 5433)
set -uo pipefail

CONTEXT=${1:?usage: t/docker-image.sh CONTEXT LOGDIR}
LOGDIR=${2:?usage: t/docker-image.sh CONTEXT LOGDIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STANDIN_DIR=$HERE/docker-standin
CACHE=${HANAMI_DOCKER_CACHE:-/var/tmp/hanami-docker-base}

DEBIAN_IMAGE=localhost/hanami-standin-debian:bookworm
STANDIN_IMAGE=localhost/hanami-standin-postgres:15-bookworm
TEST_IMAGE=localhost/hanami-docker-test:latest
# Bump when the recipe below (debootstrap and its fix-ups) changes; the
# files in t/docker-standin/ are hashed in as well.
RECIPE_VERSION=1
PLAN=16

export LC_ALL=C
mkdir -p "$LOGDIR" "$CACHE"

# ------------------------------------------------------------------- TAP
N=0
FAILED=0
echo "1..$PLAN"
ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
diag() { printf '# %s\n' "$@"; }
# check NAME CMD...: ok if CMD succeeds
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# is GOT WANT NAME
is() {
    if [[ $1 == "$2" ]]; then ok "$3"; else not_ok "$3"; diag "got:  '$1'" "want: '$2'"; fi
}
# bail REASON: the remaining checks cannot run; they are counted as failed
# by the plan (t/run-all.sh counts a short run as failures).
bail() { diag "$@"; echo "Bail out! $1"; exit 1; }
# show LOG [LINES]: the end of a log, as TAP comments
show() { tail -n "${2:-25}" "$1" 2>/dev/null | sed 's/^/#   /'; }

[[ $(id -u) -eq 0 ]] || bail "needs root (buildah, chroot, mounts): run it with sudo"
for tool in buildah debootstrap unshare nsenter chroot; do
    command -v "$tool" >/dev/null 2>&1 || bail "$tool not found: run t/setup-deps.sh"
done
BUILDAH=(buildah)
image_exists() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }
label_of() {
    "${BUILDAH[@]}" inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null
}

# ------------------------------------------------------------ the mirror
# The machine's Debian mirror, from its apt sources (deb822 or one-line),
# and the apt settings it needs to use it (a proxy, an archive snapshot's
# expired Valid-Until).
apt_uri() { # apt_uri SUFFIX: first Debian URI ending in SUFFIX (debian, debian-security)
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        sed -nE "s|^URIs:[[:space:]]*([^[:space:]]*/$1)/?[[:space:]]*$|\1|p" "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        sed -nE "s|^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]*/$1)/?[[:space:]]+bookworm.*|\2|p" "$f"
    done
}
MIRROR=$(apt_uri debian | head -n 1)
SECURITY=$(apt_uri debian-security | head -n 1)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
APT_SETTINGS=$(apt-config dump 2>/dev/null \
    | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy|https?::proxy) ' || true)

# ------------------------------------------------------- 1. the stand-in
# Recipe key: the stand-in's files, the recipe version, the mirror.
KEY=$( { cat "$STANDIN_DIR"/*; echo "$RECIPE_VERSION $MIRROR $SECURITY"; echo "$APT_SETTINGS"; } \
    | sha256sum | cut -c1-16)
ARCHIVE=$CACHE/standin-$KEY.oci.tar

# debian_rootfs DIR: a minimal Debian 12, like debian:bookworm-slim.
debian_rootfs() {
    local dir=$1
    rm -rf "$dir"
    install -d -m 755 "$dir"
    debootstrap --variant=minbase bookworm "$dir" "$MIRROR" || return 1
    # apt sources as in the Debian images (deb822), apt settings of this
    # machine, the slim images' dpkg exclusions and apt clean-up.
    rm -f "$dir/etc/apt/sources.list"
    cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    if [[ -n $APT_SETTINGS ]]; then
        printf '%s\n' "$APT_SETTINGS" >"$dir/etc/apt/apt.conf.d/90mirror"
    fi
    cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
    printf '%s\n' 'APT::Install-Recommends "false";' >"$dir/etc/apt/apt.conf.d/docker-no-recommends"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
        "$dir"/var/log/* "$dir"/etc/resolv.conf "$dir"/etc/hostname
}

# import_rootfs DIR IMAGE: a root file system as a one-layer image.
import_rootfs() {
    local dir=$1 image=$2 ctr mnt rc=0
    ctr=$("${BUILDAH[@]}" from scratch) || return 1
    mnt=$("${BUILDAH[@]}" mount "$ctr") || { "${BUILDAH[@]}" rm "$ctr"; return 1; }
    tar -C "$dir" --numeric-owner --xattrs -cf - . | tar -C "$mnt" --numeric-owner --xattrs -xpf - || rc=1
    "${BUILDAH[@]}" umount "$ctr" >/dev/null
    if ((rc == 0)); then
        "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            --label hanami.standin.key="$KEY" --cmd bash "$ctr" \
            && "${BUILDAH[@]}" commit -q "$ctr" "$image" >/dev/null || rc=1
    fi
    "${BUILDAH[@]}" rm "$ctr" >/dev/null
    return "$rc"
}

build_standin() {
    local rootfs=$CACHE/rootfs
    # (the Debian image of an interrupted run with the same recipe is reused)
    if [[ $(label_of "$DEBIAN_IMAGE" hanami.standin.key) != "$KEY" ]]; then
        echo "== debootstrap ($MIRROR)"
        debian_rootfs "$rootfs" || { echo "debootstrap failed"; return 1; }
        echo "== import"
        import_rootfs "$rootfs" "$DEBIAN_IMAGE" || return 1
        rm -rf "$rootfs"
    fi
    echo "== t/docker-standin/Containerfile"
    "${BUILDAH[@]}" bud --isolation chroot --pull=never --layers --force-rm \
        --build-arg BASE="$DEBIAN_IMAGE" --label hanami.standin.key="$KEY" \
        -f "$STANDIN_DIR/Containerfile" -t "$STANDIN_IMAGE" "$STANDIN_DIR" || return 1
    "${BUILDAH[@]}" rmi "$DEBIAN_IMAGE" >/dev/null 2>&1 || true
    echo "== archive $ARCHIVE"
    rm -f "$CACHE"/standin-*.oci.tar
    "${BUILDAH[@]}" push "$STANDIN_IMAGE" "oci-archive:$ARCHIVE.part:$STANDIN_IMAGE" \
        && mv "$ARCHIVE.part" "$ARCHIVE"
}

t0=$SECONDS
if [[ $(label_of "$STANDIN_IMAGE" hanami.standin.key) == "$KEY" ]]; then
    ok "stand-in base image: in buildah's storage ($STANDIN_IMAGE)"
elif [[ -f $ARCHIVE ]] \
    && "${BUILDAH[@]}" pull -q "oci-archive:$ARCHIVE" >"$LOGDIR/docker-standin.log" 2>&1 \
    && [[ $(label_of "$STANDIN_IMAGE" hanami.standin.key) == "$KEY" ]]; then
    ok "stand-in base image: from $ARCHIVE ($((SECONDS - t0)) s)"
elif build_standin >"$LOGDIR/docker-standin.log" 2>&1 \
    && [[ $(label_of "$STANDIN_IMAGE" hanami.standin.key) == "$KEY" ]]; then
    ok "stand-in base image: built from nothing in $((SECONDS - t0)) s"
else
    not_ok "stand-in base image"
    show "$LOGDIR/docker-standin.log"
    bail "no stand-in base image (log: $LOGDIR/docker-standin.log)"
fi

# ------------------------------------------------------ 2. the Dockerfile
t0=$SECONDS
BUILD_LOG=$LOGDIR/docker-build.log
if "${BUILDAH[@]}" bud --isolation chroot --pull=never --layers --force-rm \
    --build-arg BASE="$STANDIN_IMAGE" \
    -f "$CONTEXT/docker/Dockerfile" --ignorefile "$CONTEXT/docker/Dockerfile.dockerignore" \
    -t "$TEST_IMAGE" "$CONTEXT" >"$BUILD_LOG" 2>&1; then
    ok "docker/Dockerfile builds on the stand-in ($((SECONDS - t0)) s)"
else
    not_ok "docker/Dockerfile builds on the stand-in"
    grep -E ': (fatal )?error:|^E: |\*\*\*|^error' "$BUILD_LOG" | head -n 20 | sed 's/^/#   /'
    show "$BUILD_LOG" 15
    bail "the image did not build (log: $BUILD_LOG)"
fi
# The builder stage compiled the sources itself (the host's objects were
# left out of the context, and `make clean` ran).
compiled=$(grep -cE '^(gcc|cc) .* -c -o src/(core|pg|opencl)/[a-z_0-9/]+\.o ' "$BUILD_LOG" || true)
n_sources=0
for f in "$CONTEXT"/src/core/*.c "$CONTEXT"/src/core/*/*.c "$CONTEXT"/src/pg/*.c "$CONTEXT"/src/opencl/*.c; do
    case $f in */src/core/tests/* | */src/core/fuzz/* | *'*'*) ;; *) n_sources=$((n_sources + 1)) ;; esac
done
if grep -A1 'make install DESTDIR' "$BUILD_LOG" | grep -q -- '--> Using cache'; then
    # --layers: the same context was built before, and checked then.
    ok "the builder stage's make: cached from an earlier build of the same sources"
else
    is "$compiled" "$n_sources" "the builder stage compiled every source file of the extension"
fi

# ------------------------------------------------------ 3. the image
IMAGE_ENV=()
while IFS= read -r line; do
    [[ -n $line ]] && IMAGE_ENV+=("$line")
done < <("${BUILDAH[@]}" inspect --type image --format '{{range .OCIv1.Config.Env}}{{.}}{{"\n"}}{{end}}' "$TEST_IMAGE")
ENTRYPOINT=$("${BUILDAH[@]}" inspect --type image --format '{{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Cmd}}' "$TEST_IMAGE")
is "$ENTRYPOINT" '[docker-entrypoint.sh] [postgres]' "entrypoint and command are the base image's"

CTR=""
MNT=""
PGPID=""
PORT=""
stop_server() {
    [[ -n $PGPID ]] && kill -0 "$PGPID" 2>/dev/null || return 0
    kill -INT "$PGPID" 2>/dev/null # the image's STOPSIGNAL: fast shutdown
    local i
    for ((i = 0; i < 60; i++)); do
        kill -0 "$PGPID" 2>/dev/null || return 0
        sleep 1
    done
    diag "the server did not stop in 60 s: killed"
    kill -KILL "$PGPID" 2>/dev/null
    sleep 2
}
cleanup() {
    stop_server
    PGPID=""
    if [[ -n $CTR ]]; then
        "${BUILDAH[@]}" umount "$CTR" >/dev/null 2>&1
        "${BUILDAH[@]}" rm "$CTR" >/dev/null 2>&1
        CTR=""
    fi
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

if ! CTR=$("${BUILDAH[@]}" from --pull=never --name "hanami-docker-test-$$" "$TEST_IMAGE" 2>"$LOGDIR/docker-run.log") \
    || ! MNT=$("${BUILDAH[@]}" mount "$CTR" 2>>"$LOGDIR/docker-run.log"); then
    show "$LOGDIR/docker-run.log"
    bail "could not mount the image's file system"
fi

# What the image has, and what stays in the builder stage.
missing=()
for f in usr/lib/postgresql/15/lib/hanami.so usr/share/postgresql/15/extension/hanami.control \
    usr/lib/postgresql/15/lib/pg_cron.so usr/bin/ld docker-entrypoint-initdb.d/10-hanami.sql; do
    [[ -e $MNT/$f ]] || missing+=("/$f")
done
libpocl=$(find "$MNT/usr/lib" -name 'libpocl.so.*' -print -quit)
[[ -n $libpocl ]] || missing+=("libpocl.so")
is "${missing[*]}" "" "the image has hanami, pg_cron, PoCL and ld"
present=()
# (PoCL brings clang-15 and the C library's headers: it compiles kernels.)
for f in usr/bin/gcc usr/bin/make usr/include/postgresql/15/server/postgres.h \
    usr/include/CL/cl.h usr/src/hanami; do
    [[ -e $MNT/$f ]] && present+=("/$f")
done
is "${present[*]}" "" "no compiler, make, server or OpenCL headers, nor sources in the image"

# A port free on this machine: the server shares its network.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${HANAMI_DOCKER_PORT:-5433}
while port_in_use "$PORT" || [[ -e /tmp/.s.PGSQL.$PORT || -e /var/run/postgresql/.s.PGSQL.$PORT ]]; do
    PORT=$((PORT + 1))
done

# The container's start, in a private mount namespace: the mounts go away
# with it. env -i: only the image's environment, plus what `docker run -e`
# would add. PGPORT: the entrypoint's temporary server and the server both
# use it. listen_addresses='': a unix socket only.
SERVER_LOG=$LOGDIR/docker-server.log
POSTGRES_PASSWORD=docker-test
# shellcheck disable=SC2016 # the inner script's variables are its own
/usr/bin/env -i "${IMAGE_ENV[@]}" POSTGRES_PASSWORD="$POSTGRES_PASSWORD" POSTGRES_DB=hanami \
    PGPORT="$PORT" \
    /usr/bin/unshare --mount --propagation private -- /bin/sh -c '
        set -e
        root=$1; shift
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"
        mount --rbind /dev "$root/dev"
        mount -t tmpfs -o mode=1777,size=256m shm "$root/dev/shm"
        exec /usr/sbin/chroot "$root" "$@"' \
    sh "$MNT" docker-entrypoint.sh postgres -c "listen_addresses=" >"$SERVER_LOG" 2>&1 &
PGPID=$!

# in_image CMD...: run CMD in the container (its namespace and root), as
# postgres, with the image's environment.
in_image() {
    /usr/bin/env -i "${IMAGE_ENV[@]}" PGPORT="$PORT" \
        nsenter --target "$PGPID" --mount -- /usr/sbin/chroot "$MNT" gosu postgres "$@"
}
# sql DB QUERY: one value (or rows, |-separated)
sql() {
    in_image /usr/lib/postgresql/15/bin/psql -X -A -t -q -v ON_ERROR_STOP=1 \
        -h /var/run/postgresql -d "$1" -c "$2" 2>>"$LOGDIR/docker-sql.log"
}

# Ready: the entrypoint finished its initialisation (its temporary server
# answered on the same socket before) and the server accepts connections.
ready=0
for ((i = 0; i < 180; i++)); do
    kill -0 "$PGPID" 2>/dev/null || break
    if grep -q 'PostgreSQL init process complete; ready for start up' "$SERVER_LOG" \
        && in_image /usr/lib/postgresql/15/bin/pg_isready -q -h /var/run/postgresql; then
        ready=1
        break
    fi
    sleep 1
done
if ((ready)); then
    ok "the image's entrypoint initialises an empty PGDATA, runs docker/initdb/ and starts the server"
else
    not_ok "the image's entrypoint initialises an empty PGDATA, runs docker/initdb/ and starts the server"
    show "$SERVER_LOG" 30
    bail "the server did not start (log: $SERVER_LOG)"
fi

is "$(sql hanami 'SHOW shared_preload_libraries')" "hanami,pg_cron" "hanami and pg_cron are preloaded"
is "$(sql hanami "SELECT extversion FROM pg_extension WHERE extname = 'hanami'")|$(sql postgres \
    "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")" "0.2.0|1" \
    "CREATE EXTENSION ran: hanami in POSTGRES_DB, pg_cron in postgres"

# pg_cron: its launcher runs, and a job can be scheduled in the hanami
# database from postgres.
launcher=0
for ((i = 0; i < 20; i++)); do
    launcher=$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'")
    [[ $launcher == 1 ]] && break
    sleep 0.5
done
job=$(sql postgres "SELECT cron.schedule_in_database('hanami-docker-test', '0 3 * * *', 'SELECT 1', 'hanami') > 0")
sql postgres "SELECT cron.unschedule('hanami-docker-test')" >/dev/null
is "$launcher|$job" "1|t" "pg_cron's launcher runs and schedules a job in another database"

# A fit on a generated table: the class is whether a + b > 1.
sql hanami "CREATE TABLE pts AS
    SELECT (i / 20.0)::real AS a, (j / 20.0)::real AS b, (i + j > 20)::int AS y
    FROM generate_series(0, 19) i, generate_series(0, 19) j" >/dev/null
acc=$(sql hanami "SELECT (hanami.verify(hanami.fit(hanami.network('{\"layers\": [2, 8, 2]}', 1),
        'SELECT a, b, y FROM pts', '{\"epochs\": 60}'), 'SELECT a, b, y FROM pts') ->> 'accuracy')::float8 >= 0.95")
is "$acc" "t" "hanami.fit on a generated table: accuracy >= 0.95"

# A named model: create, train (a commit), predict.
trained=$(sql hanami "SELECT hanami.create_model('docker_test', '{\"layers\": [2, 8, 2]}', seed => 1) > 0,
    hanami.train('docker_test', 'SELECT a, b, y FROM pts', '{\"epochs\": 60}') > 0")
pred=$(sql hanami "SELECT hanami.predict_class('docker_test', '{0.05, 0.1}'),
    hanami.predict_class('docker_test', '{0.95, 0.9}'),
    abs((SELECT sum(v) FROM unnest(hanami.predict('docker_test', '{0.9, 0.9}')) v) - 1) < 1e-4")
is "$trained|$pred" "t|t|0|1|t" "create_model, train and predict through a named model"

# OpenCL on PoCL, in the server's environment from the image (PATH with
# ld, POCL_CACHE_DIR).
platform=$(sql hanami "SELECT hanami.capabilities() -> 'opencl' -> 'platforms' -> 0 ->> 'name'")
acc=$(sql hanami "SELECT (hanami.verify(hanami.fit(hanami.network('{\"layers\": [2, 8, 2]}', 1),
        'SELECT a, b, y FROM pts', '{\"epochs\": 60, \"device\": \"opencl\"}'),
        'SELECT a, b, y FROM pts') ->> 'accuracy')::float8 >= 0.95")
cached=$(find "$MNT/var/lib/postgresql/pocl-cache" -type f 2>/dev/null | head -n 1)
is "$platform|$acc|${cached:+cache}" "Portable Computing Language|t|cache" \
    "OpenCL on PoCL: a fit with device opencl, kernels cached in POCL_CACHE_DIR"

# The compose file's demo: examples/demo.sh's SQL as docker/run-demo.sh
# gives it, in a database of its own, with the data sets written here (the
# demo image, which writes them itself, is not built here).
DEMO_LOG=$LOGDIR/docker-demo.log
demo_acc=""
if /usr/bin/python3 "$CONTEXT/examples/datasets.py" "$MNT/tmp/hanami-demo-data" >"$DEMO_LOG" 2>&1 \
    && chmod -R a+rX "$MNT/tmp/hanami-demo-data" \
    && "$CONTEXT/docker/run-demo.sh" --sql /tmp/hanami-demo-data >"$MNT/tmp/hanami-demo.sql" 2>>"$DEMO_LOG" \
    && chmod a+r "$MNT/tmp/hanami-demo.sql" \
    && sql postgres 'CREATE DATABASE hanami_demo' >/dev/null \
    && in_image /usr/lib/postgresql/15/bin/psql -X -v ON_ERROR_STOP=1 -P pager=off \
        -h /var/run/postgresql -d hanami_demo -f /tmp/hanami-demo.sql >>"$DEMO_LOG" 2>&1; then
    demo_acc=$(awk 'f == 2 { print $1; exit } f == 1 { f = 2 } /held_out_accuracy/ { f = 1 }' "$DEMO_LOG")
fi
if awk -v a="$demo_acc" 'BEGIN { exit !(a + 0 >= 0.9) }'; then
    ok "the demo's SQL (examples/demo.sh, via docker/run-demo.sh): held-out accuracy $demo_acc"
else
    not_ok "the demo's SQL (examples/demo.sh, via docker/run-demo.sh): held-out accuracy '$demo_acc'"
    show "$DEMO_LOG" 20
fi

if grep -qE 'terminated by signal|PANIC:' "$SERVER_LOG"; then
    not_ok "no server crash in the log"
    grep -E 'terminated by signal|PANIC:' "$SERVER_LOG" | head -n 5 | sed 's/^/#   /'
else
    ok "no server crash in the log"
fi
[[ -s $LOGDIR/docker-sql.log ]] && { diag "psql errors:"; show "$LOGDIR/docker-sql.log" 20; }

# Clean up, and check nothing is left behind.
stop_server
stopped=$(kill -0 "$PGPID" 2>/dev/null && echo running || echo stopped)
mnt=$MNT
cleanup
left=$(grep -c " ${mnt}[/ ]" /proc/self/mountinfo || true)
is "$stopped|$left" "stopped|0" "server stopped, container unmounted and removed"

((N == PLAN)) || diag "ran $N checks of $PLAN"
((FAILED == 0))
