#!/usr/bin/python3
"""bgp_glue_frr_learn (label frr): bgp-glue's ZAPI client against real FRR 8.4.

The lab harness brings up containerlab/mpsa-3cpe (gateway route reflector, three CPEs, an
underlay router) in network namespaces; bgp_glue_watch runs our client + learner on cpe1's
zebra. Checked, each condition polled with a deadline:
  1. cpe1 learns cpe2's and cpe3's IPv4 and IPv6 LAN prefixes with the right BGP next-hops
     (the advertising CPE's underlay address), and every next-hop resolves recursively (it is
     reachable only through 100.64.0.0/16 / 2001:db8:64::/48) to the underlay router;
  1b. a route of our own installed with ROUTE_ADD in a table of its own for a learned prefix
     is reported INSTALLED by NOTIFY_OWNER, is in that kernel table, and does not disturb the
     learned route (redistribution is per table);
  2. a withdrawal at cpe3 removes the prefix and untracks the next-hop;
  3. a next-hop change at cpe2 (outbound route-map) moves the prefix to the new peer;
  4. the new next-hop becoming unreachable on cpe1 is reported unresolved;
  5. after kill -9 of cpe1's zebra, a withdrawal while it is down, and its restart, the client
     reconnects, keeps the surviving routes without a flap, sweeps the withdrawn one, and
     re-installs its own route; withdrawing that route is reported REMOVED.
     bgpd is killed and restarted with zebra, as watchfrr does when zebra dies: FRR 8.4's
     bgpd re-registers with a restarted zebra (after 10 s) but does not re-install its routes.
Teardown (every exit path) leaves no namespace and no process behind.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "lab"))
import labrun  # noqa: E402

TOPO = HERE.parents[2] / "containerlab" / "mpsa-3cpe.clab.yml"
NODE = "cpe1"
HOLD_MS = 10000  # restarted bgpd re-installs the routes in ~2 s


class Watch:
    """bgp_glue_watch as a subprocess; its JSON lines collected by a thread."""

    def __init__(self, binary: str, frr_dir: Path):
        self.proc = subprocess.Popen(
            [binary, "--socket", str(frr_dir / "zserv.api"), "--vty-socket", str(frr_dir),
             "--hold-ms", str(HOLD_MS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "garbage", "line": line}
            with self.lock:
                self.events.append(event)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.events)

    def wait(self, what: str, predicate, timeout: float = 20.0, start: int = 0) -> dict:
        """First event from index `start` on that satisfies predicate, within the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.snapshot()[start:]:
                if predicate(event):
                    return event
            if self.proc.poll() is not None:
                raise AssertionError(f"bgp_glue_watch exited ({self.proc.returncode}) waiting "
                                     f"for {what}: {self.proc.stderr.read()}")
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")

    def command(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def dump(self, timeout: float = 5.0) -> dict:
        start = len(self.snapshot())
        self.proc.stdin.write("dump\n")
        self.proc.stdin.flush()
        return self.wait("state dump", lambda e: e["event"] == "state", timeout, start)

    def wait_state(self, what: str, predicate, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        state = {}
        while time.monotonic() < deadline:
            state = self.dump()
            if predicate(state):
                return state
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last state: "
                             f"{json.dumps(state)}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def route_event(kind: str, prefix: str, peers: list[str] | None = None):
    def match(e):
        return (e["event"] == "route" and e["kind"] == kind and e["prefix"] == prefix
                and (peers is None or e["peers"] == peers))
    return match


def peer_event(kind: str, peer: str):
    return lambda e: e["event"] == "peer" and e["kind"] == kind and e["peer"] == peer


OWN_TABLE = 100
NOTE_INSTALLED = 2
NOTE_REMOVED = 3


def notify_event(note: int, prefix: str):
    return lambda e: e["event"] == "notify" and e["note"] == note and e["prefix"] == prefix


def own_table(lab) -> str:
    return lab.exec(NODE, ["ip", "route", "show", "table", str(OWN_TABLE)], check=False).stdout


def vtysh_config(lab, node: str, *lines: str) -> None:
    lab.vtysh(node, "configure terminal", *lines)


def start_daemon(lab, node: str, daemon: str) -> None:
    """Starts an FRR daemon of a lab node with the lab runner's arguments."""
    frr_dir = lab.node_dir(node) / "frr"
    labrun.run(["ip", "netns", "exec", lab.netns(node), f"/usr/lib/frr/{daemon}", "-d", "-u",
                "frr", "-g", "frr", "-P", "0", "-A", "127.0.0.1", "-f", str(frr_dir / "frr.conf"),
                "-i", str(frr_dir / f"{daemon}.pid"), "-z", str(frr_dir / "zserv.api"),
                "--vty_socket", str(frr_dir), "--log", f"file:{frr_dir / (daemon + '.log')}"])
    if daemon == "zebra":
        labrun.wait_for((frr_dir / "zserv.api").exists, 10, "zebra's socket")


def kill_daemon(lab, node: str, daemon: str) -> None:
    pid = int((lab.node_dir(node) / "frr" / f"{daemon}.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)

    def gone():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    labrun.wait_for(gone, 10, f"{daemon} ({pid}) to die")


def scenario(lab, watch: Watch) -> None:
    t0 = time.monotonic()
    expected = {
        "10.2.0.0/24": ["100.64.2.2"], "10.3.0.0/24": ["100.64.3.2"],
        "fd00:2::/64": ["2001:db8:64:2::2"], "fd00:3::/64": ["2001:db8:64:3::2"],
    }
    underlay = {"100.64.2.2": "100.64.1.1", "100.64.3.2": "100.64.1.1",
                "2001:db8:64:2::2": "2001:db8:64:1::1", "2001:db8:64:3::2": "2001:db8:64:1::1"}

    # 1. learn every other CPE's IPv4 and IPv6 prefixes, next-hops resolved to the underlay
    def learned(state):
        if state["routes"] != expected or not state["synchronized"]:
            return False
        for peer, gateway in underlay.items():
            entry = state["peers"].get(peer, {})
            if entry.get("resolution") != "resolved":
                return False
            if [u["gateway"] for u in entry["underlay"]] != [gateway]:
                return False
        return True
    state = watch.wait_state("the reflected routes with resolved next-hops", learned, 30)
    print(f"1. learned {len(state['routes'])} routes, next-hops resolved via the underlay "
          f"router, {time.monotonic() - t0:.2f}s after start")
    assert state["decode_errors"] == 0, state

    # 1b. our own route for a learned prefix, in its own table
    mark = len(watch.snapshot())
    watch.command(f"install 10.3.0.0/24 100.64.1.1 {OWN_TABLE}")
    watch.wait("NOTIFY_OWNER installed", notify_event(NOTE_INSTALLED, "10.3.0.0/24"), 10, mark)
    labrun.wait_for(lambda: "10.3.0.0/24" in own_table(lab), 10, "our route in the kernel")
    learned_after = watch.dump()
    assert learned_after["routes"] == expected, learned_after
    assert not [e for e in watch.snapshot()[mark:] if e["event"] == "route"], \
        "installing our own route disturbed learning"
    print(f"1b. own route installed in table {OWN_TABLE} (NOTIFY_OWNER), learning undisturbed")

    # 2. withdrawal
    mark = len(watch.snapshot())
    vtysh_config(lab, "cpe3", "router bgp 65000", "address-family ipv6 unicast",
                 "no network fd00:3::/64")
    watch.wait("fd00:3::/64 removed", route_event("removed", "fd00:3::/64"), 20, mark)
    watch.wait("2001:db8:64:3::2 untracked", peer_event("untracked", "2001:db8:64:3::2"), 10,
               mark)
    print("2. withdrawal seen")

    # 3. next-hop change
    mark = len(watch.snapshot())
    vtysh_config(lab, "cpe2", "route-map NH permit 10", "set ip next-hop 100.64.2.99", "exit",
                 "router bgp 65000", "address-family ipv4 unicast",
                 "neighbor 100.64.0.2 route-map NH out")
    lab.vtysh("cpe2", "clear bgp ipv4 unicast 100.64.0.2 soft out")
    watch.wait("10.2.0.0/24 moved to 100.64.2.99",
               route_event("changed", "10.2.0.0/24", ["100.64.2.99"]), 30, mark)
    resolved = watch.wait("100.64.2.99 resolved", peer_event("resolved", "100.64.2.99"), 10,
                          mark)
    assert [u["gateway"] for u in resolved["underlay"]] == ["100.64.1.1"], resolved
    watch.wait("100.64.2.2 untracked", peer_event("untracked", "100.64.2.2"), 10, mark)
    print("3. next-hop change seen, new next-hop resolved recursively via 100.64.1.1")

    # 4. the next-hop becomes unreachable on cpe1 (the covering /16 replaced by routes that
    #    keep the gateway and cpe3 reachable but not 100.64.2.0/24)
    mark = len(watch.snapshot())
    lab.exec(NODE, "ip route add 100.64.0.0/24 via 100.64.1.1 && "
                   "ip route add 100.64.3.0/24 via 100.64.1.1 && "
                   "ip route del 100.64.0.0/16 via 100.64.1.1")
    watch.wait("100.64.2.99 unresolved", peer_event("unresolved", "100.64.2.99"), 20, mark)
    print("4. unreachable next-hop reported unresolved")
    mark = len(watch.snapshot())
    lab.exec(NODE, "ip route add 100.64.0.0/16 via 100.64.1.1 && "
                   "ip route del 100.64.0.0/24 via 100.64.1.1 && "
                   "ip route del 100.64.3.0/24 via 100.64.1.1")
    watch.wait("100.64.2.99 resolved again", peer_event("resolved", "100.64.2.99"), 20, mark)
    expected_now = {"10.2.0.0/24": ["100.64.2.99"], "10.3.0.0/24": ["100.64.3.2"],
                    "fd00:2::/64": ["2001:db8:64:2::2"]}
    watch.wait_state("10.2.0.0/24 back", lambda s: s["routes"] == expected_now, 20)

    # 5. kill -9 zebra (and bgpd, as watchfrr would), withdraw 10.2.0.0/24 while they are
    #    down, restart them
    sweeps_before = watch.dump()["sweeps"]
    mark = len(watch.snapshot())
    kill_daemon(lab, NODE, "zebra")
    watch.wait("disconnect", lambda e: e["event"] == "disconnected", 10, mark)
    kill_daemon(lab, NODE, "bgpd")
    vtysh_config(lab, "cpe2", "router bgp 65000", "address-family ipv4 unicast",
                 "no network 10.2.0.0/24")
    labrun.wait_for(lambda: "10.2.0.0/24" not in json.dumps(
        lab.vtysh_json("gw", "show bgp ipv4 unicast json").get("routes", {})), 20,
        "the route reflector to drop 10.2.0.0/24")
    t_restart = time.monotonic()
    start_daemon(lab, NODE, "zebra")
    start_daemon(lab, NODE, "bgpd")
    watch.wait("reconnect", lambda e: e["event"] == "connected", 20, mark)
    final = {"10.3.0.0/24": ["100.64.3.2"], "fd00:2::/64": ["2001:db8:64:2::2"]}
    state = watch.wait_state(
        "convergence after the zebra restart",
        lambda s: s["routes"] == final and s["sweeps"] > sweeps_before and s["synchronized"] and all(
            s["peers"].get(p, {}).get("resolution") == "resolved"
            for p in ("100.64.3.2", "2001:db8:64:2::2")), HOLD_MS / 1000 + 30)
    assert set(state["peers"]) == {"100.64.3.2", "2001:db8:64:2::2"}, state
    after = watch.snapshot()[mark:]
    flaps = [e for e in after if e["event"] == "route" and e["prefix"] in final]
    assert not flaps, f"surviving routes flapped across the zebra restart: {flaps}"
    removed = [e for e in after if route_event("removed", "10.2.0.0/24")(e)]
    assert len(removed) == 1, after
    watch.wait("our route re-installed", notify_event(NOTE_INSTALLED, "10.3.0.0/24"), 10, mark)
    labrun.wait_for(lambda: "10.3.0.0/24" in own_table(lab), 10, "our route back in the kernel")
    print(f"5. reconnected after kill -9 of zebra; converged {time.monotonic() - t_restart:.1f}s "
          f"after restart (hold {HOLD_MS} ms); stale 10.2.0.0/24 swept, no flap, "
          f"{state['decode_errors']} decode errors")
    assert state["decode_errors"] == 0, state

    mark = len(watch.snapshot())
    watch.command("withdraw 10.3.0.0/24")
    watch.wait("NOTIFY_OWNER removed", notify_event(NOTE_REMOVED, "10.3.0.0/24"), 10, mark)
    labrun.wait_for(lambda: "10.3.0.0/24" not in own_table(lab), 10, "our route to go")
    print("6. own route withdrawn (NOTIFY_OWNER removed, gone from the kernel)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--watch", required=True)
    args = parser.parse_args()
    lab = labrun.lab_up(TOPO)
    namespaces = [n["netns"] for n in lab.state["nodes"].values()]
    ok = False
    watch = None
    try:
        watch = Watch(args.watch, lab.node_dir(NODE) / "frr")
        scenario(lab, watch)
        ok = True
    except (AssertionError, labrun.LabError) as e:
        print(f"FAIL: {e}")
        if watch:
            events = [e for e in watch.snapshot() if e["event"] != "state"]
            for event in events[-40:]:
                print("  ", json.dumps(event))
        for node in ("gw", "cpe1"):
            print(lab.vtysh(node, "show bgp summary"))
        print(lab.exec(NODE, ["ip", "route"], check=False).stdout)
    finally:
        if watch:
            watch.stop()
        problems = labrun.lab_down(lab.state_dir)
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    leftovers = [ns for ns in namespaces if ns in existing.split()]
    if problems or leftovers or lab.state_dir.exists() or (watch and watch.proc.poll() is None):
        print(f"FAIL: teardown left {leftovers} {problems}")
        ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
