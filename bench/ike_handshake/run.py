#!/usr/bin/python3
"""bench/ike_handshake: IKE SA setup rate and memory, our responder vs strongSwan charon.

    sudo bench/ike_handshake/run.py BUILD/bench/ike_handshake/ike_handshake [-n 2000] [-c 64]

Two namespaces joined by a veth pair (tests/strongswan/charon.py). Our load generator (our
initiator, PSK, aes128gcm16-prfsha256-x25519, no CHILD_SA) runs in namespace a and opens N IKE SAs
(IKE_SA_INIT + IKE_AUTH, W in flight) against (a) our responder, then (b) charon, in namespace b,
in the same run. Reported: handshakes/s and responder RSS growth per 1,000 IKE SAs, and ratios.
charon runs with logging off and its DoS thresholds raised so that it never sends cookies or
blocks (our responder likewise).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "strongswan"))
from charon import PLUGINS, Charon, NetnsPair  # noqa: E402

PSK = "mpsa-bench-pre-shared-key"
PROPOSAL = "aes128gcm16-prfsha256-x25519"


class QuietCharon(Charon):
    def _strongswan_conf(self) -> str:
        return f"""charon-systemd {{
  load = {PLUGINS} kernel-netlink
  install_routes = no
  block_threshold = 1000000
  cookie_threshold = 1000000
  init_limit_half_open = 0
  filelog {{
    log {{
      path = {self.log_path}
      default = -1
    }}
  }}
  plugins {{
    vici {{
      socket = {self.uri}
    }}
  }}
}}
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def generate(binary: str, nets: NetnsPair, n: int, c: int) -> dict:
    out = subprocess.run(["ip", "netns", "exec", nets.a, binary, "--local", nets.addr4["a"],
                          "--target", nets.addr4["b"], "-n", str(n), "-c", str(c)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"generator failed: {out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-c", type=int, default=64)
    args = ap.parse_args()
    results = {}
    with NetnsPair("ikb") as nets, tempfile.TemporaryDirectory(prefix="ikebench-") as tmp:
        # (a) our responder
        serve = subprocess.Popen(["ip", "netns", "exec", nets.b, args.binary, "--serve",
                                  nets.addr4["b"]], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, bufsize=1)
        before = json.loads(serve.stdout.readline())["rss_kib"]
        gen = generate(args.binary, nets, args.n, args.c)
        serve.stdin.write("rss\n")
        serve.stdin.flush()
        after = json.loads(serve.stdout.readline())
        serve.stdin.close()
        serve.wait(10)
        results["mpsa"] = {**gen, "responder_ike_sas": after["ike_sas"],
                           "responder_rss_kib_per_1000":
                               (after["rss_kib"] - before) * 1000 / max(1, after["ike_sas"])}
        # (b) charon
        conf = f"""connections {{
  t {{
    version = 2
    local_addrs = {nets.addr4['b']}
    remote_addrs = {nets.addr4['a']}
    proposals = {PROPOSAL}
    local {{
      auth = psk
      id = {nets.addr4['b']}
    }}
    remote {{
      auth = psk
      id = {nets.addr4['a']}
    }}
  }}
}}
secrets {{
  ike-1 {{
    secret = "{PSK}"
  }}
}}
"""
        with QuietCharon(nets.b, f"{tmp}/charon", conf) as ch:
            ch.load()
            time.sleep(0)  # charon is up once VICI answers (start() polls it)
            before = rss_kib(ch.proc.pid)
            gen = generate(args.binary, nets, args.n, args.c)
            stats = ch.swanctl("--stats").stdout
            after = rss_kib(ch.proc.pid)
            results["charon"] = {**gen, "responder_rss_kib_per_1000":
                                 (after - before) * 1000 / max(1, gen["ike_sas"]),
                                 "stats": " ".join(stats.split())[:200]}
    m, c = results["mpsa"], results["charon"]
    results["ratio_rate_mpsa_over_charon"] = m["handshakes_per_s"] / c["handshakes_per_s"]
    results["ratio_rss_mpsa_over_charon"] = (m["responder_rss_kib_per_1000"] /
                                             c["responder_rss_kib_per_1000"])
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
