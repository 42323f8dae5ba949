#!/usr/bin/env bash
# The main job, as root on Debian 12: install what is needed, build, bring the demo lab up
# (containerlab/mpsa-3cpe.clab.yml as network namespaces with real FRR: gateway route reflector
# + 3 CPEs + LAN hosts), show that each CPE's LAN prefixes reach every other CPE with the
# advertising CPE's underlay address as next-hop, and tear everything down.
# (The encrypted MPSA overlay between the CPEs comes with the daemon: see README, status.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
"$root/scripts/setup.sh"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target mpsad mpsactl
labrun() { /usr/bin/python3 "$root/tests/lab/labrun.py" "$@"; }

state=$(labrun up containerlab/mpsa-3cpe.clab.yml)
trap 'echo; echo "--- tearing the lab down"; labrun down "$state"' EXIT
echo "--- lab up: $state"
labrun check containerlab/mpsa-3cpe.clab.yml | /usr/bin/python3 -c \
    'import json,sys; t=json.load(sys.stdin); print("nodes:", " ".join(t["nodes"])); print("links:", len(t["links"]))'

echo "--- waiting for the route reflector to reach every CPE"
deadline=$((SECONDS + 30))
until [[ $(labrun vtysh "$state" cpe1 -c 'show bgp ipv4 unicast' | grep -c '^\*>i') -ge 2 &&
         $(labrun vtysh "$state" cpe3 -c 'show bgp ipv6 unicast' | grep -c '^\*>i') -ge 2 ]]; do
    ((SECONDS < deadline)) || { echo "BGP did not converge within 30 s"; exit 1; }
    sleep 0.3
done
echo "--- gw: dynamic neighbours (no per-CPE configuration on the gateway)"
labrun vtysh "$state" gw -c 'show bgp summary' | grep -E '^\*|dynamic'
for cpe in cpe1 cpe2 cpe3; do
    echo "--- $cpe: prefixes learned from the other CPEs (next-hop = their underlay address)"
    labrun vtysh "$state" "$cpe" -c 'show bgp ipv4 unicast' -c 'show bgp ipv6 unicast' |
        grep -E '^\*>i|^ +[0-9a-f:.]+$' || true
done
echo "--- mpsad: $("$root/build/daemon/mpsad" --version)"
