#!/usr/bin/python3
"""Runs INSIDE the vm guest (ike_vm_strongswan_child_sa): a CHILD_SA negotiated between our IKEv2
(ike_peer --install kernel, i.e. mpsa::daemon's XfrmChildSaInstaller over netlink) and strongSwan
charon with kernel-netlink is installed by us into the guest kernel, and pings cross it.

Namespace a: ike_peer, 192.0.2.1 on the veth, inner 10.1.0.1/32 on lo.
Namespace b: charon,   192.0.2.2 on the veth, inner 10.2.0.1/32 on lo.
Both roles: our initiator -> charon responder, then charon initiator -> our responder. Each time
the ping must succeed, and both of OUR kernel SAs (in namespace a) must have counted packets,
so the traffic provably used the SAs we installed; after the IKE SA closes, our SAs and
policies must be gone from the kernel again.

    guest_ike_strongswan_child.py IKE_PEER
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "strongswan"))
from charon import Charon, NetnsPair, have_strongswan  # noqa: E402
from test_ike_interop import PSK, Failure, Peer, child_conf, swanctl_conf  # noqa: E402

PROPOSAL = "aes128gcm16-prfsha256-x25519"
A_IN, B_IN = "10.1.0.1", "10.2.0.1"


def ns(netns: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", "netns", "exec", netns, *cmd], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise Failure(f"{' '.join(cmd)} in {netns}: {proc.stdout}{proc.stderr}")
    return proc


def poll(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failure(f"not within {timeout}s: {what}")
        time.sleep(0.1)


def sa_packets(netns: str) -> dict[str, int]:
    """SPI (8 hex digits) -> packets counted by the kernel, for every ESP SA in netns."""
    out = ns(netns, "ip", "-s", "xfrm", "state").stdout
    packets = {}
    for block in re.split(r"^(?=src )", out, flags=re.M):
        spi = re.search(r"proto esp spi 0x([0-9a-f]{8})", block)
        count = re.search(r"lifetime current:\s*\n\s*\d+\(bytes\), (\d+)\(packets\)", block)
        if spi and count:
            packets[spi.group(1)] = int(count.group(1))
    return packets


def xfrm_empty(netns: str) -> bool:
    """No SA and no CHILD_SA policy left (ike_peer's per-socket IKE bypass policies stay)."""
    return not ns(netns, "ip", "xfrm", "state").stdout.strip() and \
        not re.search(r"^src 10\.", ns(netns, "ip", "xfrm", "policy").stdout, re.M)


def check_traffic(nets: NetnsPair, c: Charon, inst: dict, src_ns: str, src: str, dst: str,
                  label: str) -> None:
    if not inst.get("kernel"):
        raise Failure(f"CHILD_SA not installed into the kernel: {inst}")
    poll(lambda: re.search(r"^\s+c: #\d+, reqid \d+, INSTALLED, TUNNEL,", c.list_sas(), re.M),
         10, f"charon's CHILD_SA INSTALLED, TUNNEL:\n{c.list_sas()}")
    ours = sa_packets(nets.a)
    if inst["in_spi"] not in ours or inst["out_spi"] not in ours:
        raise Failure(f"our SAs {inst['in_spi']}/{inst['out_spi']} not in the kernel: {ours}")
    if any(ours.values()):
        raise Failure(f"SAs counted packets before the ping: {ours}")
    ping = ns(src_ns, "ping", "-c", "3", "-i", "0.3", "-W", "3", "-I", src, dst, check=False)
    if ping.returncode != 0:
        raise Failure(f"ping {src} -> {dst} failed:\n{ping.stdout}{ping.stderr}\n"
                      f"{ns(nets.a, 'ip', '-s', 'xfrm', 'state').stdout}")
    after = sa_packets(nets.a)
    if after.get(inst["in_spi"], 0) < 3 or after.get(inst["out_spi"], 0) < 3:
        raise Failure(f"our SAs did not carry the ping (packets by SPI): {after}")
    print(f"PASS {label}: CHILD_SA in {inst['in_spi']} out {inst['out_spi']} installed by "
          f"ike_peer, INSTALLED on charon; ping {src} -> {dst} 3/3; our SA packets {after}")


def close_and_check_removed(nets: NetnsPair, c: Charon, p: Peer) -> None:
    p.command("close")
    p.wait("ike_down")
    poll(lambda: xfrm_empty(nets.a), 5, "our SAs and policies removed after the IKE SA closed:\n"
         + ns(nets.a, "ip", "xfrm", "state").stdout + ns(nets.a, "ip", "xfrm", "policy").stdout)
    poll(lambda: c.ike_state("t") is None, 10, "charon dropping the IKE SA")


def run(binary: str, nets: NetnsPair, tmp: str) -> None:
    a4, b4 = nets.addr4["a"], nets.addr4["b"]
    # Inner addresses, and routes that make the pings leave from them (charon's kernel-netlink
    # does not install routes here: install_routes = no).
    for netns, mine, theirs, gw in ((nets.a, A_IN, B_IN, b4), (nets.b, B_IN, A_IN, a4)):
        ns(netns, "ip", "addr", "add", f"{mine}/32", "dev", "lo")
        ns(netns, "ip", "route", "add", f"{theirs}/32", "via", gw, "dev", "eth0", "src", mine)
    c = Charon(nets.b, Path(tmp) / "charon",
               swanctl_conf(b4, a4, PROPOSAL, child=child_conf(f"{B_IN}/32", f"{A_IN}/32")),
               libipsec=False)
    peer_args = ["--local", a4, "--proposal", PROPOSAL, "--psk", PSK, "--local-ts",
                 f"{A_IN}/32", "--remote-ts", f"{B_IN}/32", "--esp-proposal", "aes128gcm16",
                 "--install", "kernel", "--timeout", "80"]
    c.start(timeout=20)
    try:
        c.load()
        with Peer(binary, nets.a, "--role", "initiator", "--remote", b4, *peer_args) as p:
            p.wait("ike_up", 20)
            inst = p.wait("child_installed", 10)
            p.wait("child_up", 10)
            check_traffic(nets, c, inst, nets.a, A_IN, B_IN, "our initiator -> charon")
            close_and_check_removed(nets, c, p)
        with Peer(binary, nets.a, "--role", "responder", *peer_args) as p:
            c.initiate(child="c", timeout_s=20)
            p.wait("ike_up", 20)
            inst = p.wait("child_installed", 10)
            check_traffic(nets, c, inst, nets.b, B_IN, A_IN, "charon -> our responder")
            close_and_check_removed(nets, c, p)
    finally:
        c.stop()


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not have_strongswan():
        print("FAIL: strongSwan not installed")
        return 1
    start = time.monotonic()
    with NetnsPair("vk") as nets, tempfile.TemporaryDirectory(prefix="vmike-") as tmp:
        try:
            run(sys.argv[1], nets, tmp)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL: {e}")
            log = Path(tmp) / "charon" / "charon.log"
            if log.exists():
                print(f"--- {log}\n" + "\n".join(log.read_text().splitlines()[-30:]))
            return 1
    print(f"ike_vm_strongswan_child_sa: OK in {time.monotonic() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
