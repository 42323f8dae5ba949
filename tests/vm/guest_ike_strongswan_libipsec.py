#!/usr/bin/python3
"""Runs INSIDE the vm guest (ike_vm_strongswan_libipsec_traffic), issue 3 must-show 1's last
item: a CHILD_SA with strongSwan's kernel-libipsec, which forces UDP encapsulation, and traffic
across it. charon's ESP runs in userspace (libipsec, a TUN device); ours is the guest kernel's
ESP-in-UDP: ike_peer --install kernel (mpsa::daemon's XfrmChildSaInstaller) installs both SAs
with encap espinudp 4500/4500, and ike_peer's port-4500 socket (UDP_ENCAP_ESPINUDP) hands the
incoming ESP-in-UDP to the kernel.

Namespace a: ike_peer, 192.0.2.1 on the veth, inner 10.1.0.1/32 on lo.
Namespace b: charon (kernel-libipsec), 192.0.2.2 on the veth, inner 10.2.0.1/32 on lo.
Both roles: our initiator -> charon responder, then charon initiator -> our responder. Each time:
charon's CHILD_SA is INSTALLED, TUNNEL-in-UDP; both of our kernel SAs show encap espinudp
4500 -> 4500; a ping from each side succeeds and both of our SAs count its packets; with our
two SAs deleted from the kernel the ping fails (negative control); after close no CHILD_SA
state of ours is left in the kernel, and no ESP ever reached ike_peer's sockets (esp_dropped 0:
the kernel took every ESP-in-UDP packet off port 4500 itself).

    guest_ike_strongswan_libipsec.py IKE_PEER
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "strongswan"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from charon import Charon, NetnsPair, have_strongswan  # noqa: E402
from guest_ike_strongswan_child import ns, poll, sa_packets, xfrm_empty  # noqa: E402
from test_ike_interop import PSK, Failure, Peer, child_conf, swanctl_conf  # noqa: E402

PROPOSAL = "aes128gcm16-prfsha256-x25519"
A_IN, B_IN = "10.1.0.1", "10.2.0.1"
NAT_T_PORT = 4500


def sa_blocks(netns: str) -> dict[str, str]:
    """SPI (8 hex digits) -> the `ip xfrm state` block of that ESP SA in netns."""
    out = ns(netns, "ip", "xfrm", "state").stdout
    blocks = {}
    for block in re.split(r"^(?=src )", out, flags=re.M):
        spi = re.search(r"proto esp spi 0x([0-9a-f]{8})", block)
        if spi:
            blocks[spi.group(1)] = block
    return blocks


def check_encap(netns: str, inst: dict) -> None:
    blocks = sa_blocks(netns)
    for spi in (inst["in_spi"], inst["out_spi"]):
        block = blocks.get(spi)
        if block is None:
            raise Failure(f"our SA {spi} is not in the kernel: {list(blocks)}")
        if not re.search(rf"encap type espinudp sport {NAT_T_PORT} dport {NAT_T_PORT}\b", block):
            raise Failure(f"our SA {spi} has no ESP-in-UDP 4500/4500 encapsulation:\n{block}")


def ping(src_ns: str, src: str, dst: str, count: int) -> subprocess.CompletedProcess[str]:
    return ns(src_ns, "ping", "-c", str(count), "-i", "0.3", "-W", "3", "-I", src, dst,
              check=False)


def check_traffic(nets: NetnsPair, c: Charon, inst: dict, label: str) -> None:
    if not inst.get("kernel") or not inst.get("udp_encap"):
        raise Failure(f"CHILD_SA not installed into the kernel with UDP encapsulation: {inst}")
    poll(lambda: re.search(r"^\s+c: #\d+, reqid \d+, INSTALLED, TUNNEL-in-UDP", c.list_sas(),
                           re.M), 10, f"charon's CHILD_SA INSTALLED, TUNNEL-in-UDP:\n{c.list_sas()}")
    # libipsec's TUN device and its route to our inner address (install_routes = yes).
    poll(lambda: A_IN in ns(nets.b, "ip", "route", "show", "table", "all").stdout, 10,
         "charon's route to our inner address via its TUN device")
    check_encap(nets.a, inst)
    before = sa_packets(nets.a)
    if before.get(inst["in_spi"], -1) != 0 or before.get(inst["out_spi"], -1) != 0:
        raise Failure(f"our SAs missing or counted packets before the ping: {before}")
    total = 0
    for src_ns, src, dst in ((nets.a, A_IN, B_IN), (nets.b, B_IN, A_IN)):
        result = ping(src_ns, src, dst, 3)
        if result.returncode != 0:
            raise Failure(f"{label}: ping {src} -> {dst} failed:\n{result.stdout}{result.stderr}\n"
                          f"{ns(nets.a, 'ip', '-s', 'xfrm', 'state').stdout}\n{c.list_sas()}")
        total += 3
        after = sa_packets(nets.a)
        if after.get(inst["in_spi"], 0) < total or after.get(inst["out_spi"], 0) < total:
            raise Failure(f"{label}: our SAs did not carry ping {src} -> {dst} "
                          f"(packets by SPI, expected >= {total} each): {after}")
        print(f"PASS {label}: ping {src} -> {dst} 3/3 over ESP-in-UDP; our SA packets {after}")
    print(f"PASS {label}: CHILD_SA in {inst['in_spi']} out {inst['out_spi']} in our kernel with "
          f"encap espinudp {NAT_T_PORT}/{NAT_T_PORT}, TUNNEL-in-UDP on charon (libipsec)")


def check_fails_without_our_sas(nets: NetnsPair, inst: dict, label: str) -> None:
    """Negative control: the same ping fails once our kernel SAs are gone."""
    for spi in (inst["in_spi"], inst["out_spi"]):
        block = sa_blocks(nets.a)[spi]
        m = re.match(r"src (\S+) dst (\S+)", block)
        assert m
        ns(nets.a, "ip", "xfrm", "state", "delete", "src", m.group(1), "dst", m.group(2),
           "proto", "esp", "spi", f"0x{spi}")
    if sa_blocks(nets.a):
        raise Failure(f"SAs left after deleting ours: {list(sa_blocks(nets.a))}")
    for src_ns, src, dst in ((nets.a, A_IN, B_IN), (nets.b, B_IN, A_IN)):
        result = ping(src_ns, src, dst, 2)
        if result.returncode == 0:
            raise Failure(f"{label}: ping {src} -> {dst} still works without our SAs:\n"
                          f"{result.stdout}")
    print(f"PASS {label}: with our two kernel SAs deleted, pings fail both ways")


def close_and_check_removed(nets: NetnsPair, c: Charon, p: Peer) -> None:
    p.command("close")
    p.wait("ike_down", 15)
    poll(lambda: xfrm_empty(nets.a), 5, "our SAs and policies removed after the IKE SA closed:\n"
         + ns(nets.a, "ip", "xfrm", "state").stdout + ns(nets.a, "ip", "xfrm", "policy").stdout)
    poll(lambda: c.ike_state("t") is None, 10, "charon dropping the IKE SA")


def check_no_esp_at_socket(p: Peer, label: str) -> None:
    """ike_peer's exit counters: no ESP reached its sockets (the kernel took it off port 4500)."""
    ex = p.wait("exit", 5)
    if ex.get("esp_dropped") != 0:
        raise Failure(f"{label}: ESP-in-UDP reached ike_peer's socket instead of the kernel: {ex}")
    print(f"PASS {label}: no ESP reached our IKE sockets (esp_dropped 0, {ex['received']} IKE "
          f"messages received)")


