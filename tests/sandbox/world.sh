#!/usr/bin/env bash
# The POC-2 world of the migration guide, on this machine, for plans/poc3.toml.
#
#   tests/sandbox/world.sh up        build what is missing, start POC-2, wait until it answers, print env
#   tests/sandbox/world.sh down      stop everything, remove containers, volumes, the monorepo and the state
#   tests/sandbox/world.sh env       print the `export ...` lines (URLs, passwords the plan's secrets read)
#   tests/sandbox/world.sh snapshot [NAME]  record the world (git tree, ignored files, every table on
#                                    every port, containers, volumes, RabbitMQ topology, listening ports)
#   tests/sandbox/world.sh diff [NAME]      compare the world with snapshot NAME (default: last):
#                                    prints nothing and exits 0 when equal
#   tests/sandbox/world.sh reset     down, then up
#
# Typical use:  eval "$(tests/sandbox/world.sh up)"
# Only export lines go to stdout; progress goes to stderr. tests/sandbox/README.md
# describes the world, its ports and what `diff` compares.
#
# Knobs (environment):
#   PLANRUN_SANDBOX_DIR   where the world lives (default /var/tmp/planrun-sandbox): the monorepo
#                         (mfe-poc/), planrun's state (state.db), snapshots, caches (pnpm store,
#                         npm cache, pnpm itself), the error sink
# The ports are fixed here and in plans/poc3-sandbox.vars.toml (change both together).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly SANDBOX_DIR=${PLANRUN_SANDBOX_DIR:-/var/tmp/planrun-sandbox}
readonly REPO=$SANDBOX_DIR/mfe-poc
readonly STATE_DB=$SANDBOX_DIR/state.db
readonly SNAP_DIR=$SANDBOX_DIR/snapshots
readonly CACHE_DIR=$HERE/.cache
readonly TOOLS_DIR=$SANDBOX_DIR/tools
readonly PNPM_STORE=$SANDBOX_DIR/pnpm-store
readonly NPM_CACHE=$SANDBOX_DIR/npm-cache
readonly LOCK_FILE=$SANDBOX_DIR/.lock

# Bump BASE_REV when the package list of the base image changes (a new
# bootstrap, ~4 min); IMAGES_REV when a Dockerfile or entrypoint changes;
# REPO_REV when the monorepo templates change (`reset` rebuilds it).
readonly BASE_REV=1
readonly IMAGES_REV=1
readonly BASE_PACKAGES=postgresql-15,redis-server,nginx-light,rabbitmq-server,netbase
readonly BASE_IMAGE=planrun-sandbox/base:$BASE_REV
readonly IMAGE_TAG=rev$IMAGES_REV
readonly PNPM_VERSION=10.34.9

readonly COMPOSE_PROJECT=mfe-poc-sandbox
readonly PG_PASSWORD=sandbox-pg-4f1c9e
readonly MQ_USER=admin
readonly MQ_PASSWORD=sandbox-mq-8d2b7a
readonly MQ_NODE=sandbox@localhost
readonly TEST_USER_EMAIL=test@test.com
readonly TEST_USER_PASSWORD=sandbox-test-3a6e51
readonly JWT_SECRET=sandbox-jwt-9c04d7e2
readonly SENTRY_KEY=sandboxkey5e7a
readonly PUBLIC_HOST=localhost

readonly POC2_DB_PORT=25432 AUTH_DB_PORT=25432 PAYMENTS_DB_PORT=25433 ADMIN_DB_PORT=25434 PROFILE_DB_PORT=25435
readonly AMQP_PORT=24672 MQ_MGMT_PORT=24673 MQ_DIST_PORT=24674 EPMD_PORT=24369
readonly REDIS_PORT=26379 HTTP_PORT=28080 HTTPS_PORT=28443
readonly GATEWAY_PORT=23000 AUTH_PORT=23001 PAYMENTS_PORT=23002 ADMIN_PORT=23003 PROFILE_PORT=23004
readonly FRONTEND_PORT=23100 SINK_PORT=23200
readonly DB_PORTS=("$POC2_DB_PORT" "$PAYMENTS_DB_PORT" "$ADMIN_DB_PORT" "$PROFILE_DB_PORT")
readonly ALL_PORTS=("${DB_PORTS[@]}" "$AMQP_PORT" "$MQ_MGMT_PORT" "$MQ_DIST_PORT" "$EPMD_PORT" "$REDIS_PORT"
    "$HTTP_PORT" "$HTTPS_PORT" "$GATEWAY_PORT" "$AUTH_PORT" "$PAYMENTS_PORT" "$ADMIN_PORT" "$PROFILE_PORT"
    "$FRONTEND_PORT")
readonly SENTRY_DSN="http://$SENTRY_KEY@127.0.0.1:$SINK_PORT/1"

