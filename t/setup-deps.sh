#!/usr/bin/env bash
# t/setup-deps.sh - install what building, testing and the demo need on
# Debian 12 (bookworm), from Debian's own archive.
#
# Idempotent: when every package is already installed it does nothing (no apt,
# no sudo, well under a second). Works on a fresh minbase system as root (no
# compiler, no sudo there) and as a normal user with sudo.
set -euo pipefail

PACKAGES=(
    # build the extension (PGXS) and the engine's unit tests
    build-essential
    # server and its headers: one command, the dev package wants the same
    # minor version and upgrades the server along with it
    postgresql-15 postgresql-server-dev-15 postgresql-client-15 libpq-dev
    # scheduled retraining (pg_cron) and SQL-level tests (pgTAP)
    postgresql-15-cron postgresql-15-pgtap
    # TAP tests: prove (perl) + IPC::Run, which nothing else pulls in
    perl libipc-run-perl
    # OpenCL: headers + ICD loader to build, PoCL as a CPU device, clinfo
    ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
    # memory checks of the engine's unit tests
    valgrind
    # `make fuzz`: clang 14 with libFuzzer and the sanitizer runtimes
    # (libclang-rt-14-dev, only recommended by clang), llvm-symbolizer
    # (llvm-14) for readable sanitizer reports
    clang libclang-rt-14-dev llvm-14
    # data sets for tests and the demo (scikit-learn's bundled copies, and
    # Fashion-MNIST for t/080_grow_fashion.pl), and the Python client used by
    # examples
    python3 python3-sklearn python3-psycopg dataset-fashion-mnist
    # the Python client's example and test (examples/python, t/140_python.pl):
    # numpy arrays, SQLAlchemy 1.4 and its psycopg2 driver
    python3-numpy python3-sqlalchemy python3-psycopg2
    # pg_ctl status / kill and friends; TLS roots for apt over https mirrors
    procps ca-certificates
    # packaging (t/160_packaging.pl): `make dist` packs HEAD with git archive
    git
    # the Docker image's test (t/docker-image.sh): buildah builds the image
    # (as root, chroot isolation, overlay storage: no fuse-overlayfs), and
    # debootstrap the Debian 12 under the stand-in base image (unshare,
    # nsenter and chroot are in essential packages)
    buildah debootstrap
    # hanami.plot()'s SVG rendered to PNG and checked (t/175_plot_png.pl)
    librsvg2-bin
    # read scaling: predict spread over a primary and standbys by pgpool-II
    # (t/215_read_scaling.pl)
    pgpool2
)

# Node client (examples/node, t/150_node.pl): Debian's nodejs (18) and npm,
# which runs `npm ci` there against the npm registry. Not when a node of 18 or
# newer with its npm is already on PATH (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ! command -v npm >/dev/null 2>&1 || ((node_major < 18)); then
    PACKAGES+=(nodejs npm)
fi

# Fast path: nothing to do if dpkg reports every package as installed.
missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    echo "setup-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

if [[ ! -r /etc/debian_version ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-deps: this script needs Debian 12 (apt); missing: ${missing[*]}" >&2
    exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "setup-deps: missing ${missing[*]}; run as root or install sudo" >&2
    exit 1
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
# Always name the whole list: postgresql-15 and postgresql-server-dev-15 must
# be installed/upgraded in the same command.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
echo "setup-deps: done"
