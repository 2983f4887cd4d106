#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fills in the placeholders (names between two at-signs) of deploy/nginx/suara.conf and prints the site. Every
# placeholder must be given (NAME=value arguments); a missing or unknown one is an error, so a
# half-rendered site never reaches nginx. Used for production (deploy/nginx/README.md) and by the
# test that starts a real nginx (tests/hostile/test_nginx_front.c).
#   deploy/nginx/render.sh SERVER_NAME=suara.example.go.id TLS_LISTEN=443 HTTP_LISTEN=80 \
#       CERT=/etc/letsencrypt/live/suara.example.go.id/fullchain.pem \
#       CERT_KEY=/etc/letsencrypt/live/suara.example.go.id/privkey.pem \
#       UPSTREAM=127.0.0.1:8080 LOG_DIR=/var/log/nginx >/etc/nginx/sites-available/suara
# -o FILE (first) writes the site to FILE instead of standard output, only if it is complete.
set -eu
TEMPLATE=${TEMPLATE:-$(dirname "$0")/suara.conf}
OUT=
if [ "${1:-}" = "-o" ]; then
    OUT=$2
    shift 2
fi
NAMES="SERVER_NAME TLS_LISTEN HTTP_LISTEN CERT CERT_KEY UPSTREAM LOG_DIR"
script=""
for arg in "$@"; do
    name=${arg%%=*}
    value=${arg#*=}
    case " $NAMES " in
    *" $name "*) ;;
    *) echo "render.sh: unknown placeholder $name (known: $NAMES)" >&2; exit 2 ;;
    esac
    case $value in
    "" | *[\;\{\}\#\'\"\|\\]* | *" "*)
        echo "render.sh: $name: empty or has a character nginx would misread" >&2
        exit 2
        ;;
    esac
    script="$script s|@$name@|$value|g;"
done
out=$(sed -e "$script" "$TEMPLATE")
left=$(printf '%s\n' "$out" | grep -o '@[A-Z_]*@' | sort -u | tr '\n' ' ' || true)
if [ -n "$left" ]; then
    echo "render.sh: not given: $left" >&2
    exit 2
fi
if [ -n "$OUT" ]; then
    printf '%s\n' "$out" >"$OUT"
else
    printf '%s\n' "$out"
fi
