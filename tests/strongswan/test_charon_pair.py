#!/usr/bin/python3
"""harness_strongswan_pair (label strongswan): the strongSwan harness works on this machine.

Two real charons in two namespaces negotiate IKE SAs with a PSK for each proposal the ike tests
use, and -- with kernel-libipsec, which needs no kernel ESP -- a CHILD_SA that carries a ping.
This is the peer every ike_* interop test talks to; if this fails, those results mean nothing.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from charon import Charon, NetnsPair  # noqa: E402

PROPOSALS = ["aes256-sha256-modp2048", "aes128gcm16-prfsha256-x25519", "aes256-sha384-ecp384"]
PSK = "0x6d7073612d746573742d707368617265642d736563726574"  # "mpsa-test-pshared-secret"


def swanctl_conf(me: str, peer: str, proposal: str, child: str = "") -> str:
    return f"""connections {{
  t {{
    version = 2
    local_addrs = {me}
    remote_addrs = {peer}
    proposals = {proposal}
    local {{
      auth = psk
      id = {me}
    }}
    remote {{
      auth = psk
      id = {peer}
    }}
    children {{
{child}
    }}
  }}
}}
secrets {{
  ike-1 {{
    secret = {PSK}
  }}
}}
"""


def child_conf(local_ts: str, remote_ts: str) -> str:
    return f"""      c {{
        local_ts = {local_ts}
        remote_ts = {remote_ts}
        esp_proposals = aes128gcm16
        mode = tunnel
      }}"""


def main() -> int:
    failures = []
    with NetnsPair() as nets, tempfile.TemporaryDirectory(prefix="swpair-") as tmp:
        a4, b4 = nets.addr4["a"], nets.addr4["b"]
        for i, proposal in enumerate(PROPOSALS):
            with Charon(nets.a, f"{tmp}/a{i}", swanctl_conf(a4, b4, proposal)) as ca, \
                    Charon(nets.b, f"{tmp}/b{i}", swanctl_conf(b4, a4, proposal)) as cb:
                ca.load()
                cb.load()
                proc = ca.initiate(ike="t", check=False)
                try:
                    ca.wait_ike_state("t")
                    cb.wait_ike_state("t")
                    sas = ca.list_sas()
                    print(f"PASS IKE SA {proposal}: " + sas.splitlines()[0])
                except Exception as e:  # noqa: BLE001 - report every proposal
                    failures.append(f"{proposal}: {e}\n{proc.stdout}")
        # CHILD_SA through kernel-libipsec (userspace ESP in UDP 4500): inner addresses on lo.
        subprocess.run(["ip", "-n", nets.a, "addr", "add", "10.1.0.1/32", "dev", "lo"], check=True)
        subprocess.run(["ip", "-n", nets.b, "addr", "add", "10.2.0.1/32", "dev", "lo"], check=True)
        with Charon(nets.a, f"{tmp}/la", swanctl_conf(a4, b4, PROPOSALS[1],
                    child_conf("10.1.0.1/32", "10.2.0.1/32")), libipsec=True) as ca, \
                Charon(nets.b, f"{tmp}/lb", swanctl_conf(b4, a4, PROPOSALS[1],
                       child_conf("10.2.0.1/32", "10.1.0.1/32")), libipsec=True) as cb:
            ca.load()
            cb.load()
            proc = ca.initiate(child="c", check=False)
            if proc.returncode != 0:
                failures.append(f"libipsec CHILD_SA: {proc.stdout}{proc.stderr}\n{ca.log_tail()}")
            else:
                ping = subprocess.run(["ip", "netns", "exec", nets.a, "ping", "-c", "3", "-i",
                                       "0.2", "-W", "2", "-I", "10.1.0.1", "10.2.0.1"],
                                      capture_output=True, text=True)
                sas = ca.list_sas()
                if ping.returncode != 0:
                    failures.append(f"ping over libipsec CHILD_SA failed:\n{ping.stdout}\n{sas}")
                elif "TUNNEL-in-UDP" not in sas or " 0 packets" in sas:
                    failures.append(f"libipsec CHILD_SA not UDP-encapsulated or idle:\n{sas}")
                else:
                    print("PASS CHILD_SA over kernel-libipsec (ESP-in-UDP), ping ok")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
