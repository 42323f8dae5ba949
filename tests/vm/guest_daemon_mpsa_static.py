#!/usr/bin/python3
"""Runs INSIDE the vm guest (daemon_vm_mpsa_static): mpsad end to end without FRR.

Three network namespaces on one bridged underlay (IPv4 192.0.2.0/24 and IPv6 2001:db8:ff::/64):
a gateway and two CPEs, each running mpsad (PSK). The CPEs learn each other's LAN prefixes from
`static_routes` (no FRR). Checks:
  1. both CPEs hold the same group SPI (ip xfrm state), from the gateway's MPSA_PUT;
  2. ping between the CPEs' LAN addresses over the xfrm interfaces works, IPv4 and IPv6 inside
     (IPv6 inside over the IPv6 underlay: dual-stack ESP addresses), and the kernel's ESP SA
     packet counters rise;
  3. protected_prefixes (10.0.0.0/8, fd00::/8) fail closed: with a clear-text route in c1's main
     table (as zebra installs it a few ms before mpsad programs a new destination) to an address
     inside the protected space that no CPE advertises, c1's ping fails and `ip route get` says
     mpsa1; the same kind of route outside the protected space is pinged in the clear (so the
     clear path itself works); the group table holds the protected prefixes; a reload (SIGHUP)
     without fd00::/8 removes it (fd00:9::1 then answers in the clear), and restoring it blocks
     again;
  4. `kill -9` of one CPE's mpsad during a ping (20 packets/s): no packet lost while it is down
     and restarted, and the new instance reports kernel.changes == 0 on /v1/status (it adopted
     the kernel state without a single netlink change).

    guest_daemon_mpsa_static.py MPSAD
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PSK = "mpsa-vm-static-test-psk"
RUN = f"{os.getpid()}"
NS = {"gw": f"ms{RUN}g", "c1": f"ms{RUN}a", "c2": f"ms{RUN}b"}
BRIDGE = f"msbr{RUN}"[:15]
UNDERLAY4 = {"gw": "192.0.2.10", "c1": "192.0.2.1", "c2": "192.0.2.2"}
UNDERLAY6 = {"gw": "2001:db8:ff::a", "c1": "2001:db8:ff::1", "c2": "2001:db8:ff::2"}
LAN4 = {"c1": ("10.1.0.1", "10.1.0.0/24"), "c2": ("10.2.0.1", "10.2.0.0/24")}
LAN6 = {"c1": ("fd00:1::1", "fd00:1::/64"), "c2": ("fd00:2::1", "fd00:2::/64")}
API_PORT = 7979
PROTECTED = ["10.0.0.0/8", "fd00::/8"]
# On the gateway, reached from c1 through clear-text main-table routes: one address inside the
# protected space (v4 and v6, never advertised by a CPE) and one outside it.
CLEAR_INSIDE4, CLEAR_INSIDE6 = ("10.9.0.1", "10.9.0.0/24"), ("fd00:9::1", "fd00:9::/64")
CLEAR_OUTSIDE4 = ("192.168.77.1", "192.168.77.0/24")


class Failure(Exception):
    pass


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise Failure(f"{' '.join(cmd)}: {proc.stdout}{proc.stderr}")
    return proc


def ns(node: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", NS[node], *cmd, check=check)


def poll(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failure(f"not within {timeout}s: {what}")
        time.sleep(0.2)


def api(node: str, resource: str) -> dict | None:
    proc = ns(node, "curl", "-sf", "--max-time", "2", f"http://127.0.0.1:{API_PORT}/v1/{resource}",
              check=False)
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None


def group_sas(node: str) -> dict[str, dict[str, int]]:
    """SPI -> {dst: packets} for every group SA (tunnel mode, with an if_id) in the node."""
    out = ns(node, "ip", "-s", "xfrm", "state").stdout
    sas: dict[str, dict[str, int]] = {}
    for block in re.split(r"^(?=src )", out, flags=re.M):
        head = re.match(r"src (\S+) dst (\S+)\s*\n\s*proto esp spi 0x([0-9a-f]{8})\S* reqid \S+ "
                        r"mode tunnel", block)
        if not head or "if_id" not in block:
            continue
        count = re.search(r"lifetime current:\s*\n\s*\d+\(bytes\), (\d+)\(packets\)", block)
        sas.setdefault(head.group(3), {})[head.group(2)] = int(count.group(1)) if count else 0
    return sas


def redact(text: str) -> str:
    """`ip xfrm state` output without its key lines: test output never shows key bytes."""
    return "\n".join(line for line in text.splitlines()
                     if not re.match(r"\s*(enc|auth|auth-trunc|aead|comp) ", line))


def xfrm_states(node: str) -> str:
    return redact(ns(node, "ip", "-s", "xfrm", "state").stdout)


def setup() -> None:
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "link", "set", BRIDGE, "up")
    for node, name in NS.items():
        sh("ip", "netns", "add", name)
        ns(node, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
           "net.ipv6.conf.default.accept_dad=0")
        ns(node, "ip", "link", "set", "lo", "up")
        host_end = f"v{RUN}{node}"[:15]
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth1", "netns", name)
        sh("ip", "link", "set", host_end, "master", BRIDGE, "up")
        ns(node, "ip", "link", "set", "eth1", "up")
        ns(node, "ip", "addr", "add", f"{UNDERLAY4[node]}/24", "dev", "eth1")
        ns(node, "ip", "addr", "add", f"{UNDERLAY6[node]}/64", "dev", "eth1", "nodad")
        if node in LAN4:
            ns(node, "ip", "link", "add", "lan0", "type", "dummy")
            ns(node, "ip", "link", "set", "lan0", "up")
            ns(node, "ip", "addr", "add", f"{LAN4[node][0]}/24", "dev", "lan0")
            ns(node, "ip", "addr", "add", f"{LAN6[node][0]}/64", "dev", "lan0", "nodad")


def teardown() -> None:
    for name in NS.values():
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        for pid in pids.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)


def write_configs(tmp: Path) -> dict[str, Path]:
    psk = tmp / "psk"
    psk.write_text(PSK)
    psk.chmod(0o600)
    configs = {}
    gateway = {
        "role": "gateway",
        "identity": "gw.mpsa.test",
        "credentials": {"psk_file": str(psk)},
        "ike": {"listen": [UNDERLAY4["gw"]]},
        "groups": [{"name": "vm", "id": 1, "members": ["cpe*.mpsa.test"], "suite": "default",
                    "lifetime_s": 3600, "roll2_s": 30, "rekey_margin_s": 300}],
        "bgp_child_sa": {"enabled": True, "protocol": "tcp"},
        "frr": {"enabled": False},
        "api": {"listen": f"127.0.0.1:{API_PORT}"},
        "state_dir": str(tmp / "gw" / "state"),
        "log_level": "debug",
    }
    nodes = {"gw": gateway}
    for node, other in (("c1", "c2"), ("c2", "c1")):
        nodes[node] = {
            "role": "cpe",
            "identity": f"cpe{node[1]}.mpsa.test",
            "credentials": {"psk_file": str(psk)},
            "ike": {"listen": [UNDERLAY4[node]]},
            "gateway": {"address": UNDERLAY4["gw"], "identity": "gw.mpsa.test"},
            "underlay": {"interface": "eth1", "esp_address": UNDERLAY4[node],
                         "esp_address_v6": UNDERLAY6[node]},
            "group": {"name": "vm", "id": 1},
            "overlay_source_v4": LAN4[node][0],
            "overlay_source_v6": LAN6[node][0],
            "protected_prefixes": PROTECTED,
            "static_routes": [{"prefix": LAN4[other][1], "peer": UNDERLAY4[other]},
                              {"prefix": LAN6[other][1], "peer": UNDERLAY6[other]}],
            "frr": {"enabled": False},
            "api": {"listen": f"127.0.0.1:{API_PORT}"},
            "timers": {"dpd_s": 5},
            "state_dir": str(tmp / node / "state"),
            "log_level": "debug",
        }
    for node, config in nodes.items():
        (tmp / node).mkdir(exist_ok=True)
        path = tmp / node / "mpsad.json"
        path.write_text(json.dumps(config, indent=2))
        configs[node] = path
    return configs


class Daemon:
    def __init__(self, mpsad: str, node: str, config: Path, log: Path) -> None:
        self.node, self.log = node, log
        self.out = open(log, "a")
        self.proc = subprocess.Popen(["ip", "netns", "exec", NS[node], mpsad, "-c", str(config)],
                                     stdout=self.out, stderr=subprocess.STDOUT)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.out.close()

    def alive(self) -> bool:
        return self.proc.poll() is None


def wait_cpe_ready(node: str, daemon: Daemon, timeout: float) -> dict:
    def ready():
        if not daemon.alive():
            raise Failure(f"mpsad on {node} exited with {daemon.proc.returncode}:\n"
                          + daemon.log.read_text()[-3000:])
        status = api(node, "status")
        groups = api(node, "groups")
        if not status or not groups:
            return None
        if status.get("gateway", {}).get("ike_sa") != "established":
            return None
        group = groups["groups"][0] if groups.get("groups") else {}
        if not group.get("outbound_spi") or not status["kernel"]["in_sync"]:
            return None
        return status
    try:
        return poll(ready, timeout, f"{node}: IKE SA established, group SA outbound, kernel in sync")
    except Failure as e:
        raise Failure(f"{e}\nstatus: {api(node, 'status')}\ngroups: {api(node, 'groups')}") from e


def ping(src_node: str, src: str, dst: str, count: int, interval: str = "0.2",
         check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = ns(src_node, "ping", "-c", str(count), "-i", interval, "-W", "2", "-I", src, dst,
              check=False)
    if check and proc.returncode != 0:
        raise Failure(f"ping {src} -> {dst} from {src_node} failed:\n{proc.stdout}{proc.stderr}\n"
                      + xfrm_states(src_node)
                      + ns(src_node, "ip", "xfrm", "policy").stdout)
    return proc


def set_protected_and_reload(daemon: Daemon, config: Path, prefixes: list[str],
                             table: int) -> None:
    doc = json.loads(config.read_text())
    doc["protected_prefixes"] = prefixes
    config.write_text(json.dumps(doc, indent=2))
    daemon.proc.send_signal(signal.SIGHUP)

    def applied():
        listed = {r["destination"] for r in (api("c1", "routes") or {}).get("routes", [])
                  if r["state"] == "blocked-protected"}
        in_table = "fd00::/8 dev mpsa1" in ns("c1", "ip", "-6", "route", "show", "table",
                                              str(table)).stdout
        return listed == set(prefixes) and in_table == ("fd00::/8" in prefixes)
    poll(applied, 10, f"reload to protected_prefixes {prefixes}")


def check_protected_prefixes(table: int, daemon: Daemon, config: Path) -> None:
    group_table = ns("c1", "ip", "route", "show", "table", str(table)).stdout
    group_table6 = ns("c1", "ip", "-6", "route", "show", "table", str(table)).stdout
    for prefix, text in zip(PROTECTED, (group_table, group_table6)):
        if not re.search(rf"^{re.escape(prefix)} dev mpsa1\b", text, flags=re.M):
            raise Failure(f"group table {table} lacks {prefix}:\n{group_table}{group_table6}")
    # The gateway answers on addresses inside and outside the protected space; c1 has clear-text
    # routes to them in main, via the gateway's underlay address (what zebra would install).
    ns("gw", "ip", "link", "add", "clear0", "type", "dummy")
    ns("gw", "ip", "link", "set", "clear0", "up")
    for address, _ in (CLEAR_INSIDE4, CLEAR_OUTSIDE4):
        ns("gw", "ip", "addr", "add", f"{address}/24", "dev", "clear0")
    ns("gw", "ip", "addr", "add", f"{CLEAR_INSIDE6[0]}/64", "dev", "clear0", "nodad")
    ns("gw", "ip", "route", "add", LAN4["c1"][1], "via", UNDERLAY4["c1"])
    ns("gw", "ip", "-6", "route", "add", LAN6["c1"][1], "via", UNDERLAY6["c1"])
    for _, prefix in (CLEAR_INSIDE4, CLEAR_OUTSIDE4):
        ns("c1", "ip", "route", "add", prefix, "via", UNDERLAY4["gw"])
    ns("c1", "ip", "-6", "route", "add", CLEAR_INSIDE6[1], "via", UNDERLAY6["gw"])

    ping("c1", LAN4["c1"][0], CLEAR_OUTSIDE4[0], 2)  # the clear path works outside
    for src, dst in ((LAN4["c1"][0], CLEAR_INSIDE4[0]), (LAN6["c1"][0], CLEAR_INSIDE6[0])):
        proc = ping("c1", src, dst, 2, check=False)
        if proc.returncode == 0:
            raise Failure(f"ping {src} -> {dst} inside the protected space went out in the "
                          f"clear:\n{proc.stdout}")
        route = ns("c1", "ip", "route", "get", dst, "from", src).stdout
        if "dev mpsa1" not in route:
            raise Failure(f"{dst} is not routed into the overlay: {route}")
    # Reload updates them: without fd00::/8 the clear route is used, with it blocked again.
    set_protected_and_reload(daemon, config, ["10.0.0.0/8"], table)
    ping("c1", LAN6["c1"][0], CLEAR_INSIDE6[0], 2)
    set_protected_and_reload(daemon, config, PROTECTED, table)
    if ping("c1", LAN6["c1"][0], CLEAR_INSIDE6[0], 2, check=False).returncode == 0:
        raise Failure("fd00::/8 protected again after the reload, but the ping went out")
    # The overlay itself still works inside the protected space.
    ping("c1", LAN4["c1"][0], LAN4["c2"][0], 2)
    ping("c1", LAN6["c1"][0], LAN6["c2"][0], 2)
    print(f"PASS protected prefixes {PROTECTED}: in group table {table}; {CLEAR_INSIDE4[0]} and "
          f"{CLEAR_INSIDE6[0]} (clear route in main) blocked, {CLEAR_OUTSIDE4[0]} reached in the "
          f"clear, reload removes and restores fd00::/8, LAN pings still encrypted")


def run(mpsad: str, tmp: Path) -> None:
    setup()
    configs = write_configs(tmp)
    daemons = {}
    try:
        daemons["gw"] = Daemon(mpsad, "gw", configs["gw"], tmp / "gw.log")
        # No ordering needed: the CPEs retry (with backoff) until the gateway answers.
        for node in ("c1", "c2"):
            daemons[node] = Daemon(mpsad, node, configs[node], tmp / f"{node}.log")
        t0 = time.monotonic()
        for node in ("c1", "c2"):
            wait_cpe_ready(node, daemons[node], 60)
        print(f"both CPEs established with a group SA in {time.monotonic() - t0:.1f}s")

        # 1. the same group SPI on both CPEs
        spis1, spis2 = set(group_sas("c1")), set(group_sas("c2"))
        if not spis1 or spis1 != spis2:
            raise Failure(f"group SPIs differ: c1 {spis1} c2 {spis2}\n"
                          + xfrm_states("c1"))
        spi = sorted(spis1)[0]
        print(f"PASS same group SPI on both CPEs: {sorted(spis1)}")

        # 2. pings over the overlay, IPv4 and IPv6 inside; ESP counters rise
        before = group_sas("c1")
        ping("c1", LAN4["c1"][0], LAN4["c2"][0], 5)
        ping("c2", LAN4["c2"][0], LAN4["c1"][0], 5)
        ping("c1", LAN6["c1"][0], LAN6["c2"][0], 5)
        after = group_sas("c1")
        out4 = after[spi].get(UNDERLAY4["c2"], 0) - before[spi].get(UNDERLAY4["c2"], 0)
        out6 = after[spi].get(UNDERLAY6["c2"], 0) - before[spi].get(UNDERLAY6["c2"], 0)
        in4 = after[spi].get(UNDERLAY4["c1"], 0) - before[spi].get(UNDERLAY4["c1"], 0)
        if out4 < 10 or out6 < 5 or in4 < 10:
            raise Failure(f"ESP SA counters did not rise as expected: out4 +{out4} out6 +{out6} "
                          f"in4 +{in4}; {after}")
        print(f"PASS pings c1<->c2 IPv4 and c1->c2 IPv6 inside; group SA packets "
              f"out(v4) +{out4}, out(v6) +{out6}, in(v4) +{in4}")
        routes = api("c1", "routes")["routes"]
        states = {r["destination"]: r["state"] for r in routes}
        want = {LAN4["c2"][1]: "encrypted", LAN6["c2"][1]: "encrypted"}
        want.update({prefix: "blocked-protected" for prefix in PROTECTED})
        if states != want:
            raise Failure(f"c1 /v1/routes: {routes}")
        sas = api("c1", "sas")["sas"]
        kinds = sorted({s["type"] for s in sas})
        if kinds != ["child", "group", "ike"]:
            raise Failure(f"c1 /v1/sas lacks a kind: {kinds}")

        # 3. protected prefixes: no clear text inside the overlay address space
        check_protected_prefixes(routes[0]["table"], daemons["c1"], configs["c1"])

        # 4. kill -9 during a ping; restart; no loss; zero netlink changes at adoption
        pinger = subprocess.Popen(
            ["ip", "netns", "exec", NS["c2"], "ping", "-c", "300", "-i", "0.05", "-W", "1",
             "-I", LAN4["c2"][0], LAN4["c1"][0]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        time.sleep(1.0)  # part of the ping runs before the kill
        daemons["c1"].kill9()
        print("killed mpsad on c1 (SIGKILL)")
        time.sleep(1.0)  # the dataplane runs without a daemon for a while
        daemons["c1"] = Daemon(mpsad, "c1", configs["c1"], tmp / "c1.log")
        status = wait_cpe_ready("c1", daemons["c1"], 60)
        output, _ = pinger.communicate(timeout=60)
        summary = re.search(r"(\d+) packets transmitted, (\d+) received", output)
        if not summary:
            raise Failure(f"ping output: {output}")
        sent, received = int(summary.group(1)), int(summary.group(2))
        if received != sent:
            raise Failure(f"packets lost across kill -9 and restart: {sent - received} of {sent}")
        changes = status["kernel"]["changes"]
        if changes != 0:
            raise Failure(f"restarted mpsad made {changes} netlink changes at adoption "
                          f"(want 0); log:\n" + daemons["c1"].log.read_text()[-3000:])
        ping("c1", LAN6["c1"][0], LAN6["c2"][0], 3)
        print(f"PASS kill -9 + restart of c1's mpsad during a 20/s ping: {received}/{sent} "
              f"received, restarted instance kernel.changes = {changes}")
    finally:
        for daemon in daemons.values():
            daemon.stop()


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vmmpsa-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            run(sys.argv[1], tmp)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL: {e}")
            for log in sorted(tmp.glob("*.log")):
                print(f"--- {log.name} (tail)\n" + "\n".join(log.read_text().splitlines()[-40:]))
            return 1
        finally:
            teardown()
    print(f"daemon_vm_mpsa_static: OK in {time.monotonic() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
