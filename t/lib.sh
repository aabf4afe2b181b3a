# t/lib.sh - shell helpers shared by t/run-all.sh and examples/demo.sh.
# shellcheck shell=bash disable=SC2034  # sourced: variables are used by the callers
#
# Source it, don't run it:   . "$(dirname "$0")/../t/lib.sh"
#
# Conventions
#   * As root, PostgreSQL runs as the `postgres` OS user (initdb and postgres
#     refuse to run as root): `as_pg CMD...` runs CMD through runuser.
#     As a normal user, the server simply runs as that user.
#   * Privileged steps (apt, `make install`) go through `as_root`, which uses
#     sudo when not root.
#   * Throwaway clusters listen on a unix socket only (listen_addresses=''),
#     in a directory of their own, so they never clash with a system cluster.

# PostgreSQL 15 is the supported major version; pin every tool to it so that
# another installed major version on PATH cannot sneak in.
# HANAMI_PG_PREFIX (default /usr) points at another copy of the same
# installation laid out like Debian's (PREFIX/lib/postgresql/15,
# PREFIX/share/postgresql/15, PREFIX/include/postgresql): builds and tests
# then install into that copy and leave the system's untouched.
PG_MAJOR=15
PG_PREFIX=${HANAMI_PG_PREFIX:-/usr}
PGBIN=$PG_PREFIX/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PGBIN/pg_config
PGXS_DIR=$PG_PREFIX/lib/postgresql/$PG_MAJOR/lib/pgxs
PYTHON=/usr/bin/python3 # Debian's python3-* packages live here (not pyenv's)

# The server (PoCL inside it) needs `ld` on PATH; our tools come first.
export PATH="$PGBIN:$PATH"

# Repository root: the parent of the directory holding this file.
HANAMI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---------------------------------------------------------------- messages
log()  { printf '%s\n' "$*"; }
note() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# to_log FILE CMD...: run CMD (a command or function) in a subshell, its
# stdout and stderr appended to FILE; returns CMD's status. The subshell
# matters: `func >FILE` would redirect the calling shell itself while func
# runs, and a trap firing then (Ctrl-C) would print into FILE.
to_log() {
    local file=$1; shift
    ("$@") >>"$file" 2>&1
}

# ------------------------------------------------------------- privileges
# as_root CMD...: run CMD as root (directly when we are root, else via sudo).
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root for: $* (run as root or install sudo)"
    fi
}

# as_pg CMD...: run CMD as the user that owns the server's files: `postgres`
# when we are root (runuser keeps the environment, PATH included), else us.
# Runs from / so that a cwd the postgres user cannot enter (e.g. /root)
# does not produce "could not change directory" noise; pass absolute paths,
# or use as_pg_in.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# as_pg_in DIR CMD...: like as_pg, but with DIR as working directory.
as_pg_in() {
    local dir=$1; shift
    if is_root; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

# pg_user: the OS user (and database superuser name) the server runs as.
pg_user() { if is_root; then echo postgres; else id -un; fi; }

# make_pg_dir DIR: create DIR (and parents) owned by the server's user, 0700.
make_pg_dir() {
    if is_root; then
        install -d -m 700 -o postgres -g postgres "$1"
    else
        install -d -m 700 "$1"
    fi
}

# ------------------------------------------------------------------ ports
# port_in_use PORT: true if something listens on PORT on localhost (TCP),
# or a unix socket for it exists in the usual socket directories.
port_in_use() {
    local p=$1 d
    for d in /tmp /var/run/postgresql; do
        [[ -e $d/.s.PGSQL.$p || -e $d/.s.PGSQL.$p.lock ]] && return 0
    done
    # bash's /dev/tcp: a successful connect means someone is listening.
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
    return 1
}

# free_port [START]: print the first port >= START (default 5499) not in use.
free_port() {
    local p=${1:-5499}
    while port_in_use "$p"; do
        p=$((p + 1))
        ((p < 65535)) || die "no free port found"
    done
    echo "$p"
}

# ------------------------------------------------------------ clusters
# Layout of a throwaway cluster rooted at DIR (owned by the server's user):
#   DIR/data         data directory
#   DIR/socket       unix socket directory (keep DIR short: 107-byte limit)
#   DIR/server.log   server log
#   DIR/pocl-cache   PoCL's kernel cache (the server may run OpenCL on PoCL)

# Both cluster_init and cluster_start print why and return 1 on failure.

# cluster_init DIR PORT [CONF_LINE...]: initdb + postgresql.conf settings.
cluster_init() {
    local dir=$1 port=$2; shift 2
    make_pg_dir "$dir"
    make_pg_dir "$dir/socket"
    make_pg_dir "$dir/pocl-cache"
    # C locale and UTF8: same results whatever locales the machine has.
    as_pg "$PGBIN/initdb" -D "$dir/data" -U "$(pg_user)" -A trust \
        -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; warn "initdb failed in $dir/data"; return 1; }
    {
        echo "# throwaway cluster written by t/lib.sh"
        echo "port = $port"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir/socket'"
        echo "fsync = off"
        local line
        for line in "$@"; do echo "$line"; done
    } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
}

# cluster_start DIR: start the server and wait until it accepts connections.
cluster_start() {
    local dir=$1
    # pg_ctl passes its environment to the server: PATH (PoCL calls `ld`)
    # and a writable PoCL cache.
    if ! as_pg env POCL_CACHE_DIR="$dir/pocl-cache" \
        "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
        tail -n 40 "$dir/server.log" >&2 || true
        warn "server in $dir did not start (log: $dir/server.log)"
        return 1
    fi
}

# cluster_running DIR: true if a server runs on DIR/data.
cluster_running() {
    [[ -f $1/data/postmaster.pid ]] || return 1
    as_pg "$PGBIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# cluster_stop DIR: stop the server if it runs (fast shutdown, then immediate).
cluster_stop() {
    local dir=$1
    cluster_running "$dir" || return 0
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 \
        || warn "could not stop the server in $dir"
}

# ------------------------------------------------------------ the tree
# copy_tree SRC DEST: copy the source tree SRC into the new directory DEST:
# tracked and untracked-but-not-ignored files when SRC is a git checkout and
# git is installed, else everything but .git and build outputs.
copy_tree() {
    local src=$1 dest=$2
    mkdir -p "$dest"
    if [[ -e $src/.git ]] && command -v git >/dev/null 2>&1 \
        && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        # Skip files that are tracked but deleted in the working tree.
        (cd "$src" && git ls-files -z -co --exclude-standard \
            | while IFS= read -r -d '' f; do if [[ -e $f ]]; then printf '%s\0' "$f"; fi; done \
            | tar --null -T - -cf -) | tar -xf - -C "$dest"
    else
        (cd "$src" && tar --exclude=.git --exclude='*.o' --exclude='*.so' \
            --exclude='*.bc' --exclude=results --exclude=tmp_check \
            --exclude=log --exclude=./data --exclude=./build \
            --exclude=regression.diffs --exclude=regression.out \
            --exclude=src/core/tests/test_core -cf - .) | tar -xf - -C "$dest"
    fi
}
