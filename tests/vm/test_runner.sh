#!/bin/bash
# harness_vm_runner (label vm): the runner boots the stock kernel, shows the host's root file
# system, keeps guest writes in the guest, persists -w shares, passes -e variables, and returns
# the command's exit status.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
share=$(mktemp -d)
probe=$(mktemp /tmp/mpsa-vm-probe.XXXXXX)
echo "host /tmp is visible" > "$probe"
trap 'rm -rf "$share" "$probe"' EXIT
rm -f /etc/mpsa-vm-overlay-probe
export MPSA_VM_SELFTEST_VAR="passed through"
"$here/vmrun" -t 300 -w "$share" -e MPSA_VM_SELFTEST_VAR -- "$here/guest-runner-selftest.sh" "$share" "$probe"
rc=$?
ok=1
[[ $rc -eq 7 ]] || { echo "FAIL: expected exit status 7 from the guest, got $rc"; ok=0; }
[[ $(cat "$share/result" 2>/dev/null) == "result from the guest" ]] ||
    { echo "FAIL: the -w share did not persist the guest's file"; ok=0; }
[[ ! -e /etc/mpsa-vm-overlay-probe ]] || { echo "FAIL: a guest write reached the host's /etc"; ok=0; }
((ok)) && echo PASS || { echo FAIL; exit 1; }
