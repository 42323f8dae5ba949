#!/bin/bash
# Runs INSIDE the guest: checks the properties of the VM runner that every vm test relies on.
set -euo pipefail
out=$1    # a directory shared read-write with the host (-w)
probe=$2  # a file the host wrote under /tmp: the guest must see the host's /tmp
fail() { echo "FAIL: $*"; exit 1; }
[[ $(uname -r) == *-amd64 ]] || fail "not the Debian generic kernel: $(uname -r)"
[[ $(id -u) -eq 0 ]] || fail "not root"
[[ -x /usr/lib/frr/zebra ]] || fail "host root file system not visible"
[[ $(cat "$probe" 2>/dev/null) == "host /tmp is visible" ]] || fail "host /tmp not visible ($probe)"
for m in esp4 esp6 xfrm_interface; do
    grep -qw "^$m" /proc/modules || fail "module $m not loaded"
done
echo "written in the guest overlay" > /etc/mpsa-vm-overlay-probe   # must NOT reach the host
echo "result from the guest" > "$out/result"                        # must reach the host
[[ $(cat /proc/sys/net/ipv6/conf/default/accept_dad) -eq 0 ]] || fail "accept_dad not set"
[[ ${MPSA_VM_SELFTEST_VAR:-} == "passed through" ]] || fail "-e variable not passed"
echo "runner self-test OK"
exit 7   # the host must see this exact status