# A server port inside the ephemeral range can be held, at the moment the server starts, by
# the local end of an unrelated outgoing connection (EADDRINUSE now and then): refuse it.
ports_outside_ephemeral_range() {
    local low high port
    read -r low high </proc/sys/net/ipv4/ip_local_port_range || return 0
    for port in "${ALL_PORTS[@]}" "$SINK_PORT"; do
        if ((port >= low && port <= high)); then
            die "port $port is in the ephemeral range $low-$high (net.ipv4.ip_local_port_range): pick one below $low"
        fi
    done
}

# ---------------------------------------------------------------- helpers

log() { printf 'world: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

show_log() {
    local file=$1
    if [[ -s $file ]]; then
        log "--- last lines of $file ---"
        tail -n 30 "$file" | sed 's/^/    /' >&2
    fi
}

# wait_until SECONDS WHAT CMD...: poll CMD until it succeeds, or fail naming WHAT.
wait_until() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.3
    done
    log "$what: up"
}

docker_bin() {
    # Debian's CLI matches Debian's daemon (API 1.41); a newer CLI may want buildx.
    if [[ -x /usr/bin/docker ]]; then echo /usr/bin/docker; else command -v docker; fi
}
dk() { "$(docker_bin)" "$@"; }

compose() { (cd "$REPO" && docker-compose -p "$COMPOSE_PROJECT" "$@"); }

take_lock() {
    mkdir -p "$SANDBOX_DIR"
    exec 9>"$LOCK_FILE"
    flock -w 900 9 || die "could not lock $LOCK_FILE (another world.sh still running?)"
}

APT_UPDATED=0
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    local apt_log=$SANDBOX_DIR/apt.log
    log "installing ${missing[*]} (apt-get, log: $apt_log)"
    if ((APT_UPDATED == 0)); then
        apt-get update >"$apt_log" 2>&1 9>&- || { show_log "$apt_log"; die "apt-get update failed"; }
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
        >>"$apt_log" 2>&1 9>&- || { show_log "$apt_log"; die "apt-get install ${missing[*]} failed"; }
}

pg_answers() { pg_isready -q -h 127.0.0.1 -p "$1" -t 2; }
psql_at() {
    local port=$1 db=$2
    shift 2
    PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -w -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"
}
http_ok() { curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null; }
port_listening() { ss -Hltn "sport = :$1" | grep -q LISTEN; }

# Process groups started with `perl -e 'setpgrp(0,0); exec @ARGV'`: the pid in
# the file is the group id, so the whole tree (pnpm, node, children) stops.
group_alive() { [[ -s $1 ]] && kill -0 -- "-$(<"$1")" 2>/dev/null; }
stop_group() {
    local pidfile=$1 what=$2
    group_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    local pgid
    pgid=$(<"$pidfile")
    log "stopping $what (process group $pgid)"
    kill -TERM -- "-$pgid" 2>/dev/null || true
    local deadline=$((SECONDS + 20))
    while kill -0 -- "-$pgid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            kill -KILL -- "-$pgid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$pidfile"
}
start_group() {
    local pidfile=$1 logfile=$2
    shift 2
    mkdir -p "$(dirname "$pidfile")"
    nohup perl -e 'setpgrp(0, 0); exec @ARGV' "$@" >"$logfile" 2>&1 </dev/null 9>&- &
    echo $! >"$pidfile"
}

tools_env() {
    export PATH="$TOOLS_DIR/node_modules/.bin:$PATH"
    export npm_config_cache=$NPM_CACHE npm_config_update_notifier=false
}

# ---------------------------------------------------------------- tools

