#!/bin/sh
# Entry point of the containerlab node image (containerlab/Dockerfile).
#   mpsa-node boot    container CMD: start the node unless its env says MPSA_START=later
#   mpsa-node start   start FRR (frrinit.sh, /etc/frr/daemons) and, if /etc/mpsa/mpsad.json
#                     exists, mpsad (log: /var/log/mpsad.log); a late node joins with
#                     `docker exec clab-mpsa-3cpe-cpe4 mpsa-node start`
#   mpsa-node stop    SIGTERM mpsad (its dataplane stays in the kernel) and stop FRR
set -eu
case "${1:-}" in
boot)
    [ "${MPSA_START:-now}" = later ] || "$0" start
    exec sleep infinity
    ;;
start)
    [ -f /etc/frr/daemons ] && /usr/lib/frr/frrinit.sh start
    if [ -f /etc/mpsa/mpsad.json ]; then
        mkdir -p /var/lib/mpsa
        nohup /usr/sbin/mpsad -c /etc/mpsa/mpsad.json >>/var/log/mpsad.log 2>&1 &
        echo $! > /run/mpsad.pid
    fi
    ;;
stop)
    [ -f /run/mpsad.pid ] && kill "$(cat /run/mpsad.pid)" 2>/dev/null || true
    /usr/lib/frr/frrinit.sh stop || true
    ;;
*)
    echo "usage: mpsa-node boot|start|stop" >&2
    exit 2
    ;;
esac
