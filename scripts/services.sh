#!/usr/bin/env bash
# Starts Redis and RabbitMQ on loopback when they are not answering (`npm run services`).
# Idempotent: a server that already answers is left alone. Exits non-zero with a clear message
# when a server is needed but its binary is missing, or when it does not come up in time.
#
#   REDIS_PORT (6379), AMQP_PORT (5672)   ports to check/start on 127.0.0.1
#   RABBITMQ_WAIT_SECONDS (120)            how long to wait for RabbitMQ to boot
set -euo pipefail

HOST=127.0.0.1
REDIS_PORT="${REDIS_PORT:-6379}"
AMQP_PORT="${AMQP_PORT:-5672}"
RABBITMQ_WAIT_SECONDS="${RABBITMQ_WAIT_SECONDS:-120}"
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

wait_for_rabbit() {
  local start=$SECONDS next_report=5 waited
  until tcp_open "$HOST" "$AMQP_PORT"; do
    waited=$((SECONDS - start))
    if ((waited >= RABBITMQ_WAIT_SECONDS)); then
      die "RabbitMQ: not answering on $HOST:$AMQP_PORT after ${RABBITMQ_WAIT_SECONDS} s \
(see /var/log/rabbitmq/ or 'rabbitmqctl status')"
    fi
    if ((waited >= next_report)); then
      log "RabbitMQ: waiting for $HOST:$AMQP_PORT ... ${waited}s"
      next_report=$((next_report + 5))
    fi
    sleep 1
  done
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

start_redis
start_rabbitmq
log "ready: redis://$HOST:$REDIS_PORT amqp://$HOST:$AMQP_PORT"
