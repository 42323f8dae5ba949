#!/usr/bin/python3
"""harness_lab_bgp_reflection (label frr): the demo topology with real FRR in namespaces.

The gateway is a route reflector with dynamic neighbours (bgp listen range); every CPE's LAN
prefix, IPv4 and IPv6, must reach every other CPE with next-hop = the advertising CPE's underlay
address (IPv6 too, although the one session is IPv4: the CPEs' outbound route-map sets their
IPv6 underlay address as next-hop), and zebra must install it in the CPE's kernel. Then cpe4,
marked MPSA_START=later, joins (`start-node`: its FRR starts, nothing else is reconfigured) and
every CPE, cpe4 included, must have the others' prefixes. Afterwards the teardown must leave no
namespace and no process behind.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import labrun  # noqa: E402

TOPO = HERE.parents[1] / "containerlab" / "mpsa-3cpe.clab.yml"
CPES = {"cpe1": 1, "cpe2": 2, "cpe3": 3}
LATE_CPE = ("cpe4", 4)
DEADLINE_S = 30


def expected_routes(me: str):
    """(afi, prefix, next-hop) every other CPE must have reflected to `me`."""
    for other, n in CPES.items():
        if other != me:
            yield "ipv4", f"10.{n}.0.0/24", f"100.64.{n}.2"
            yield "ipv6", f"fd00:{n}::/64", f"2001:db8:64:{n}::2"


def bgp_nexthops(lab, node, afi, prefix):
    data = lab.vtysh_json(node, f"show bgp {afi} unicast {prefix} json")
    hops = set()
    for path in data.get("paths", []):
        if path.get("valid") and path.get("bestpath", {}).get("overall"):
            for nh in path.get("nexthops", []):
                hops.add(nh.get("ip"))
    return hops


def wait_converged(lab, what: str) -> bool:
    t0 = time.monotonic()
    left = missing(lab)
    while left and time.monotonic() - t0 < DEADLINE_S:
        time.sleep(0.2)
        left = missing(lab)
    if left:
        print("FAIL: %s: not reflected within %ds:\n  %s" % (what, DEADLINE_S, "\n  ".join(left)))
        print(lab.vtysh("gw", "show bgp summary"))
        return False
    n = len(CPES)
    print(f"{what}: all {n * (n - 1) * 2} reflected routes present in BGP and FIB after "
          f"{time.monotonic() - t0:.2f}s")
    return True


def missing(lab):
    out = []
    for cpe in CPES:
        for afi, prefix, nh in expected_routes(cpe):
            if nh not in bgp_nexthops(lab, cpe, afi, prefix):
                out.append(f"{cpe}: {afi} {prefix} via {nh} (BGP)")
                continue
            fam = "-4" if afi == "ipv4" else "-6"
            fib = lab.exec(cpe, ["ip", fam, "route", "show", prefix]).stdout
            # zebra installs the recursively resolved underlay next-hop (the isp router on eth1)
            if "proto bgp" not in fib or "dev eth1" not in fib:
                out.append(f"{cpe}: {afi} {prefix} via {nh} (kernel FIB: {fib.strip()!r})")
    return out


def main() -> int:
    lab = labrun.lab_up(TOPO)  # no mpsad: FRR only (this kernel may lack ESP)
    namespaces = [n["netns"] for n in lab.state["nodes"].values()]
    ok = False
    try:
        if wait_converged(lab, "3 CPEs"):
            # The gateway holds no per-CPE configuration: all three are dynamic neighbours.
            summary = lab.vtysh_json("gw", "show bgp ipv4 unicast summary json")
            dyn = summary.get("dynamicPeers", 0)
            if dyn != 3:
                print(f"FAIL: expected 3 dynamic IPv4 neighbours on gw, got {dyn}")
            else:
                labrun.start_node(lab, LATE_CPE[0])
                CPES[LATE_CPE[0]] = LATE_CPE[1]
                ok = wait_converged(lab, f"{LATE_CPE[0]} joined")
    finally:
        problems = labrun.lab_down(lab.state_dir)
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    leftovers = [ns for ns in namespaces if ns in existing.split()]
    if problems or leftovers or lab.state_dir.exists():
        print(f"FAIL: teardown left {leftovers} {problems} (state dir exists: "
              f"{lab.state_dir.exists()})")
        ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
