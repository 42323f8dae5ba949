#!/usr/bin/python3
"""bench/ike_handshake: IKE SA setup rate and memory, our responder vs strongSwan charon.

    sudo bench/ike_handshake/run.py BUILD/bench/ike_handshake/ike_handshake [-n 2000] [-c 64]
        [--runs 3]

Two namespaces joined by a veth pair (tests/strongswan/charon.py). Our load generator (our
initiator, PSK, aes128gcm16-prfsha256-x25519, no CHILD_SA) runs in namespace a and opens N IKE SAs
(IKE_SA_INIT + IKE_AUTH, W in flight) against (a) our responder, then (b) charon, in namespace b,
in the same run, --runs times alternately (fresh responders each time). Reported, as medians
and ratios: handshakes/s, responder RSS growth per 1,000 IKE SAs, responder CPU time per
handshake (independent of other load on the machine), and the generator's share of one core
(it shares the machine's cores with the responder; near 1.0 it would be the bottleneck).
charon runs with logging off and its DoS thresholds raised so that it never sends cookies or
blocks (our responder likewise); its thread pool is strongSwan's default (16 threads).
"""

import argparse
import json
import os
import re
import statistics
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


def cpu_s(pid: int) -> float:
    """utime + stime of a process, all its threads (charon is multi-threaded)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


# --nice: the same scheduling priority for the generator and for every thread of either
# responder, to measure the implementations rather than their share of a machine busy with
# other work (0: leave priorities alone).
NICE = 0


def renice_all_threads(pid: int) -> None:
    if NICE:
        for tid in os.listdir(f"/proc/{pid}/task"):
            os.setpriority(os.PRIO_PROCESS, int(tid), NICE)


def niced(cmd: list[str]) -> list[str]:
    return ["nice", "-n", str(NICE), *cmd] if NICE else cmd


def generate(binary: str, nets: NetnsPair, n: int, c: int) -> dict:
    out = subprocess.run(["ip", "netns", "exec", nets.a,
                          *niced([binary, "--local", nets.addr4["a"], "--target", nets.addr4["b"],
                                  "-n", str(n), "-c", str(c)])],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"generator failed: {out.stdout}{out.stderr}")
    gen = json.loads(out.stdout.strip().splitlines()[-1])
    # Share of one core the generator used while it ran: near 1.0 would make it the bottleneck.
    gen["initiator_cpu_share"] = gen["initiator_cpu_s"] / gen["seconds"]
    return gen


def run_ours(binary: str, nets: NetnsPair, n: int, c: int) -> dict:
    serve = subprocess.Popen(["ip", "netns", "exec", nets.b,
                              *niced([binary, "--serve", nets.addr4["b"]])],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    try:
        before = json.loads(serve.stdout.readline())
        gen = generate(binary, nets, n, c)
        serve.stdin.write("rss\n")
        serve.stdin.flush()
        after = json.loads(serve.stdout.readline())
    finally:
        serve.stdin.close()
        serve.wait(10)
    sas = max(1, after["ike_sas"])
    return {**gen, "responder_ike_sas": after["ike_sas"],
            "responder_rss_kib_per_1000": (after["rss_kib"] - before["rss_kib"]) * 1000 / sas,
            "responder_cpu_ms_per_handshake": (after["cpu_s"] - before["cpu_s"]) * 1000 / sas,
            # malloc's bytes in use (no allocator slack): what the RSS figure is made of
            "responder_heap_kib_per_1000": (after["heap_bytes"] - before["heap_bytes"]) / 1024
                                           * 1000 / sas,
            "responder_threads": 1}


def run_charon(binary: str, nets: NetnsPair, n: int, c: int, workdir: str) -> dict:
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
    with QuietCharon(nets.b, workdir, conf) as ch:
        ch.load()  # charon is up once VICI answers (start() polls it)
        pid = ch.proc.pid
        renice_all_threads(pid)  # its worker pool exists once VICI answers
        before, cpu_before = rss_kib(pid), cpu_s(pid)
        gen = generate(binary, nets, n, c)
        after, cpu_after = rss_kib(pid), cpu_s(pid)
        stats = ch.swanctl("--stats").stdout
        m = re.search(r"IKE_SAs: (\d+) total", stats)
        sas = int(m.group(1)) if m else gen["ike_sas"]
        return {**gen, "responder_ike_sas": sas,
                "responder_rss_kib_per_1000": (after - before) * 1000 / max(1, sas),
                "responder_cpu_ms_per_handshake": (cpu_after - cpu_before) * 1000 / max(1, sas),
                "responder_threads": threads(pid)}


KEYS = ("handshakes_per_s", "responder_rss_kib_per_1000", "responder_cpu_ms_per_handshake",
        "initiator_cpu_share")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-c", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3, help="alternating runs; medians reported")
    ap.add_argument("--nice", type=int, default=0,
                    help="run generator and both responders (all threads) at this nice value")
    args = ap.parse_args()
    global NICE
    NICE = args.nice
    runs = {"mpsa": [], "charon": []}
    with NetnsPair("ikb") as nets, tempfile.TemporaryDirectory(prefix="ikebench-") as tmp:
        for i in range(args.runs):
            # A fresh responder each run, ours then charon's, same generator, same netns pair.
            runs["mpsa"].append(run_ours(args.binary, nets, args.n, args.c))
            runs["charon"].append(run_charon(args.binary, nets, args.n, args.c,
                                             f"{tmp}/charon{i}"))
            for who in ("mpsa", "charon"):
                if runs[who][-1]["failed"] or runs[who][-1]["responder_ike_sas"] < args.n:
                    raise RuntimeError(f"{who}: not all IKE SAs up: {runs[who][-1]}")
    results = {"n": args.n, "c": args.c, "runs": args.runs, "nice": args.nice,
               "proposal": PROPOSAL,
               "per_run": runs}
    for who in ("mpsa", "charon"):
        results[who] = {k: statistics.median(r[k] for r in runs[who]) for k in KEYS}
        results[who]["responder_threads"] = runs[who][0]["responder_threads"]
    results["mpsa"]["responder_heap_kib_per_1000"] = statistics.median(
        r["responder_heap_kib_per_1000"] for r in runs["mpsa"])
    m, c = results["mpsa"], results["charon"]
    results["ratio_rate_mpsa_over_charon"] = m["handshakes_per_s"] / c["handshakes_per_s"]
    # Each round's own ratio too: the spread shows how much the machine's load moved them.
    results["ratio_rate_per_run"] = [a["handshakes_per_s"] / b["handshakes_per_s"]
                                     for a, b in zip(runs["mpsa"], runs["charon"])]
    results["ratio_rss_mpsa_over_charon"] = (m["responder_rss_kib_per_1000"] /
                                             c["responder_rss_kib_per_1000"])
    results["ratio_cpu_mpsa_over_charon"] = (m["responder_cpu_ms_per_handshake"] /
                                             c["responder_cpu_ms_per_handshake"])
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
