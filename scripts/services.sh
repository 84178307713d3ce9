#!/usr/bin/env bash
# Starts Redis and RabbitMQ on loopback when they are not answering (`npm run services`), and
# PostgreSQL (optional: the PostgreSQL specs need it) when it is installed.
# Idempotent: a server that already answers is left alone. Exits non-zero with a clear message
# when a broker is needed but its binary is missing, or when a server does not come up in time.
# PostgreSQL not installed, or no cluster of it on PG_PORT, is a warning, not an error: its specs
# are skipped (or fail under REQUIRE_BROKERS=1) with the reason.
#
#   REDIS_PORT (6379), AMQP_PORT (5672), PG_PORT (5432)   ports to check/start on 127.0.0.1
#   RABBITMQ_WAIT_SECONDS (120), PG_WAIT_SECONDS (60)      how long to wait for a server to boot
set -euo pipefail

HOST=127.0.0.1
REDIS_PORT="${REDIS_PORT:-6379}"
AMQP_PORT="${AMQP_PORT:-5672}"
PG_PORT="${PG_PORT:-5432}"
RABBITMQ_WAIT_SECONDS="${RABBITMQ_WAIT_SECONDS:-120}"
PG_WAIT_SECONDS="${PG_WAIT_SECONDS:-60}"
# rabbitmq-server and rabbitmqctl live in /usr/sbin on Debian; not every PATH has it
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf '[services] %s\n' "$*"; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# tcp_open HOST PORT: something accepts TCP connections there
tcp_open() { timeout 2 bash -c ': <>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

redis_ping() {
  if have redis-cli; then
    [[ "$(timeout 3 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
  else # speak RESP by hand
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && IFS= read -r l <&3 && [[ $l == +PONG* ]]' \
      "$HOST" "$REDIS_PORT" 2>/dev/null
  fi
}

# the peer answers the AMQP 0-9-1 protocol header with a frame of type 1 (Connection.Start)
amqp_answers() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "AMQP\x00\x00\x09\x01" >&3 &&
    [[ "$(head -c 1 <&3 | od -An -tu1 | tr -d " ")" == 1 ]]' "$HOST" "$AMQP_PORT" 2>/dev/null
}

rabbit_status() { have rabbitmqctl && timeout 30 rabbitmqctl status >/dev/null 2>&1; }

start_redis() {
  if redis_ping; then
    log "Redis: already answering on $HOST:$REDIS_PORT (nothing to do)"
    return
  fi
  if tcp_open "$HOST" "$REDIS_PORT"; then
    die "Redis: port $HOST:$REDIS_PORT is taken by something that does not answer PING; free it or set REDIS_URL"
  fi
  have redis-server || die "Redis: not answering on $HOST:$REDIS_PORT and redis-server is not installed \
(apt-get install redis-server, or run 'docker compose up -d redis')"
  log "Redis: not answering on $HOST:$REDIS_PORT; starting redis-server (loopback, no persistence)"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do
    if redis_ping; then
      log "Redis: started, answering on $HOST:$REDIS_PORT"
      return
    fi
    sleep 0.2
  done
  die "Redis: started redis-server but $HOST:$REDIS_PORT does not answer PING after 10 s"
}

# wait_until WHAT PORT SECONDS HINT CHECK...: runs CHECK every second until it succeeds, saying so
# every 5 s; gives up after SECONDS with HINT (where to look).
wait_until() {
  local what=$1 port=$2 limit=$3 hint=$4 start=$SECONDS next_report=5 waited
  shift 4
  until "$@"; do
    waited=$((SECONDS - start))
    if ((waited >= limit)); then
      die "$what: not answering on $HOST:$port after ${limit} s ($hint)"
    fi
    if ((waited >= next_report)); then
      log "$what: waiting for $HOST:$port ... ${waited}s"
      next_report=$((next_report + 5))
    fi
    sleep 1
  done
}

wait_for_rabbit() {
  local start=$SECONDS
  wait_until RabbitMQ "$AMQP_PORT" "$RABBITMQ_WAIT_SECONDS" "see /var/log/rabbitmq/ or 'rabbitmqctl status'" \
    tcp_open "$HOST" "$AMQP_PORT"
  if have rabbitmqctl; then
    timeout 60 rabbitmqctl await_startup >/dev/null 2>&1 ||
      die "RabbitMQ: port $AMQP_PORT is open but 'rabbitmqctl await_startup' failed"
  fi
  log "RabbitMQ: started, answering on $HOST:$AMQP_PORT after $((SECONDS - start)) s"
}

start_rabbitmq() {
  if tcp_open "$HOST" "$AMQP_PORT"; then
    amqp_answers || die "RabbitMQ: port $HOST:$AMQP_PORT is taken by something that does not speak AMQP 0-9-1"
    if rabbit_status; then
      log "RabbitMQ: already answering on $HOST:$AMQP_PORT, 'rabbitmqctl status' ok (nothing to do)"
    else
      log "RabbitMQ: an AMQP 0-9-1 broker already answers on $HOST:$AMQP_PORT (not a node rabbitmqctl sees; using it)"
    fi
    return
  fi
  if rabbit_status; then
    log "RabbitMQ: node is running but $HOST:$AMQP_PORT is not open yet; waiting"
    wait_for_rabbit
    return
  fi
  have rabbitmq-server || die "RabbitMQ: not answering on $HOST:$AMQP_PORT and rabbitmq-server is not installed \
(apt-get install rabbitmq-server, or run 'docker compose up -d rabbitmq')"
  log "RabbitMQ: not answering on $HOST:$AMQP_PORT; starting rabbitmq-server -detached (loopback)"
  RABBITMQ_NODE_IP_ADDRESS="${RABBITMQ_NODE_IP_ADDRESS:-127.0.0.1}" RABBITMQ_NODE_PORT="$AMQP_PORT" \
    rabbitmq-server -detached ||
    die "RabbitMQ: 'rabbitmq-server -detached' failed (it must run as root or as the rabbitmq user)"
  wait_for_rabbit
}

# pg_isready: 0 accepting connections, 1 rejecting them (starting up or shutting down), 2 no answer
pg_state() {
  local code=0
  timeout 5 pg_isready -q -h "$HOST" -p "$PG_PORT" -t 3 || code=$?
  echo "$code"
}

# The Debian cluster (pg_lsclusters: version, name, port, status, ...) that listens on PG_PORT.
pg_cluster_on_port() {
  pg_lsclusters --no-header 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2, $4; exit }'
}

pg_accepting() { [[ "$(pg_state)" == 0 ]]; }

wait_for_postgres() {
  local start=$SECONDS
  wait_until PostgreSQL "$PG_PORT" "$PG_WAIT_SECONDS" "see /var/log/postgresql/ or 'pg_lsclusters'" pg_accepting
  log "PostgreSQL: started, accepting connections on $HOST:$PG_PORT after $((SECONDS - start)) s"
}

start_postgres() {
  if ! have pg_isready; then
    if tcp_open "$HOST" "$PG_PORT"; then
      log "PostgreSQL: something answers on $HOST:$PG_PORT (no pg_isready here to check it; using it)"
    else
      log "PostgreSQL: not installed (no pg_isready); optional, its specs are skipped \
(apt-get install postgresql to run them)"
    fi
    return
  fi
  case "$(pg_state)" in
  0)
    log "PostgreSQL: already accepting connections on $HOST:$PG_PORT (nothing to do)"
    return
    ;;
  1)
    log "PostgreSQL: $HOST:$PG_PORT answers but is not accepting connections yet; waiting"
    wait_for_postgres
    return
    ;;
  esac
  if tcp_open "$HOST" "$PG_PORT"; then
    die "PostgreSQL: port $HOST:$PG_PORT is taken by something that does not speak PostgreSQL; free it or set PG_PORT"
  fi
  if ! have pg_lsclusters; then
    log "PostgreSQL: warning: not answering on $HOST:$PG_PORT and no Debian cluster tools (pg_lsclusters) \
to start it; its specs are skipped: start it yourself, or point TEST_POSTGRES_URL at a server"
    return
  fi
  local cluster version name status
  cluster="$(pg_cluster_on_port)"
  if [[ -z "$cluster" ]]; then
    log "PostgreSQL: warning: no cluster listens on port $PG_PORT (pg_lsclusters: \
$(pg_lsclusters --no-header 2>/dev/null | awk '{ printf "%s%s/%s on %s", (NR > 1 ? ", " : ""), $1, $2, $3 }')); \
its specs are skipped: 'pg_createcluster <version> main --port $PG_PORT --start', or set PG_PORT"
    return
  fi
  read -r version name status <<<"$cluster"
  log "PostgreSQL: not answering on $HOST:$PG_PORT; starting cluster $version/$name (was $status)"
  pg_ctlcluster "$version" "$name" start ||
    die "PostgreSQL: 'pg_ctlcluster $version $name start' failed (it must run as root or as the cluster's owner)"
  wait_for_postgres
}

# The specs connect as postgres@127.0.0.1 without a password (TEST_POSTGRES_URL to change it): say
# so now when that login is refused, rather than in a skipped spec later.
check_postgres_login() {
  pg_accepting && have psql || return 0
  local url="${TEST_POSTGRES_URL:-postgres://postgres@$HOST:$PG_PORT/postgres}" error
  if ! error="$(PGCONNECT_TIMEOUT=3 psql "$url" -w -Atc 'SELECT 1' 2>&1 >/dev/null)"; then
    log "PostgreSQL: warning: the specs cannot log in with $(sed -E 's#(//[^:/@]+):[^@/]*@#\1:***@#' <<<"$url") ($error); \
allow it in pg_hba.conf (trust on 127.0.0.1 for a development machine) or set TEST_POSTGRES_URL"
  fi
}

start_redis
start_rabbitmq
start_postgres
check_postgres_login
postgres=""
if have pg_isready && pg_accepting; then postgres=" postgres://$HOST:$PG_PORT"; fi
log "ready: redis://$HOST:$REDIS_PORT amqp://$HOST:$AMQP_PORT$postgres"
