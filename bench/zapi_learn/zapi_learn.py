#!/usr/bin/python3
"""zapi_learn: bgp-glue learning latency and scale against real FRR (not a test; needs root).

Topology: containerlab/mpsa-3cpe (route reflector + 3 CPEs) through tests/lab/labrun.py. Our
client (bgp_glue_watch) runs on cpe1's zebra; `ip monitor route` in cpe1's namespace shows when
FRR itself puts the same route in cpe1's kernel FIB. Both are stamped with CLOCK_MONOTONIC
(time.monotonic() here, std::chrono::steady_clock in the watcher).

1. latency: N times, `network 10.200.<i>.0/24` at cpe2 (vtysh); per change, the delay from the
   vtysh command to our "added" event and to the FIB insertion at cpe1; p50/p99 of both.
2. scale: 100k kernel routes at cpe2 (ip -batch) redistributed into BGP; time from
   `redistribute kernel` until our client holds all of them and until cpe1's FIB does; the
   watcher's RSS at that point.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))
import labrun  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "frr" / "bgp-glue"))
from test_bgp_glue_learn import kill_daemon, start_daemon  # noqa: E402

TOPO = ROOT / "containerlab" / "mpsa-3cpe.clab.yml"
BASE_ROUTES = 4  # cpe2's and cpe3's LANs, IPv4 and IPv6


class Lines:
    """A subprocess whose stdout lines are stamped with time.monotonic() as they arrive."""

    def __init__(self, argv: list[str], stdin=None):
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.lines: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            stamp = time.monotonic()
            with self.lock:
                self.lines.append((stamp, line))

    def since(self, index: int) -> list[tuple[float, str]]:
        with self.lock:
            return self.lines[index:]

    def mark(self) -> int:
        with self.lock:
            return len(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def vtysh_bgp(lab, node: str, *lines: str) -> None:
    lab.vtysh(node, "configure terminal", "router bgp 65000", *lines)


def watcher(binary: str, frr_dir: Path, quiet: bool, expect: int = 0) -> Lines:
    argv = [binary, "--socket", str(frr_dir / "zserv.api"), "--release", "8.4"]
    if quiet:
        argv += ["--quiet", "--expect-routes", str(expect)]
    return Lines(argv, stdin=subprocess.PIPE)


def latency(lab, watch_binary: str, changes: int) -> None:
    frr_dir = lab.node_dir("cpe1") / "frr"
    watch = watcher(watch_binary, frr_dir, quiet=False)
    monitor = Lines(["ip", "netns", "exec", lab.netns("cpe1"), "ip", "monitor", "route"])
    try:
        def have_base():
            added = [line for _, line in watch.since(0) if '"kind":"added"' in line]
            return len(added) >= BASE_ROUTES
        wait_for("the base routes", have_base, 30)
        vtysh_bgp(lab, "cpe2", "no bgp network import-check")
        ours, fib = [], []
        for i in range(changes):
            prefix = f"10.200.{i}.0/24"
            w_mark, m_mark = watch.mark(), monitor.mark()
            t0 = time.monotonic()
            vtysh_bgp(lab, "cpe2", "address-family ipv4 unicast", f"network {prefix}")
            ev = wait_for(f"our event for {prefix}", lambda: next(
                (t for t, line in watch.since(w_mark)
                 if '"kind":"added"' in line and f'"prefix":"{prefix}"' in line), None), 30)
            fi = wait_for(f"FIB entry for {prefix}", lambda: next(
                (t for t, line in monitor.since(m_mark)
                 if line.startswith(prefix + " ") and "proto bgp" in line), None), 30)
            ours.append((ev - t0) * 1000)
            fib.append((fi - t0) * 1000)
        earlier = sum(1 for o, f in zip(ours, fib) if o <= f)
        print(f"latency over {changes} prefix additions at cpe2 (vtysh) seen at cpe1:")
        print(f"  bgp-glue event: p50 {percentile(ours, 50):.1f} ms  p99 "
              f"{percentile(ours, 99):.1f} ms  max {max(ours):.1f} ms")
        print(f"  kernel FIB    : p50 {percentile(fib, 50):.1f} ms  p99 "
              f"{percentile(fib, 99):.1f} ms  max {max(fib):.1f} ms")
        delta = [o - f for o, f in zip(ours, fib)]
        print(f"  our event no later than the FIB in {earlier}/{changes} changes; ours - FIB: "
              f"p50 {percentile(delta, 50):.2f} ms, p99 {percentile(delta, 99):.2f} ms "
              f"(zebra 8.4 redistributes only after its dataplane installed the route)")
        for i in range(changes):
            vtysh_bgp(lab, "cpe2", "address-family ipv4 unicast", f"no network 10.200.{i}.0/24")
    finally:
        watch.stop()
        monitor.stop()


def scale(lab, watch_binary: str, count: int) -> None:
    frr_dir = lab.node_dir("cpe1") / "frr"
    batch = "".join(f"route add blackhole {20 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}.0/24\n"
                    for i in range(count))
    labrun.run(["ip", "-n", lab.netns("cpe2"), "-batch", "-"], input_text=batch)
    # A burst this size overflows the netlink socket of a zebra started without a large -s
    # (the lab runner does not pass the daemons file's options), and zebra silently misses
    # routes; a restarted zebra reads the whole kernel table instead.
    for daemon in ("bgpd", "zebra"):
        kill_daemon(lab, "cpe2", daemon)
    start_daemon(lab, "cpe2", "zebra")
    start_daemon(lab, "cpe2", "bgpd")

    def cpe2_ready():
        summary = lab.vtysh_json("cpe2", "show ip route summary json")
        kernel = sum(r.get("rib", 0) for r in summary.get("routes", [])
                     if r.get("type") == "kernel")
        peers = lab.vtysh_json("cpe2", "show bgp ipv4 unicast summary json").get("peers", {})
        return kernel >= count and peers.get("100.64.0.2", {}).get("state") == "Established"
    wait_for("cpe2's zebra to hold the kernel routes and its session to be up", cpe2_ready, 120)
    watch = watcher(watch_binary, frr_dir, quiet=True, expect=count + BASE_ROUTES)
    monitor = Lines(["ip", "netns", "exec", lab.netns("cpe1"), "ip", "monitor", "route"])
    try:
        time.sleep(0.5)  # not synchronisation: lets the watcher take its base routes first
        t0 = time.monotonic()
        vtysh_bgp(lab, "cpe2", "address-family ipv4 unicast", "redistribute kernel")
        ev = wait_for("our client to hold every route", lambda: next(
            (t for t, line in watch.since(0) if '"event":"count"' in line), None), 600)
        rss_kb = 0
        for line in Path(f"/proc/{watch.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])

        def fib_done():
            lines = monitor.since(0)
            installed = [t for t, line in lines
                         if "proto bgp" in line and not line.startswith("Deleted")
                         and (line.startswith("20.") or line.startswith("21."))]
            return installed[-1] if len(installed) >= count else None
        fi = wait_for("cpe1's FIB to hold every route", fib_done, 600)
        print(f"scale: {count} prefixes redistributed at cpe2, reflected to cpe1:")
        print(f"  bgp-glue holds all after {ev - t0:.2f} s, RSS {rss_kb / 1024:.1f} MB")
        print(f"  kernel FIB holds all after {fi - t0:.2f} s (ratio ours/FIB "
              f"{(ev - t0) / (fi - t0):.2f})")
    finally:
        watch.stop()
        monitor.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--watch", required=True, help="path of bgp_glue_watch")
    parser.add_argument("--changes", type=int, default=100, help="0: skip the latency part")
    parser.add_argument("--scale", type=int, default=100000)
    args = parser.parse_args()
    # A SIGTERM (e.g. from `timeout`) must still tear the lab down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    lab = labrun.lab_up(TOPO)
    try:
        if args.changes:
            latency(lab, args.watch, args.changes)
        if args.scale:
            scale(lab, args.watch, args.scale)
    finally:
        problems = labrun.lab_down(lab.state_dir)
        if problems:
            print(f"teardown problems: {problems}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
