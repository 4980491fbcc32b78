#!/usr/bin/env bash
# Runs Debian's nginx in the foreground from deploy/forward-auth/nginx.conf.template, everything
# (config, pid, logs, temp files) under <dir> — never as a system service. The test command
# starts it in the background and stops it by its pid.
#
# Usage: forward-nginx.sh <dir> <listen> <auth host> <app hosts> <gatehouse addr> <app addr>
#   e.g. forward-nginx.sh test-output/nginx 127.0.0.1:8080 auth.example.com "app.example.com" 127.0.0.1:3000 127.0.0.1:8081
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -eq 6 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
DIR="$(mkdir -p "$1" && cd "$1" && pwd)"
LISTEN="$2" AUTH_HOST="$3" APP_HOSTS="$4" GATEHOUSE="$5" APP="$6"
mkdir -p "$DIR/tmp"
sed -e "s|{{LISTEN}}|$LISTEN|g" -e "s|{{AUTH_HOST}}|$AUTH_HOST|g" -e "s|{{APP_HOSTS}}|$APP_HOSTS|g" \
    -e "s|{{GATEHOUSE}}|$GATEHOUSE|g" -e "s|{{APP}}|$APP|g" \
    "$ROOT/deploy/forward-auth/nginx.conf.template" >"$DIR/forward-auth.conf"
# Run as whoever runs this (as root, nginx would otherwise hand its workers to `nobody`,
# who cannot write the temp folders here).
cat >"$DIR/nginx.conf" <<CONF
user $(id -un) $(id -gn);
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/error.log info;
events { worker_connections 256; }
http {
    access_log $DIR/access.log;
    client_body_temp_path $DIR/tmp/body;
    proxy_temp_path $DIR/tmp/proxy;
    fastcgi_temp_path $DIR/tmp/fastcgi;
    uwsgi_temp_path $DIR/tmp/uwsgi;
    scgi_temp_path $DIR/tmp/scgi;
    include $DIR/forward-auth.conf;
}
CONF
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
"$NGINX" -p "$DIR" -e "$DIR/error.log" -c "$DIR/nginx.conf" -t -q
exec "$NGINX" -p "$DIR" -e "$DIR/error.log" -c "$DIR/nginx.conf" -g 'daemon off;'
