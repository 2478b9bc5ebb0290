#!/usr/bin/env bash
# A Docker engine for `make e2e` on machines that have none running: Debian's dockerd with
# host-only networking (no bridge, no iptables: a bridge would put private-range addresses
# on the machine). `start` leaves an engine that was already running alone and says so;
# `stop` ends only the one `start` began, by its PID.
#   deploy/dockerd.sh start|stop
set -euo pipefail
pidfile=/run/streamwise-dockerd.pid
log=${TMPDIR:-/tmp}/streamwise-dockerd.log
case "${1:-}" in
  start)
    if docker info >/dev/null 2>&1; then
      echo "docker engine: already running"
      exit 0
    fi
    nohup dockerd --iptables=false --ip-masq=false --bridge=none --pidfile "$pidfile" \
      >"$log" 2>&1 &
    for _ in $(seq 60); do
      docker info >/dev/null 2>&1 && { echo "docker engine: started (pid $(cat "$pidfile"), log $log)"; exit 0; }
      sleep 1
    done
    echo "docker engine: did not start in 60 s; see $log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      rm -f "$pidfile"
      echo "docker engine: stopped (pid $pid)"
    fi
    ;;
  *)
    echo "usage: deploy/dockerd.sh start|stop" >&2
    exit 2
    ;;
esac