def run(binary: str, nets: NetnsPair, tmp: str) -> None:
    a4, b4 = nets.addr4["a"], nets.addr4["b"]
    ns(nets.a, "ip", "addr", "add", f"{A_IN}/32", "dev", "lo")
    # Our pings leave from the inner address and meet our out policy; charon routes through its
    # TUN device itself (install_routes = yes with kernel-libipsec).
    ns(nets.a, "ip", "route", "add", f"{B_IN}/32", "via", b4, "dev", "eth0", "src", A_IN)
    ns(nets.b, "ip", "addr", "add", f"{B_IN}/32", "dev", "lo")
    c = Charon(nets.b, Path(tmp) / "charon",
               swanctl_conf(b4, a4, PROPOSAL, child=child_conf(f"{B_IN}/32", f"{A_IN}/32")),
               libipsec=True)
    peer_args = ["--local", a4, "--proposal", PROPOSAL, "--psk", PSK, "--local-ts",
                 f"{A_IN}/32", "--remote-ts", f"{B_IN}/32", "--esp-proposal", "aes128gcm16",
                 "--install", "kernel", "--timeout", "120"]
    c.start(timeout=30)
    try:
        c.load()
        with Peer(binary, nets.a, "--role", "initiator", "--remote", b4, *peer_args) as p:
            up = p.wait("ike_up", 20)
            inst = p.wait("child_installed", 10)
            p.wait("child_up", 10)
            if not up["local"].endswith(f":{NAT_T_PORT}"):
                raise Failure(f"our IKE SA did not move to port {NAT_T_PORT}: {up}")
            check_traffic(nets, c, inst, "our initiator -> charon")
            check_fails_without_our_sas(nets, inst, "our initiator -> charon")
            close_and_check_removed(nets, c, p)
        check_no_esp_at_socket(p, "our initiator -> charon")
        with Peer(binary, nets.a, "--role", "responder", *peer_args) as p:
            c.initiate(child="c", timeout_s=30)
            up = p.wait("ike_up", 20)
            inst = p.wait("child_installed", 10)
            if not up["local"].endswith(f":{NAT_T_PORT}"):
                raise Failure(f"our responder did not follow charon to port {NAT_T_PORT}: {up}")
            check_traffic(nets, c, inst, "charon -> our responder")
            check_fails_without_our_sas(nets, inst, "charon -> our responder")
            close_and_check_removed(nets, c, p)
        check_no_esp_at_socket(p, "charon -> our responder")
    finally:
        c.stop()


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not have_strongswan():
        print("FAIL: strongSwan not installed")
        return 1
    # kernel-libipsec needs /dev/net/tun; the guest loads only the dataplane modules by default.
    tun = subprocess.run(["modprobe", "tun"], capture_output=True, text=True)
    if tun.returncode != 0 or not Path("/dev/net/tun").exists():
        print(f"FAIL: no TUN device for kernel-libipsec: {tun.stderr}")
        return 1
    start = time.monotonic()
    with NetnsPair("vl") as nets, tempfile.TemporaryDirectory(prefix="vmlibipsec-") as tmp:
        try:
            run(sys.argv[1], nets, tmp)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL: {e}")
            log = Path(tmp) / "charon" / "charon.log"
            if log.exists():
                print(f"--- {log}\n" + "\n".join(log.read_text().splitlines()[-40:]))
            return 1
    print(f"ike_vm_strongswan_libipsec_traffic: OK in {time.monotonic() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
