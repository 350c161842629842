#!/usr/bin/env bash
# Start K Streamlit replicas of the app on 127.0.0.1:8501.. and nginx in front of them (sticky
# sessions, websockets) on one port of this machine. Ctrl-C (or SIGTERM) stops all of them.
#
#   deploy/run_replicas.sh [K] [PORT]          K replicas (default 2), nginx on PORT (default 8080)
#   PYTHON=/path/to/venv/bin/python deploy/run_replicas.sh 2 8080
#
# Needs Debian's nginx (apt-get install -y nginx); nginx runs as this user with its files in a
# temporary folder, so no system service is touched. Once ready it prints the URL and the replicas'
# pids, e.g. for the load test:
#   python -m benchmarks.loadtest --url http://127.0.0.1:8080 --server-pid <pids> --users 60 --pages cnn
set -euo pipefail

K=${1:-2}
PORT=${2:-8080}
BASE_PORT=${DLV_BASE_PORT:-8501}
PYTHON=${PYTHON:-python3}
NGINX=${NGINX:-nginx}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN=${DLV_RUN_DIR:-$(mktemp -d /tmp/dlv-replicas.XXXXXX)}
mkdir -p "$RUN"

command -v "$NGINX" >/dev/null || { echo "nginx not found: apt-get install -y nginx" >&2; exit 1; }

# One secret for all replicas, so cookies signed by one replica verify on every other (Streamlit
# takes it only from its config file or the environment, never from the command line).
export STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')}
FLAGS=(
  --server.address 127.0.0.1            # only nginx talks to the replicas
  --server.headless true
  --browser.gatherUsageStats false
  --server.enableXsrfProtection true    # the default; stated so that nobody turns it off
  --server.maxUploadSize 5              # MB; the CNN page's uploader promises "at most 5 MB"
  --server.fileWatcherType none         # no watching of every imported module on each rerun
  --runner.postScriptGC false           # no full gc.collect() after every rerun (see README)
  --client.showErrorDetails none        # visitors never see a traceback (server paths, code)
)

port_free() {  # $1: port on 127.0.0.1
  "$PYTHON" -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
for port in "$PORT" $(seq "$BASE_PORT" $((BASE_PORT + K - 1))); do
  port_free "$port" || { echo "port $port is in use (a replica or nginx still running?)" >&2; exit 1; }
done

PIDS=()
NGINX_PID=""
cleanup() {
  trap - EXIT INT TERM
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for ((i = 0; i < K; i++)); do
  port=$((BASE_PORT + i))
  (cd "$ROOT" && PYTHONPATH="$ROOT" exec "$PYTHON" -m streamlit run app.py --server.port "$port" "${FLAGS[@]}") \
    >"$RUN/replica-$port.log" 2>&1 &
  PIDS+=("$!")
done

healthy() {  # $1: port
  "$PYTHON" - "$1" <<'PY'
import sys, urllib.request
try:
    ok = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_stcore/health", timeout=2).read() == b"ok"
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
}
for ((i = 0; i < K; i++)); do
  port=$((BASE_PORT + i))
  for _ in $(seq 240); do
    healthy "$port" && break
    kill -0 "${PIDS[$i]}" 2>/dev/null || { echo "replica on $port died, see $RUN/replica-$port.log" >&2; exit 1; }
    sleep 0.5
  done
  healthy "$port" || { echo "replica on $port not healthy after 120 s" >&2; exit 1; }
done

# The site config with this run's replicas and port, inside a minimal nginx.conf of our own.
SERVERS=""
for ((i = 0; i < K; i++)); do SERVERS+="    server 127.0.0.1:$((BASE_PORT + i));"$'\n'; done
awk -v servers="$SERVERS" -v port="$PORT" '
  /# BEGIN replicas/ { print; printf "%s", servers; skip = 1; next }
  /# END replicas/ { skip = 0 }
  skip { next }
  { sub(/listen 8080;/, "listen " port ";"); print }
' "$ROOT/deploy/nginx.conf" >"$RUN/dlv.conf"
mkdir -p "$RUN/tmp"
cat >"$RUN/nginx.conf" <<EOF
worker_processes auto;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log warn;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $RUN/tmp/body;
    proxy_temp_path $RUN/tmp/proxy;
    fastcgi_temp_path $RUN/tmp/fastcgi;
    uwsgi_temp_path $RUN/tmp/uwsgi;
    scgi_temp_path $RUN/tmp/scgi;
    include $RUN/dlv.conf;
}
EOF
"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf"
"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" &
NGINX_PID=$!

for _ in $(seq 40); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.25
done
(IFS=,; echo "${PIDS[*]}") >"$RUN/replica.pids"
echo "ready: http://127.0.0.1:$PORT  ($K replicas on ports $BASE_PORT..$((BASE_PORT + K - 1)), pids $(cat "$RUN/replica.pids"), logs in $RUN)"
wait "$NGINX_PID"
