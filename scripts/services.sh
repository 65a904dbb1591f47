#!/usr/bin/env bash
# Provision the external services planrun's integration tests talk to:
# PostgreSQL 15, RabbitMQ and a Docker daemon with a tiny local test image.
#
#   scripts/services.sh up     [pg|amqp|docker|browser ...]  install what is missing, start, wait, print env
#   scripts/services.sh down   [pg|amqp|docker ...]  stop (and drop the PostgreSQL cluster and RabbitMQ's data)
#   scripts/services.sh env                          print `export ...` lines for services that are up
#   scripts/services.sh status [pg|amqp|docker ...]  report; exit 0 only if all asked for are up
#
# Typical use:  eval "$(scripts/services.sh up)"
# Only the export lines go to stdout; every progress message goes to stderr.
#
# Knobs (environment):
#   PLANRUN_SERVICES_DIR   state/log dir            (default /tmp/planrun-services)
#   PLANRUN_PG_PORT        PostgreSQL port          (default 55432)
#   PLANRUN_AMQP_PORT      RabbitMQ AMQP port       (default 5672; distribution port: this + 20000)
#   PLANRUN_AMQP_NODE      RabbitMQ node name       (default rabbit@<hostname>, or rabbit@localhost
#                          when the hostname does not resolve to loopback only)
#   PLANRUN_DOCKERD_FLAGS  extra flags for dockerd  (default empty)
set -euo pipefail

readonly SERVICES_DIR=${PLANRUN_SERVICES_DIR:-/tmp/planrun-services}
readonly LOCK_FILE=$SERVICES_DIR/.lock

readonly PG_PORT=${PLANRUN_PG_PORT:-55432}
readonly PG_DIR=$SERVICES_DIR/pg
readonly PG_DATA=$PG_DIR/data
readonly PG_LOG=$PG_DIR/postgres.log
# Throwaway, but distinctive: planrun masks the password wherever it
# appears, and a common word ("postgres") would be masked everywhere.
readonly PG_PASSWORD=planrun-test-pw
readonly PG_URL="postgres://postgres:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/postgres"

readonly AMQP_PORT=${PLANRUN_AMQP_PORT:-5672}
readonly AMQP_DIR=$SERVICES_DIR/rabbitmq
readonly AMQP_URL="amqp://guest:guest@127.0.0.1:${AMQP_PORT}/%2f"
# The node listens for Erlang distribution on loopback only, so its host
# part must resolve there: RabbitMQ's default rabbit@<short hostname> (what
# a bare `rabbitmqctl` talks to) when the hostname resolves only to
# loopback, else rabbit@localhost.
amqp_default_node() {
    local host addresses
    host=$(hostname -s 2>/dev/null || hostname)
    addresses=$(getent hosts "$host" 2>/dev/null | awk '{print $1}')
    if [[ -n $addresses ]] && ! grep -qvE '^(127\.|::1$)' <<<"$addresses"; then
        echo "rabbit@$host"
    else
        echo "rabbit@localhost"
    fi
}
AMQP_NODE=${PLANRUN_AMQP_NODE:-$(amqp_default_node)}
readonly AMQP_NODE

readonly DOCKER_DIR=$SERVICES_DIR/docker
readonly DOCKER_LOG=$DOCKER_DIR/dockerd.log
readonly DOCKER_SOCK=/var/run/docker.sock
readonly DOCKER_PIDFILE=/var/run/docker.pid
readonly DOCKERD_FLAGS=${PLANRUN_DOCKERD_FLAGS:-}
readonly TEST_IMAGE=planrun-test/busybox:latest
# Bump whenever the image contents below change so `up` rebuilds stale images.
readonly TEST_IMAGE_REV=1

readonly ALL_SERVICES=(pg amqp docker browser)

# ---------------------------------------------------------------- helpers

