#!/usr/bin/python3
"""The demo (scripts/demo.sh runs it inside the vm guest, whose kernel has ESP and xfrm
interfaces): the mpsa-3cpe lab with real FRR and mpsad, shown step by step.

    lab_demo_guest.py MPSAD MPSACTL
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labrun  # noqa: E402
from mpsa_lab import CPES, Failure, MpsaLab, lan4, lan6, now, poll  # noqa: E402

T0 = now()


def section(title: str) -> None:
    print(f"\n=== {title}  [{now() - T0:.0f}s]", flush=True)


def show(lab: MpsaLab, node: str, *cmd: str) -> None:
    print(f"--- {node}# {' '.join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd))}",
          flush=True)
    proc = lab.sh(node, list(cmd), check=False)
    print((proc.stdout + proc.stderr).rstrip(), flush=True)
    if proc.returncode != 0:
        raise Failure(f"{node}: {' '.join(cmd)} exited {proc.returncode}")


def main() -> int:
    mpsad, mpsactl = sys.argv[1], sys.argv[2]
    section("lab up: isp router, gateway (mpsad gateway + FRR route reflector), cpe1-3 "
            "(FRR + mpsad cpe), LAN hosts h1-h3; cpe4/h4 wired but not started")
    lab = MpsaLab(mpsad, mpsactl)
    ok = False
    try:
        section("waiting: IKEv2 CPE -> gateway, group SA pushed (MPSA_PUT), BGP inside the "
                "CHILD_SA, overlay policies, every LAN reaching every other")
        lab.wait_converged()
        section("gateway: mpsactl status, groups (one group SA for all members), members")
        show(lab, "gw", mpsactl, "status")
        show(lab, "gw", mpsactl, "groups")
        show(lab, "gw", mpsactl, "members")
        section("cpe1: mpsactl status / peers / routes / sas")
        for what in ("status", "peers", "routes", "sas"):
            show(lab, "cpe1", mpsactl, what)
        section("ping between CPE LANs, IPv4 and IPv6 (direct, ESP with the group SA)")
        for src, dsts in (("h1", [lan4(2), lan6(3)]), ("h2", [lan4(3), lan6(1)])):
            for d in dsts:
                show(lab, src, "ping", "-n", "-c", "3", "-i", "0.3", "-W", "2", d)
        section("cpe4 joins: its FRR and mpsad start; nothing is changed on the gateway or the "
                "other CPEs")
        t_join = now()
        labrun.start_node(lab.lab, "cpe4")
        poll(lambda: lab.group_spis("cpe4"), 120, "cpe4 getting the group SA", interval=0.1)
        t_sa = now()
        lab.wait_converged(cpes=dict(CPES))
        print(f"cpe4 had the group SA {t_sa - t_join:.1f}s after it started; every LAN "
              f"reaches h4 {now() - t_join:.1f}s after it started", flush=True)
        show(lab, "h1", "ping", "-n", "-c", "3", "-i", "0.3", "-W", "2", lan4(4))
        show(lab, "h4", "ping", "-n", "-c", "3", "-i", "0.3", "-W", "2", lan6(2))
        show(lab, "cpe1", mpsactl, "peers")
        ok = True
    except (Failure, labrun.LabError, subprocess.TimeoutExpired) as e:
        print(f"\nDEMO FAILED: {e}\n{lab.diagnostics()}", flush=True)
    finally:
        section("tearing the lab down")
        problems = lab.down()
        if problems:
            print(f"teardown problems: {problems}")
            ok = False
    print(f"\n=== demo {'done' if ok else 'FAILED'} in {now() - T0:.0f}s (inside the VM)")
    return 0 if ok else 1


if __name__ == "__main__":
    time.sleep(0)
    sys.exit(main())
