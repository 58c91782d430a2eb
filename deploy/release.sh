#!/bin/sh
# Roll out the openqpp release just installed in /opt/openqpp/venv on this host: migrate the
# database once (openqpp-migrate.service), then restart the instances one at a time, each only
# after the one before answers /healthz 200, so the others serve meanwhile.
#   deploy/release.sh [PORT...]      (default: 8001 8002, the openqpp@PORT units)
set -eu
ports="${*:-8001 8002}"

systemctl start openqpp-migrate.service    # waits for `openqpp db upgrade`; fails the release if it fails

for port in $ports; do
    systemctl restart "openqpp@$port.service"
    waited=0
    until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz"; do
        waited=$((waited + 1))
        if [ "$waited" -ge 60 ]; then
            echo "openqpp@$port: /healthz is not 200 after 60 s; stopping (the rest still serve)." >&2
            exit 1
        fi
        sleep 1
    done
    echo "openqpp@$port: serving."
done