log() { printf 'services: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# Show the end of a daemon's log so a failure explains itself without digging.
show_log() {
    local file=$1
    if [[ -s $file ]]; then
        log "--- last lines of $file ---"
        tail -n 40 "$file" | sed 's/^/    /' >&2
    fi
}

# wait_until SECONDS CMD...: poll CMD until it succeeds or time runs out.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.3
    done
}

require_root() {
    ((EUID == 0)) || die "'$1' installs packages and starts system daemons: run it as root (e.g. sudo $0 $1)"
}

# Concurrent `up` calls (e.g. several test processes) must not race each other
# into double-starting daemons. fd 9 holds the lock; daemons are launched with
# 9>&- so they do not inherit (and keep holding) it.
take_lock() {
    mkdir -p "$SERVICES_DIR"
    exec 9>"$LOCK_FILE"
    flock -w 600 9 || die "could not lock $LOCK_FILE (another services.sh still running?)"
}

APT_UPDATED=0
# ensure_packages PKG...: apt-get install only what is missing (update at most once per run).
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0

    local apt_log=$SERVICES_DIR/apt.log
    mkdir -p "$SERVICES_DIR"
    log "installing ${missing[*]} (apt-get, log: $apt_log)..."
    if ((APT_UPDATED == 0)); then
        apt-get update >"$apt_log" 2>&1 9>&- || { show_log "$apt_log"; die "apt-get update failed"; }
        APT_UPDATED=1
    fi
    # Package postinst scripts would start the daemons with distro defaults;
    # we want to start them ourselves, with our settings and logs.
    local policy=/usr/sbin/policy-rc.d created_policy=0 rc=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
        >>"$apt_log" 2>&1 9>&- || rc=$?
    if ((created_policy)); then rm -f "$policy"; fi
    ((rc == 0)) || { show_log "$apt_log"; die "apt-get install ${missing[*]} failed (exit $rc)"; }
}

# ---------------------------------------------------------------- PostgreSQL

pg_bindir() {
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        echo /usr/lib/postgresql/15/bin
    elif command -v initdb >/dev/null; then
        dirname "$(readlink -f "$(command -v initdb)")"
    else
        return 1
    fi
}

pg_answers() {
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2
}

# pg_ctl/initdb refuse to run as root. cd first: runuser keeps the cwd, which
# may be unreadable for postgres (e.g. /root) and makes initdb complain.
as_postgres() {
    (cd "$PG_DIR" && runuser -u postgres -- "$@")
}

pg_ensure_installed() {
    if ! pg_bindir >/dev/null; then
        # Keep Debian from creating and starting its own "main" cluster on 5432.
        mkdir -p /etc/postgresql-common
        [[ -e /etc/postgresql-common/createcluster.conf ]] ||
            echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
        ensure_packages postgresql-15
    fi
    command -v pg_isready >/dev/null || ensure_packages postgresql-client-15
    if ! id postgres >/dev/null 2>&1; then
        log "creating system user postgres"
        useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
            --shell /bin/bash postgres
    fi
}

pg_init_cluster() {
    [[ -s $PG_DATA/PG_VERSION ]] && return 0
    log "pg: creating cluster in $PG_DATA"
    rm -rf "$PG_DATA"
    mkdir -p "$PG_DATA"
    chown -R postgres:postgres "$PG_DIR"
    chmod 700 "$PG_DATA"
    # The postgres user must be able to reach the state dir through its parents.
    runuser -u postgres -- test -w "$PG_DIR" ||
        die "user postgres cannot write $PG_DIR (check permissions of its parent dirs)"

    local pwfile=$PG_DIR/.pwfile
    printf '%s\n' "$PG_PASSWORD" >"$pwfile"
    chown postgres:postgres "$pwfile"
    chmod 600 "$pwfile"
    # Host (TCP) logins are password checked; the unix socket stays trust for admin convenience.
    if ! as_postgres "$PG_BIN/initdb" -D "$PG_DATA" --username=postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
        >"$PG_DIR/initdb.log" 2>&1; then
        rm -f "$pwfile"
        show_log "$PG_DIR/initdb.log"
        die "pg: initdb failed"
    fi
    rm -f "$pwfile"
    echo "include_if_exists = 'planrun.conf'" >>"$PG_DATA/postgresql.conf"
}