ensure_tools() {
    # Only the packages of the commands missing: a machine may have node and npm from
    # elsewhere (NodeSource's nodejs bundles npm, and conflicts with Debian's npm).
    local tool package wanted=()
    for tool in docker-compose:docker-compose mmdebstrap:mmdebstrap psql:postgresql-client \
        pg_dump:postgresql-client node:nodejs npm:npm curl:curl openssl:openssl perl:perl git:git ss:iproute2 \
        chromium:chromium; do
        package=${tool#*:}
        if ! command -v "${tool%%:*}" >/dev/null && [[ " ${wanted[*]} " != *" $package "* ]]; then
            wanted+=("$package")
        fi
    done
    ((${#wanted[@]} == 0)) || ensure_packages "${wanted[@]}"
    tools_env
    if [[ $(pnpm --version 2>/dev/null) != "$PNPM_VERSION" ]]; then
        log "installing pnpm $PNPM_VERSION under $TOOLS_DIR"
        mkdir -p "$TOOLS_DIR"
        npm install --prefix "$TOOLS_DIR" --no-audit --no-fund "pnpm@$PNPM_VERSION" >"$SANDBOX_DIR/npm.log" 2>&1 ||
            { show_log "$SANDBOX_DIR/npm.log"; die "npm install pnpm failed"; }
    fi
}

ensure_docker() {
    if ! dk version >/dev/null 2>&1; then
        log "dockerd is not answering: starting it with scripts/services.sh up docker"
        "$HERE/../../scripts/services.sh" up docker >/dev/null
    fi
}

# ---------------------------------------------------------------- images

image_rev() { dk image inspect -f '{{index .Config.Labels "planrun.sandbox.rev"}}' "$1" 2>/dev/null || true; }

ensure_base_image() {
    dk image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
    local tarball=$CACHE_DIR/base-$BASE_REV.tar
    if [[ ! -s $tarball ]]; then
        mkdir -p "$CACHE_DIR"
        log "bootstrapping a minimal bookworm with $BASE_PACKAGES (mmdebstrap, a few minutes; cached in $tarball)"
        mmdebstrap --variant=apt --format=tar --include="$BASE_PACKAGES" \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' \
            bookworm "$tarball.part" >"$CACHE_DIR/mmdebstrap.log" 2>&1 9>&- ||
            { show_log "$CACHE_DIR/mmdebstrap.log"; rm -f "$tarball.part"; die "mmdebstrap failed"; }
        mv "$tarball.part" "$tarball"
    fi
    log "importing $tarball as $BASE_IMAGE"
    dk import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' "$tarball" "$BASE_IMAGE" >/dev/null || die "docker import failed"
}

ensure_images() {
    ensure_base_image
    local name rev=$BASE_REV.$IMAGES_REV
    for name in postgres redis nginx rabbitmq; do
        [[ $(image_rev "planrun-sandbox/$name:$IMAGE_TAG") == "$rev" ]] && continue
        log "building planrun-sandbox/$name:$IMAGE_TAG"
        dk build -q --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "planrun.sandbox.rev=$rev" \
            -t "planrun-sandbox/$name:$IMAGE_TAG" "$HERE/images/$name" >"$SANDBOX_DIR/build-$name.log" 2>&1 ||
            { show_log "$SANDBOX_DIR/build-$name.log"; die "docker build of $name failed"; }
    done
}

# ---------------------------------------------------------------- the monorepo

# The templates and the values substituted into them (a changed port is a changed monorepo).
templates_rev() {
    {
        (cd "$HERE/monorepo" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
        printf '@@%s@@\n' POC2_DB_PORT AUTH_DB_PORT PAYMENTS_DB_PORT ADMIN_DB_PORT PROFILE_DB_PORT AMQP_PORT \
            MQ_MGMT_PORT MQ_DIST_PORT EPMD_PORT REDIS_PORT HTTP_PORT HTTPS_PORT GATEWAY_PORT AUTH_PORT \
            PAYMENTS_PORT ADMIN_PORT PROFILE_PORT FRONTEND_PORT PUBLIC_HOST IMAGE_TAG PNPM_VERSION | substitute
    } | sha256sum | cut -c1-16
}

substitute() {
    sed -e "s|@@PG_PASSWORD@@|$PG_PASSWORD|g" -e "s|@@MQ_USER@@|$MQ_USER|g" -e "s|@@MQ_PASSWORD@@|$MQ_PASSWORD|g" \
        -e "s|@@MQ_NODE@@|$MQ_NODE|g" -e "s|@@POC2_DB_PORT@@|$POC2_DB_PORT|g" -e "s|@@AUTH_DB_PORT@@|$AUTH_DB_PORT|g" \
        -e "s|@@PAYMENTS_DB_PORT@@|$PAYMENTS_DB_PORT|g" -e "s|@@ADMIN_DB_PORT@@|$ADMIN_DB_PORT|g" \
        -e "s|@@PROFILE_DB_PORT@@|$PROFILE_DB_PORT|g" -e "s|@@AMQP_PORT@@|$AMQP_PORT|g" \
        -e "s|@@MQ_MGMT_PORT@@|$MQ_MGMT_PORT|g" -e "s|@@MQ_DIST_PORT@@|$MQ_DIST_PORT|g" -e "s|@@EPMD_PORT@@|$EPMD_PORT|g" \
        -e "s|@@REDIS_PORT@@|$REDIS_PORT|g" -e "s|@@HTTP_PORT@@|$HTTP_PORT|g" -e "s|@@HTTPS_PORT@@|$HTTPS_PORT|g" \
        -e "s|@@GATEWAY_PORT@@|$GATEWAY_PORT|g" -e "s|@@AUTH_PORT@@|$AUTH_PORT|g" -e "s|@@PAYMENTS_PORT@@|$PAYMENTS_PORT|g" \
        -e "s|@@ADMIN_PORT@@|$ADMIN_PORT|g" -e "s|@@PROFILE_PORT@@|$PROFILE_PORT|g" \
        -e "s|@@FRONTEND_PORT@@|$FRONTEND_PORT|g" -e "s|@@PUBLIC_HOST@@|$PUBLIC_HOST|g" \
        -e "s|@@IMAGE_TAG@@|$IMAGE_TAG|g" -e "s|@@PNPM_VERSION@@|$PNPM_VERSION|g" -e "s|@@PNPM_STORE@@|$PNPM_STORE|g"
}

# overlay SRC_DIR DEST_DIR: copy every template file, placeholders filled in.
overlay() {
    local src=$1 dest=$2 rel
    while IFS= read -r -d '' rel; do
        rel=${rel#./}
        mkdir -p "$dest/$(dirname "$rel")"
        substitute <"$src/$rel" >"$dest/$rel"
        if [[ -x $src/$rel ]]; then chmod +x "$dest/$rel"; fi
    done < <(cd "$src" && find . -type f -print0)
}

git_repo() {
    git -C "$REPO" -c user.name='MFE Team' -c user.email='team@mfe-poc.test' -c commit.gpgsign=false "$@"
}

# The lockfile of the package.json in DIR, resolved once (from the registry,
# then the pnpm store).
lock_deps() {
    (cd "$1" && pnpm install --lockfile-only --ignore-scripts >"$SANDBOX_DIR/pnpm-lock.log" 2>&1) ||
        { show_log "$SANDBOX_DIR/pnpm-lock.log"; die "pnpm could not resolve the dependencies of $1"; }
}

build_monorepo() {
    log "generating the monorepo in $REPO (refs poc-2 and poc-3, working tree at POC-2 on main)"
    rm -rf "$REPO"
    mkdir -p "$REPO"
    git init -q -b poc-2 "$REPO"
    overlay "$HERE/monorepo/common" "$REPO"
    overlay "$HERE/monorepo/poc-2" "$REPO"
    lock_deps "$REPO"
    git_repo add -A
    GIT_AUTHOR_DATE='2026-06-01T12:00:00Z' GIT_COMMITTER_DATE='2026-06-01T12:00:00Z' \
        git_repo commit -q -m 'POC-2: shared database, Redis Pub/Sub, direct service URLs'
    git_repo checkout -q -b poc-3
    overlay "$HERE/monorepo/poc-3" "$REPO"
    lock_deps "$REPO"
    git_repo add -A
    GIT_AUTHOR_DATE='2026-11-20T12:00:00Z' GIT_COMMITTER_DATE='2026-11-20T12:00:00Z' \
        git_repo commit -q -m 'POC-3: database per service, RabbitMQ, nginx + TLS, WebSocket'
    git_repo checkout -q -b main poc-2
    git_repo config core.hooksPath /dev/null
    # Both lockfiles' packages in the store, so installs later are offline.
    local fetch_dir
    fetch_dir=$(mktemp -d "$SANDBOX_DIR/fetch.XXXXXX")
    git_repo archive poc-3 package.json pnpm-lock.yaml .npmrc pnpm-workspace.yaml | tar -x -C "$fetch_dir"
    (cd "$fetch_dir" && pnpm fetch >"$SANDBOX_DIR/pnpm-fetch.log" 2>&1) ||
        { show_log "$SANDBOX_DIR/pnpm-fetch.log"; die "pnpm fetch (POC-3 dependencies) failed"; }
    rm -rf "$fetch_dir"
    # Written last: a repository without it is half-built, and built again.
    templates_rev >"$REPO/.git/sandbox-templates-rev"
}

ensure_monorepo() {
    if [[ ! -s $REPO/.git/sandbox-templates-rev ]]; then
        build_monorepo
    elif [[ $(cat "$REPO/.git/sandbox-templates-rev" 2>/dev/null) != "$(templates_rev)" ]]; then
        log "warning: the monorepo templates changed since $REPO was generated: \`world.sh reset\` rebuilds it"
    fi
    if ! (cd "$REPO" && pnpm install --frozen-lockfile --offline >"$SANDBOX_DIR/pnpm-install.log" 2>&1); then
        (cd "$REPO" && pnpm install --frozen-lockfile >"$SANDBOX_DIR/pnpm-install.log" 2>&1) ||
            { show_log "$SANDBOX_DIR/pnpm-install.log"; die "pnpm install failed in $REPO"; }
    fi
    if [[ ! -e $REPO/.env ]]; then
        # POC-2's local settings (git-ignored, as the repository's .gitignore says).
        cat >"$REPO/.env" <<EOF
DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$POC2_DB_PORT/mfe_poc2
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
JWT_SECRET=$JWT_SECRET
EOF
        chmod 0600 "$REPO/.env"
    fi
}

# The world is POC-2 when every tracked file of the working tree is POC-2's (a rollback
# killed half-way leaves POC-2's compose file beside POC-3's services, say).
at_poc2() { git_repo diff --quiet poc-2 -- 2>/dev/null; }

# ---------------------------------------------------------------- POC-2

seed_poc2() {
    if [[ $(psql_at "$POC2_DB_PORT" mfe_poc2 -tAc "SELECT to_regclass('public.users') IS NOT NULL") == t ]]; then
        return 0
    fi
    log "mfe_poc2: applying the POC-2 migration and the seed data"
    (cd "$REPO" && DATABASE_URL="postgresql://postgres:$PG_PASSWORD@127.0.0.1:$POC2_DB_PORT/mfe_poc2" \
        pnpm -s prisma:migrate >"$SANDBOX_DIR/seed.log" 2>&1) || { show_log "$SANDBOX_DIR/seed.log"; die "POC-2 migration failed"; }
    local hash
    hash=$(cd "$REPO" && node -e 'process.stdout.write(require("./libs/backend-common/src/index.ts").hashPassword(process.argv[1], "sandbox-seed-salt"))' "$TEST_USER_PASSWORD")
    psql_at "$POC2_DB_PORT" mfe_poc2 -v test_email="$TEST_USER_EMAIL" -v test_hash="$hash" -f "$HERE/seed.sql" \
        >>"$SANDBOX_DIR/seed.log" 2>&1 || { show_log "$SANDBOX_DIR/seed.log"; die "seeding mfe_poc2 failed"; }
    # The migration record's random id and times, pinned: every reset builds the same world.
    psql_at "$POC2_DB_PORT" mfe_poc2 -c "UPDATE _prisma_migrations SET id = '00000000-0000-4000-8000-000000000001',
        started_at = '2026-01-15T00:00:00Z', finished_at = '2026-01-15T00:00:01Z'" >/dev/null
}

sink_answers() { http_ok "http://127.0.0.1:$SINK_PORT/health"; }
ensure_sink() {
    sink_answers && return 0
    start_group "$SANDBOX_DIR/sentry-sink.pid" "$SANDBOX_DIR/sentry-sink.log" node "$HERE/sentry-sink.js" "$SINK_PORT" "$SENTRY_KEY"
    wait_until 20 "error sink (Sentry stand-in) :$SINK_PORT" sink_answers || { show_log "$SANDBOX_DIR/sentry-sink.log"; die "the error sink did not start"; }
}

backend_answers() {
    local port
    for port in "$GATEWAY_PORT" "$AUTH_PORT" "$PAYMENTS_PORT" "$ADMIN_PORT" "$PROFILE_PORT"; do
        http_ok "http://127.0.0.1:$port/health" || return 1
    done
}
frontend_answers() { http_ok "http://127.0.0.1:$FRONTEND_PORT/health"; }

# The POC-2 dev servers, started as the plan's rollback starts them again
# (pid and log files in .run/, one process group each).
ensure_dev_servers() {
    # Answering without our pid file: a server this script cannot stop (nor can the plan).
    if backend_answers && ! group_alive "$REPO/.run/poc2-backend.pid"; then
        die "something answers on :$GATEWAY_PORT-$PROFILE_PORT without $REPO/.run/poc2-backend.pid: stop it (ss -ltnp 'sport = :$GATEWAY_PORT')"
    fi
    if frontend_answers && ! group_alive "$REPO/.run/poc2-frontend.pid"; then
        die "something answers on :$FRONTEND_PORT without $REPO/.run/poc2-frontend.pid: stop it (ss -ltnp 'sport = :$FRONTEND_PORT')"
    fi
    if ! backend_answers; then
        group_alive "$REPO/.run/poc2-backend.pid" ||
            (cd "$REPO" && start_group .run/poc2-backend.pid .run/poc2-backend.log pnpm start:backend)
        wait_until 60 "POC-2 backend (gateway :$GATEWAY_PORT, services :$AUTH_PORT-$PROFILE_PORT)" backend_answers ||
            { show_log "$REPO/.run/poc2-backend.log"; die "the POC-2 backend did not answer"; }
    fi
    if ! frontend_answers; then
        group_alive "$REPO/.run/poc2-frontend.pid" ||
            (cd "$REPO" && start_group .run/poc2-frontend.pid .run/poc2-frontend.log pnpm start:frontend)
        wait_until 60 "POC-2 frontend :$FRONTEND_PORT" frontend_answers ||
            { show_log "$REPO/.run/poc2-frontend.log"; die "the POC-2 frontend did not answer"; }
    fi
}

cmd_up() {
    ((EUID == 0)) || die "up installs packages and starts containers: run it as root"
    take_lock
    ports_outside_ephemeral_range
    ensure_tools
    ensure_docker
    ensure_images
    ensure_monorepo
    at_poc2 || die "$REPO is not at POC-2 (its working tree differs from poc-2: git -C $REPO diff --stat poc-2): finish or roll back the migration (planrun rollback), or \`world.sh reset\`"
    compose up -d >"$SANDBOX_DIR/compose.log" 2>&1 || { show_log "$SANDBOX_DIR/compose.log"; die "docker-compose up failed"; }
    wait_until 120 "POC-2 PostgreSQL :$POC2_DB_PORT" pg_answers "$POC2_DB_PORT" ||
        { compose logs --tail 30 postgres >&2; die "POC-2 PostgreSQL did not answer"; }
    wait_until 60 "POC-2 Redis :$REDIS_PORT" redis_answers ||
        { compose logs --tail 30 redis >&2; die "POC-2 Redis did not answer"; }
    seed_poc2
    ensure_sink
    ensure_dev_servers
    print_env
}

redis_answers() {
    # A real RESP exchange, not only an open port.
    # shellcheck disable=SC2016 # the inner script expands $1 itself
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "PING\r\n" >&3 && head -c 5 <&3 | grep -q PONG' _ "$REDIS_PORT"
}

# ---------------------------------------------------------------- down

cmd_down() {
    ((EUID == 0)) || die "down stops containers: run it as root"
    take_lock
    local f
    for f in "$REPO"/.run/*.pid; do
        [[ -e $f ]] && stop_group "$f" "$(basename "$f" .pid)"
    done
    stop_group "$SANDBOX_DIR/sentry-sink.pid" "error sink"
    if [[ -d $REPO/.git ]] && command -v docker-compose >/dev/null; then
        # Both stacks, with the files from git: whatever the working tree holds now.
        local ref tmp
        for ref in poc-3 poc-2; do
            # A repository whose generation was cut short may lack the ref.
            git_repo rev-parse -q --verify "$ref:docker-compose.yml" >/dev/null || continue
            tmp=$(mktemp "$SANDBOX_DIR/compose-$ref.XXXXXX.yml")
            git_repo show "$ref:docker-compose.yml" >"$tmp"
            (cd "$REPO" && docker-compose -p "$COMPOSE_PROJECT" -f "$tmp" --project-directory "$REPO" down -v --remove-orphans) \
                >>"$SANDBOX_DIR/compose.log" 2>&1 || log "warning: docker-compose down ($ref) failed: see $SANDBOX_DIR/compose.log"
            rm -f "$tmp"
        done
    fi
    # Anything left with the project's label (a container made by hand from the compose file, say).
    local ids
    mapfile -t ids < <(dk ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" 2>/dev/null || true)
    ((${#ids[@]} == 0)) || dk rm -f "${ids[@]}" >/dev/null
    mapfile -t ids < <(dk volume ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" 2>/dev/null || true)
    ((${#ids[@]} == 0)) || dk volume rm "${ids[@]}" >/dev/null
    # Snapshots stay: the monorepo is generated the same way again (fixed commit dates).
    # The backups the plan's rollback keeps beside the repository (`backup_archive_dir`)
    # go with it: a fault matrix leaves one per cell (gigabytes).
    log "removing $REPO, its backups and the state (snapshots and caches stay)"
    rm -rf "$REPO" "$SANDBOX_DIR/mfe-poc-backups" "$STATE_DB" "$STATE_DB-wal" "$STATE_DB-shm" "$SANDBOX_DIR/logs"
    rm -f "$SANDBOX_DIR"/compose-poc-*.yml
}

# ---------------------------------------------------------------- env

print_env() {
    cat <<EOF
export SANDBOX_DIR=$SANDBOX_DIR
export SANDBOX_REPO=$REPO
export PATH=$TOOLS_DIR/node_modules/.bin:\$PATH
export PLANRUN_STATE=sqlite://$STATE_DB
export PGPASSWORD=$PG_PASSWORD
export RABBITMQ_PASSWORD=$MQ_PASSWORD
export SENTRY_DSN=$SENTRY_DSN
export TEST_USER_PASSWORD=$TEST_USER_PASSWORD
export COMPOSE_PROJECT_NAME=$COMPOSE_PROJECT
EOF
}

# ---------------------------------------------------------------- snapshot and diff

# Two modes, chosen by where the world stands when the snapshot is taken:
#   poc2  (docker-compose.yml is POC-2's): everything exactly, for "rollback returns to POC-2".
#   poc3  (after a migration): the same, except what the post-migration checks write and what
#         is random by construction: rows a check inserted (keys past the largest key of the
#         restored mfe_poc2), sequences, _prisma_migrations ids and times, the generated
#         certificates and dumps (presence only). For "resume ends in the same POC-3 world".
# In both, the dev servers' pid and log files are compared by presence only.
snapshot_mode() { if at_poc2; then echo poc2; else echo poc3; fi; }

# "table max" lines of the restored mfe_poc2 on the auth_db server (poc3 mode).
staging_limits() {
    pg_answers "$AUTH_DB_PORT" || return 0
    [[ $(psql_at "$AUTH_DB_PORT" postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'mfe_poc2'") == 1 ]] || return 0
    psql_at "$AUTH_DB_PORT" mfe_poc2 -tA -F ' ' <<'SQL'
DO $$
DECLARE t record; m bigint;
BEGIN
  CREATE TEMP TABLE lim (line text);
  FOR t IN SELECT c.table_name FROM information_schema.columns c
           WHERE c.table_schema = 'public' AND c.column_name = 'id' AND c.data_type IN ('integer', 'bigint') LOOP
    EXECUTE format('SELECT coalesce(max(id), 0) FROM public.%I', t.table_name) INTO m;
    INSERT INTO lim VALUES (t.table_name || ' ' || m);
  END LOOP;
END $$;
SELECT line FROM lim ORDER BY 1;
SQL
}

# Every table of every database on every PostgreSQL port: row count and an
# md5 over the rows in a stable order; every sequence's last value (poc2).
snapshot_databases() {
    local mode=$1 port db limits=''
    if [[ $mode == poc3 ]]; then
        limits=$(staging_limits | awk 'NF == 2 { printf "%s(%s, %s)", (n++ ? ", " : ""), "'\''" $1 "'\''", $2 }')
    fi
    for port in "${DB_PORTS[@]}"; do
        if ! pg_answers "$port"; then
            echo "postgres :$port down"
            continue
        fi
        for db in $(psql_at "$port" postgres -tAc "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1"); do
            echo "postgres :$port database $db"
            local restrict=false
            [[ $mode == poc3 && $db != mfe_poc2 ]] && restrict=true
            psql_at "$port" "$db" -tA -F ' ' -v restrict="$restrict" -v limits="${limits:-(NULL, NULL)}" <<'SQL' | sed "s|^|postgres :$port $db |"
CREATE TEMP TABLE lim (t text, m bigint);
INSERT INTO lim VALUES :limits;
CREATE TEMP TABLE snap (line text);
SET snap.restricted = :'restrict';
DO $$
DECLARE t record; n bigint; h text; cond text; cols text;
BEGIN
  FOR t IN SELECT schemaname, tablename FROM pg_tables
           WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg\_temp\_%' ORDER BY 1, 2 LOOP
    cond := 'true';
    cols := 'r';
    IF current_setting('snap.restricted') = 'true' THEN
      IF t.tablename = '_prisma_migrations' THEN
        cols := 'row(r.migration_name, r.checksum, r.applied_steps_count, r.finished_at IS NOT NULL, r.rolled_back_at IS NULL)';
      ELSIF EXISTS (SELECT 1 FROM lim WHERE lim.t = t.tablename) THEN
        cond := format('r.id <= %s', (SELECT m FROM lim WHERE lim.t = t.tablename));
      END IF;
    END IF;
    EXECUTE format('SELECT count(*), coalesce(md5(string_agg(%s::text, E''\n'' ORDER BY %s::text)), ''-'') FROM %I.%I r WHERE %s',
                   cols, cols, t.schemaname, t.tablename, cond) INTO n, h;
    INSERT INTO snap VALUES (format('table %s.%s rows=%s md5=%s', t.schemaname, t.tablename, n, h));
  END LOOP;
  IF current_setting('snap.restricted') <> 'true' THEN
    INSERT INTO snap SELECT format('sequence %s.%s last=%s', schemaname, sequencename, coalesce(last_value::text, 'unused'))
                     FROM pg_sequences;
  END IF;
END $$;
SELECT line FROM snap ORDER BY 1;
SQL
        done
    done
}

snapshot_git() {
    if [[ ! -d $REPO/.git ]]; then
        echo "no repository"
        return
    fi
    echo "HEAD $(git_repo symbolic-ref -q HEAD || echo detached) $(git_repo rev-parse HEAD)"
    git_repo for-each-ref --format='ref %(refname) %(objectname)'
    git_repo status --porcelain=v1 --untracked-files=all | sed 's/^/status /'
    # Content of every file git sees (tracked and untracked, not ignored).
    (cd "$REPO" && git ls-files -z -co --exclude-standard | sort -z | xargs -0 -r sha256sum | sed 's/^/file /')
}

# Ignored files: content, except node_modules (which packages are linked in,
# and the store entries) and the dev servers' runtime files in .run/ (pid and
# log files change on every start: only their presence is compared). In poc3
# mode, certificates and dumps are generated anew by every run: presence only.
snapshot_ignored() {
    local mode=$1 f
    [[ -d $REPO/.git ]] || return 0
    (cd "$REPO" && git ls-files -z -o -i --exclude-standard) | sort -z | while IFS= read -r -d '' f; do
        case $f in
        node_modules/*) ;;
        .run/*) echo "runtime present $f" ;;
        nginx/ssl/* | backup/*) if [[ $mode == poc3 ]]; then echo "generated present $f"; else (cd "$REPO" && sha256sum "$f" | sed 's/^/ignored /'); fi ;;
        *) (cd "$REPO" && sha256sum "$f" | sed 's/^/ignored /') ;;
        esac
    done
    if [[ -d $REPO/node_modules ]]; then
        (cd "$REPO/node_modules" && find . -maxdepth 2 -mindepth 1 -not -path './.pnpm/*/*' \
            \( -type l -printf 'node_modules %p -> %l\n' -o -printf 'node_modules %p\n' \) | sort)
    fi
}

snapshot_docker() {
    dk ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" \
        --format 'container {{.Label "com.docker.compose.service"}} {{.Image}} {{.State}}' | sort
    dk volume ls --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" --format 'volume {{.Name}}' | sort
    dk network ls --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" --format 'network {{.Name}}' | sort
}

# Exchanges, queues and bindings of the sandbox's broker (names and kinds, not messages).
snapshot_rabbitmq() {
    local api="http://127.0.0.1:$MQ_MGMT_PORT/api"
    if ! curl -fsS -o /dev/null --max-time 3 -u "$MQ_USER:$MQ_PASSWORD" "$api/overview" 2>/dev/null; then
        echo "rabbitmq down"
        return
    fi
    local what
    for what in exchanges queues bindings; do
        # shellcheck disable=SC2016 # JavaScript template literals
        curl -fsS --max-time 5 -u "$MQ_USER:$MQ_PASSWORD" "$api/$what" | node -e '
            let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
              const what = process.argv[1];
              for (const x of JSON.parse(s)) {
                if (what === "bindings") console.log(`binding ${x.vhost} ${x.source || "(default)"} -> ${x.destination_type} ${x.destination} key=${x.routing_key}`);
                else if (!x.name.startsWith("amq.") && x.name !== "" && !x.name.startsWith("amq.gen-")) console.log(`${what.slice(0, -1)} ${x.vhost} ${x.name} ${x.type || ""} durable=${x.durable}`);
              }
            });' "$what"
    done | sort
}

snapshot_ports() {
    local port
    for port in "${ALL_PORTS[@]}"; do
        if port_listening "$port"; then echo "port $port listening"; else echo "port $port free"; fi
    done
}

take_snapshot() {
    local dir=$1 mode
    mode=$(snapshot_mode)
    mkdir -p "$dir"
    echo "$mode" >"$dir/mode.txt"
    snapshot_git >"$dir/git.txt"
    snapshot_ignored "$mode" >"$dir/ignored.txt"
    snapshot_databases "$mode" >"$dir/databases.txt"
    snapshot_docker >"$dir/docker.txt"
    snapshot_rabbitmq >"$dir/rabbitmq.txt"
    snapshot_ports >"$dir/ports.txt"
}

snapshot_name() {
    local name=${1:-last}
    [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "bad snapshot name '$name'"
    echo "$name"
}

cmd_snapshot() {
    local name
    name=$(snapshot_name "${1:-}")
    take_lock
    rm -rf "$SNAP_DIR/$name.tmp"
    take_snapshot "$SNAP_DIR/$name.tmp"
    rm -rf "${SNAP_DIR:?}/$name"
    mv "$SNAP_DIR/$name.tmp" "$SNAP_DIR/$name"
    log "snapshot $name ($(cat "$SNAP_DIR/$name/mode.txt") mode) in $SNAP_DIR/$name ($(cat "$SNAP_DIR/$name"/*.txt | wc -l) lines)"
}

cmd_diff() {
    local name
    name=$(snapshot_name "${1:-}")
    take_lock
    [[ -d $SNAP_DIR/$name ]] || die "no snapshot $name: run \`world.sh snapshot $name\` first"
    local now
    now=$(mktemp -d "$SANDBOX_DIR/snap-now.XXXXXX")
    take_snapshot "$now"
    local rc=0 f
    for f in mode git ignored databases docker rabbitmq ports; do
        diff -u --label "snapshot/$f" --label "now/$f" "$SNAP_DIR/$name/$f.txt" "$now/$f.txt" || rc=1
    done
    rm -rf "$now"
    return "$rc"
}

# ---------------------------------------------------------------- main

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

main() {
    local cmd=${1:-}
    [[ -n $cmd ]] || usage
    local start=$SECONDS
    case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    env) print_env ;;
    snapshot) cmd_snapshot "${2:-}" ;;
    diff) cmd_diff "${2:-}" ;;
    reset)
        cmd_down
        exec 9>&-
        cmd_up
        ;;
    -h | --help | help) usage ;;
    *) die "unknown command '$cmd' (expected: up, down, env, snapshot, diff, reset)" ;;
    esac
    [[ $cmd == env ]] || log "$cmd took $((SECONDS - start))s"
}

main "$@"
