#!/usr/bin/env bash
# The main job, as root on a fresh Debian 12: install what is needed (scripts/setup.sh), build
# mpsad + mpsactl, then, inside a qemu guest booted from Debian's generic kernel (tests/vm/vmrun;
# the build machine's kernel may lack ESP and xfrm interfaces), run the demo lab
# containerlab/mpsa-3cpe.clab.yml with real FRR and mpsad (tests/lab/lab_demo_guest.py):
#   lab up -> IKEv2 + group SA + BGP inside the CHILD_SA -> mpsactl status/peers/routes/sas on a
#   CPE -> pings between CPE LANs (IPv4, IPv6) -> cpe4 joins and is reachable -> tear down.
# MPSA_DEMO_NO_VM=1 runs the lab directly on this host (needs a kernel with esp4/esp6/xfrm
# interfaces). MPSA_BUILD_DIR (default build/) is where mpsad is built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${MPSA_BUILD_DIR:-$root/build}
start=$(date +%s)
say() { printf '\n##### %s (%ds)\n' "$*" $(($(date +%s) - start)); }

say "setup: Debian packages (scripts/setup.sh)"
"$root/scripts/setup.sh"

say "build: mpsad, mpsactl ($build)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target mpsad mpsactl
"$build/daemon/mpsad" --version

# A lab left by an interrupted earlier run must not disturb this one.
/usr/bin/python3 "$root/tests/lab/labrun.py" gc || true

guest=(/usr/bin/python3 "$root/tests/lab/lab_demo_guest.py" "$build/daemon/mpsad"
       "$build/daemon/mpsactl")
if [[ ${MPSA_DEMO_NO_VM:-0} == 1 ]]; then
    say "demo lab on this host"
    rc=0; "${guest[@]}" || rc=$?
else
    say "demo lab inside the VM (qemu, Debian generic kernel: ESP, xfrm interfaces)"
    rc=0; "$root/tests/vm/vmrun" -t 1200 -- "${guest[@]}" || rc=$?
fi
say "demo $([[ $rc -eq 0 ]] && echo finished || echo "FAILED (exit $rc)") in $(($(date +%s) - start)) s"
exit "$rc"