# Rewritten on every start so a changed PLANRUN_PG_PORT takes effect.
pg_write_config() {
    cat >"$PG_DATA/planrun.conf" <<EOF
# Managed by scripts/services.sh; overwritten on each start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
max_connections = 200
unix_socket_directories = '$PG_DIR'
EOF
    chown postgres:postgres "$PG_DATA/planrun.conf"
}

pg_up() {
    if pg_answers; then
        log "pg: already up on 127.0.0.1:$PG_PORT"
        pg_ensure_password
        return 0
    fi
    pg_ensure_installed
    PG_BIN=$(pg_bindir) || die "pg: PostgreSQL 15 binaries not found"
    mkdir -p "$PG_DIR"
    chown postgres:postgres "$PG_DIR"
    pg_init_cluster
    pg_write_config

    if as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        log "pg: server process exists, waiting for it to accept connections"
    else
        log "pg: starting on 127.0.0.1:$PG_PORT"
        if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
            >/dev/null 2>>"$PG_DIR/pg_ctl.log" 9>&-; then
            show_log "$PG_DIR/pg_ctl.log"
            show_log "$PG_LOG"
            die "pg: server failed to start"
        fi
    fi
    if ! wait_until 60 pg_answers; then
        show_log "$PG_LOG"
        die "pg: not accepting connections on 127.0.0.1:$PG_PORT"
    fi
    pg_ensure_password
    log "pg: up"
}

# A cluster made by an older version of this script may have another
# password: set ours (over the unix socket, which trusts local users).
pg_ensure_password() {
    if PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -w -h 127.0.0.1 -p "$PG_PORT" -U postgres \
        -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
        return 0
    fi
    log "pg: setting the password of user postgres"
    psql -X -q -w -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "ALTER ROLE postgres PASSWORD '$PG_PASSWORD'" >/dev/null ||
        die "pg: cannot set the password of user postgres"
}

pg_down() {
    local bin
    if [[ -s $PG_DATA/PG_VERSION ]] && bin=$(pg_bindir) &&
        as_postgres "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        log "pg: stopping"
        as_postgres "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null ||
            die "pg: pg_ctl stop failed"
    fi
    if [[ -d $PG_DATA ]]; then
        log "pg: removing $PG_DATA"
        rm -rf "$PG_DATA"
    fi
}

# ---------------------------------------------------------------- RabbitMQ

# A real AMQP 0-9-1 greeting rather than a bare port probe: the broker must
# answer the protocol header with a method frame (frame type 1, Connection.Start).
# Listeners only open at the very end of boot, so this also means "fully started".
amqp_answers() {
    # shellcheck disable=SC2016 # the inner script expands $1 itself
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "AMQP\x00\x00\x09\x01" >&3
        [[ $(head -c 1 <&3 | od -An -tu1 | tr -d " ") == 1 ]]
    ' amqp_answers "$AMQP_PORT" 2>/dev/null
}

# Everything of the node on loopback (AMQP, Erlang distribution, epmd), its
# database, logs and configuration under $AMQP_DIR (so `down` wipes them),
# and none of the system's /etc/rabbitmq or /var/lib/rabbitmq/mnesia. The
# CLI tools (rabbitmqctl) need the same environment: `env` prints the node
# name for the tests, which run `rabbitmqctl -n NODE`.
amqp_env() {
    export RABBITMQ_NODENAME=$AMQP_NODE
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$AMQP_PORT
    export RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000))
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_MNESIA_BASE=$AMQP_DIR/mnesia
    export RABBITMQ_LOG_BASE=$AMQP_DIR/log
    export RABBITMQ_CONFIG_FILE=$AMQP_DIR/rabbitmq.conf
    export RABBITMQ_ADVANCED_CONFIG_FILE=$AMQP_DIR/advanced.config
    export RABBITMQ_CONF_ENV_FILE=$AMQP_DIR/rabbitmq-env.conf
    export RABBITMQ_ENABLED_PLUGINS_FILE=$AMQP_DIR/enabled_plugins
}

# The files amqp_env points at; no plugins (the management plugin would
# listen on every interface).
amqp_write_config() {
    mkdir -p "$AMQP_DIR/mnesia" "$AMQP_DIR/log"
    printf '# Managed by scripts/services.sh; listeners come from RABBITMQ_NODE_IP_ADDRESS/PORT.\n' \
        >"$AMQP_DIR/rabbitmq.conf"
    printf '# Managed by scripts/services.sh: the environment comes from the script.\n' \
        >"$AMQP_DIR/rabbitmq-env.conf"
    printf '[].\n' >"$AMQP_DIR/enabled_plugins"
    chown -R rabbitmq:rabbitmq "$AMQP_DIR"
    runuser -u rabbitmq -- test -w "$AMQP_DIR/mnesia" ||
        die "user rabbitmq cannot write $AMQP_DIR (check permissions of its parent dirs)"
}

# epmd outlives the nodes it serves, and one started before (by a node
# without ERL_EPMD_ADDRESS) may listen on every interface. Stop it when no
# node uses it; the next node starts one on loopback.
amqp_stop_idle_epmd() {
    command -v epmd >/dev/null || return 0
    local names
    names=$(timeout 5 epmd -names 2>/dev/null) || return 0
    if ! grep -q '^name ' <<<"$names"; then
        timeout 5 epmd -kill >/dev/null 2>&1 || true
    fi
}

# Whether our node (not any RabbitMQ) runs.
amqp_node_running() {
    command -v rabbitmqctl >/dev/null || return 1
    (amqp_env && timeout 20 rabbitmqctl -q -n "$AMQP_NODE" ping >/dev/null 2>&1 9>&-)
}

amqp_up() {
    if amqp_answers; then
        amqp_node_running ||
            die "amqp: a RabbitMQ that is not node $AMQP_NODE of this script answers on 127.0.0.1:$AMQP_PORT (one started by an older version of it?): stop it (e.g. \`rabbitmqctl stop\`), then run up again"
        log "amqp: already up on 127.0.0.1:$AMQP_PORT (node $AMQP_NODE)"
        return 0
    fi
    ensure_packages rabbitmq-server
    mkdir -p "$AMQP_DIR"

    if amqp_node_running; then
        log "amqp: node $AMQP_NODE running, waiting for the AMQP listener"
    else
        amqp_write_config
        amqp_stop_idle_epmd
        log "amqp: starting node $AMQP_NODE on 127.0.0.1:$AMQP_PORT (data and logs in $AMQP_DIR)"
        # -detached daemonizes; redirect so the daemon holds none of our
        # stdout/stderr pipes (otherwise `$(services.sh up)` would never return).
        (amqp_env && rabbitmq-server -detached >"$AMQP_DIR/start.log" 2>&1 </dev/null 9>&-) ||
            { show_log "$AMQP_DIR/start.log"; die "amqp: rabbitmq-server -detached failed"; }
    fi
    if ! wait_until 120 amqp_answers; then
        show_log "$AMQP_DIR/start.log"
        show_log "$(amqp_logfile)"
        die "amqp: RabbitMQ did not start answering on 127.0.0.1:$AMQP_PORT"
    fi
    log "amqp: up"
}

amqp_logfile() {
    echo "$AMQP_DIR/log/$AMQP_NODE.log"
}

amqp_down() {
    command -v rabbitmqctl >/dev/null || return 0
    if amqp_node_running; then
        log "amqp: stopping node $AMQP_NODE"
        # `shutdown` (unlike `stop`) waits for the OS process to exit.
        (amqp_env && rabbitmqctl -q -n "$AMQP_NODE" shutdown >/dev/null 2>&1) ||
            die "amqp: rabbitmqctl shutdown failed"
    fi
    amqp_stop_idle_epmd
    if [[ -d $AMQP_DIR ]]; then
        log "amqp: removing $AMQP_DIR"
        rm -rf "$AMQP_DIR"
    fi
}

# ---------------------------------------------------------------- Docker

# The docker.io CLI matches the docker.io daemon (API 1.41); a newer CLI
# earlier on PATH (e.g. /usr/local/bin/docker v28) may not negotiate down.
docker_bin() {
    if [[ -x /usr/bin/docker ]]; then echo /usr/bin/docker; else command -v docker; fi
}

docker_cli() {
    local bin
    bin=$(docker_bin) || return 127
    DOCKER_HOST=unix://$DOCKER_SOCK "$bin" "$@"
}

docker_answers() {
    local bin
    [[ -S $DOCKER_SOCK ]] && bin=$(docker_bin) || return 1
    DOCKER_HOST=unix://$DOCKER_SOCK timeout 5 "$bin" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

dockerd_pid() {
    local pid
    [[ -s $DOCKER_PIDFILE ]] || return 1
    pid=$(<"$DOCKER_PIDFILE")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

docker_start_daemon() {
    local pid
    mkdir -p "$DOCKER_DIR"
    log "docker: starting dockerd (log: $DOCKER_LOG)"
    echo "=== services.sh: starting dockerd at $(date -Is) ===" >>"$DOCKER_LOG"
    # setsid: the daemon must outlive this script and its caller's process group.
    # shellcheck disable=SC2086 # DOCKERD_FLAGS is a list of flags
    setsid dockerd --host "unix://$DOCKER_SOCK" --pidfile "$DOCKER_PIDFILE" $DOCKERD_FLAGS \
        >>"$DOCKER_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    local deadline=$((SECONDS + 60))
    until docker_answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log "$DOCKER_LOG"
            die "docker: dockerd exited during startup"
        fi
        if ((SECONDS >= deadline)); then
            show_log "$DOCKER_LOG"
            die "docker: dockerd did not answer within 60s"
        fi
        sleep 0.3
    done
}

docker_image_rev() {
    docker_cli image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$TEST_IMAGE" 2>/dev/null |
        sed -n 's/^PLANRUN_IMAGE_REV=//p'
}

# No registry is reachable, so the test image is assembled from Debian's
# static busybox: one binary + applet symlinks + a file for httpd to serve.
docker_build_image() {
    ensure_packages busybox-static
    local root
    root=$(mktemp -d "$SERVICES_DIR/image.XXXXXX")
    # shellcheck disable=SC2064 # expand $root now
    trap "rm -rf '$root'; trap - RETURN" RETURN
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,www,root,tmp,proc,sys,dev,var/run}
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    local applet
    while read -r applet; do
        [[ -n $applet && ! -e $root/$applet ]] && ln -s /bin/busybox "$root/$applet"
    done < <(/bin/busybox --list-full)
    for applet in sh httpd sleep wget cat echo true false; do
        [[ -e $root/bin/$applet || -e $root/usr/bin/$applet || -e $root/sbin/$applet || -e $root/usr/sbin/$applet ]] ||
            die "docker: busybox has no '$applet' applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    printf 'ok' >"$root/www/health"

    log "docker: building $TEST_IMAGE (rev $TEST_IMAGE_REV)"
    tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
        docker_cli import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change "ENV PLANRUN_IMAGE_REV=$TEST_IMAGE_REV" \
            --change 'WORKDIR /' \
            --change 'CMD ["/bin/sh"]' \
            - "$TEST_IMAGE" >/dev/null ||
        die "docker: docker import failed"
}

# Proves the whole chain (containerd, runc, image) and not only the API socket.
docker_smoke_test() {
    local out
    out=$(DOCKER_HOST=unix://$DOCKER_SOCK timeout 60 "$(docker_bin)" run --rm "$TEST_IMAGE" echo ok 2>&1) || true
    if [[ $out != ok ]]; then
        log "docker run said: $out"
        show_log "$DOCKER_LOG"
        die "docker: cannot run a container from $TEST_IMAGE"
    fi
}

docker_up() {
    local fresh=0
    if docker_answers; then
        log "docker: daemon already up"
    else
        ensure_packages docker.io
        if dockerd_pid >/dev/null; then
            log "docker: dockerd running, waiting for it to answer"
            wait_until 60 docker_answers || { show_log "$DOCKER_LOG"; die "docker: dockerd does not answer"; }
        else
            docker_start_daemon
        fi
        fresh=1
    fi
    if [[ $(docker_image_rev) != "$TEST_IMAGE_REV" ]]; then
        docker_build_image
        fresh=1
    fi
    if ((fresh)); then docker_smoke_test; fi
    log "docker: up (image $TEST_IMAGE)"
}

docker_down() {
    local pid
    pid=$(dockerd_pid) || return 0
    log "docker: stopping dockerd (pid $pid)"
    # SIGTERM lets dockerd stop containers and its managed containerd cleanly.
    kill -TERM "$pid"
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || die "docker: dockerd (pid $pid) still running after 60s"
        sleep 0.3
    done
}

# ---------------------------------------------------------------- browser

# Debian's headless Chromium, for the test of `planrun report --format html`
# (nothing to start: the test runs it).
browser_answers() { command -v chromium >/dev/null; }
browser_up() {
    browser_answers || ensure_packages chromium
    browser_answers || die "chromium is not installed (see $SERVICES_DIR/apt.log)"
    log "browser: $(chromium --version 2>/dev/null || echo chromium)"
}
browser_down() { :; }

# ---------------------------------------------------------------- commands

print_env() {
    if pg_answers; then
        echo "export PLANRUN_TEST_PG_URL=$PG_URL"
    fi
    if amqp_answers; then
        echo "export PLANRUN_TEST_AMQP_URL=$AMQP_URL"
        if amqp_node_running; then
            echo "export PLANRUN_TEST_RABBITMQ_NODE=$AMQP_NODE"
        fi
    fi
    if browser_answers; then
        echo "export PLANRUN_TEST_CHROMIUM=$(command -v chromium)"
    fi
    if docker_answers; then
        echo "export PLANRUN_TEST_DOCKER_HOST=unix://$DOCKER_SOCK"
        if [[ -n $(docker_image_rev) ]]; then
            echo "export PLANRUN_TEST_DOCKER_IMAGE=$TEST_IMAGE"
        fi
    fi
}

status() {
    local svc rc=0
    for svc in "$@"; do
        if "${svc}_answers"; then
            printf '%-7s up\n' "$svc"
        else
            printf '%-7s down\n' "$svc"
            rc=1
        fi
    done
    return "$rc"
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

main() {
    local cmd=${1:-}
    [[ -n $cmd ]] || usage
    shift

    local services=() svc
    for svc in "$@"; do
        case $svc in
        pg | postgres | postgresql) services+=(pg) ;;
        amqp | rabbitmq | rabbit) services+=(amqp) ;;
        docker) services+=(docker) ;;
        browser | chromium) services+=(browser) ;;
        *) die "unknown service '$svc' (expected: pg, amqp, docker, browser)" ;;
        esac
    done
    ((${#services[@]})) || services=("${ALL_SERVICES[@]}")

    case $cmd in
    up)
        require_root up
        take_lock
        for svc in "${services[@]}"; do "${svc}_up"; done
        print_env
        ;;
    down)
        require_root down
        take_lock
        for svc in "${services[@]}"; do "${svc}_down"; done
        ;;
    env) print_env ;;
    status) status "${services[@]}" ;;
    -h | --help | help) usage ;;
    *) die "unknown command '$cmd' (expected: up, down, env, status)" ;;
    esac
}

main "$@"
