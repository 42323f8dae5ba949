#!/usr/bin/python3
"""ike_* interop tests (label strongswan): our IKEv2 (ike_peer, built on SaManager and real UDP
sockets) against a real strongSwan charon, in two network namespaces joined by a veth pair.
Ours runs in namespace a (192.0.2.1), charon in b (192.0.2.2).

    test_ike_interop.py IKE_PEER SCENARIO
scenarios: psk-<proposal> (our initiator -> charon, then charon -> our responder; psk6-: over
IPv6),
lifecycle (IKE rekey started by each side, DPD both ways, Delete both ways),
libipsec (CHILD_SA with charon's kernel-libipsec: UDP encapsulation on 4500, both directions),
cert (X.509 with a throw-away CA made by the openssl CLI, both directions),
tshark (our keylog decrypts a capture of our IKE_AUTH without malformed packets),
pfs (charon's esp_proposals with a DH group: CHILD_SA rekeys and additional CHILD_SAs with a KE
payload, started by each side, INVALID_KE_PAYLOAD answered by each side; both roles).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from charon import Charon, NetnsPair, have_strongswan  # noqa: E402

PSK = "0x6d7073612d746573742d707368617265642d736563726574"
DEFAULT_PROPOSAL = "aes128gcm16-prfsha256-x25519"


class Failure(Exception):
    pass


class Peer:
    """ike_peer in a namespace; its JSON event lines are read by a thread into a queue."""

    def __init__(self, binary: str, netns: str, *args: str):
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns, binary, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.events: queue.Queue[dict] = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                self.events.put({"event": "raw", "line": line.rstrip()})
        self.events.put({"event": "eof"})

    def wait(self, name: str, timeout: float = 10, **match) -> dict:
        deadline = time.monotonic() + timeout
        for e in self.seen:
            if e.get("event") == name and all(e.get(k) == v for k, v in match.items()):
                self.seen.remove(e)
                return e
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"no {name} {match} within {timeout}s; seen: {self.seen[-8:]}")
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if e.get("event") == "eof":
                self.seen.append(e)
                raise Failure(f"ike_peer exited while waiting for {name}; seen: {self.seen[-8:]}")
            if e.get("event") == name and all(e.get(k) == v for k, v in match.items()):
                return e
            self.seen.append(e)

    def command(self, line: str) -> dict:
        assert self.proc.stdin
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.wait("command", command=line)
        if not reply.get("ok"):
            raise Failure(f"command {line} refused: {reply}")
        return reply

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(3)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Peer":
        self.wait("ready", 5)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def swanctl_conf(me: str, peer: str, proposal: str, *, child: str = "", extra: str = "",
                 auth: str = "psk", my_id: str | None = None, peer_id: str | None = None,
                 certs: str = "") -> str:
    return f"""connections {{
  t {{
    version = 2
    local_addrs = {me}
    remote_addrs = {peer}
    proposals = {proposal}
    rekey_time = 0
    reauth_time = 0
{extra}
    local {{
      auth = {"pubkey" if auth == "cert" else "psk"}
      id = {my_id or me}
{certs}
    }}
    remote {{
      auth = {"pubkey" if auth == "cert" else "psk"}
      id = {peer_id or peer}
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


def child_conf(local_ts: str, remote_ts: str, esp_proposals: str = "aes128gcm16") -> str:
    return f"""      c {{
        local_ts = {local_ts}
        remote_ts = {remote_ts}
        esp_proposals = {esp_proposals}
        mode = tunnel
        rekey_time = 0
      }}"""


def ike_sa_spis(c: Charon) -> tuple[str, str] | None:
    m = re.search(r"ESTABLISHED, IKEv2, ([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r", c.list_sas())
    return (m.group(1), m.group(2)) if m else None


def wait_until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise Failure(f"{what} not within {timeout}s")


class Env:
    def __init__(self, binary: str, nets: NetnsPair, tmp: str, v6: bool = False):
        self.binary, self.nets, self.tmp = binary, nets, tmp
        addr = nets.addr6 if v6 else nets.addr4  # a4/b4: our and charon's address
        self.a4, self.b4 = addr["a"], addr["b"]
        self.n = 0

    def charon(self, conf: str, **kw) -> Charon:
        self.n += 1
        c = Charon(self.nets.b, f"{self.tmp}/charon{self.n}", conf, **kw)
        c.start()
        c.load()
        return c

    def peer(self, *args: str) -> Peer:
        return Peer(self.binary, self.nets.a, "--local", self.a4, "--timeout", "60", *args)


def both_directions(env: Env, c: Charon, args: list[str], label: str) -> None:
    # our initiator -> charon responder
    with env.peer("--role", "initiator", "--remote", env.b4, *args) as p:
        up = p.wait("ike_up")
        c.wait_ike_state("t")
        if ike_sa_spis(c) != (up["spi_i"], up["spi_r"]):
            raise Failure(f"SPIs differ: ours {up}, charon {c.list_sas()}")
        print(f"PASS {label}: our initiator -> charon: {up['suite']} {up['spi_i']}_{up['spi_r']}")
        p.command("close")
        p.wait("ike_down")
        wait_until(lambda: c.ike_state("t") is None, 5, "charon dropping the deleted IKE SA")
    # charon initiator -> our responder
    with env.peer("--role", "responder", *args) as p:
        c.initiate(ike="t")
        up = p.wait("ike_up")
        c.wait_ike_state("t")
        if ike_sa_spis(c) != (up["spi_i"], up["spi_r"]):
            raise Failure(f"SPIs differ: ours {up}, charon {c.list_sas()}")
        print(f"PASS {label}: charon -> our responder: {up['suite']} {up['spi_i']}_{up['spi_r']}")
        c.swanctl("--terminate", "--ike", "t")
        down = p.wait("ike_down")
        print(f"PASS {label}: charon's Delete seen by our responder ({down['reason']})")


def scenario_psk(env: Env, proposal: str) -> None:
    c = env.charon(swanctl_conf(env.b4, env.a4, proposal))
    try:
        both_directions(env, c, ["--proposal", proposal, "--psk", PSK], f"psk {proposal} to {env.b4}")
    finally:
        c.stop()


def scenario_lifecycle(env: Env) -> None:
    c = env.charon(swanctl_conf(env.b4, env.a4, DEFAULT_PROPOSAL, extra="    dpd_delay = 1s"))
    try:
        with env.peer("--role", "initiator", "--remote", env.b4, "--psk", PSK,
                      "--dpd", "1") as p:
            up = p.wait("ike_up")
            c.wait_ike_state("t")
            # IKE SA rekey started by us
            p.command("rekey-ike")
            rk = p.wait("ike_rekeyed")
            wait_until(lambda: ike_sa_spis(c) == (rk["spi_i"], rk["spi_r"]), 5,
                       f"charon on the rekeyed SPIs {rk}")
            print(f"PASS rekey by us: {up['spi_i']} -> {rk['spi_i']}_{rk['spi_r']}")
            # IKE SA rekey started by charon
            c.swanctl("--rekey", "--ike", "t")
            rk2 = p.wait("ike_rekeyed")
            wait_until(lambda: ike_sa_spis(c) == (rk2["spi_i"], rk2["spi_r"]), 5,
                       f"charon on its rekeyed SPIs {rk2}")
            print(f"PASS rekey by charon: -> {rk2['spi_i']}_{rk2['spi_r']}")
            # DPD both ways: charon (dpd_delay 1s) checks us, we (--dpd 1) check it
            mark = len(c.log_path.read_text())
            time.sleep(0)  # no sync sleep: poll the log below
            wait_until(lambda: re.search(r"parsed INFORMATIONAL response \d+ \[ \]",
                                         c.log_path.read_text()[mark:]) is not None, 6,
                       "charon's liveness check answered by us")
            wait_until(lambda: re.search(r"parsed INFORMATIONAL request \d+ \[ \]",
                                         c.log_path.read_text()[mark:]) is not None, 6,
                       "our liveness check seen by charon")
            c.wait_ike_state("t")
            print("PASS DPD both ways (empty INFORMATIONAL requests answered)")
            # Delete by charon
            c.swanctl("--terminate", "--ike", "t")
            down = p.wait("ike_down")
            print(f"PASS Delete by charon: ours down ({down['reason']})")
        # Delete by us, then dead-peer detection by us
        with env.peer("--role", "initiator", "--remote", env.b4, "--psk", PSK, "--dpd", "1",
                      "--retransmit-timeout", "0.3") as p:
            p.wait("ike_up")
            c.wait_ike_state("t")
            p.command("close")
            down = p.wait("ike_down")
            wait_until(lambda: c.ike_state("t") is None, 5, "charon deleting on our Delete")
            print(f"PASS Delete by us ({down['reason']}); charon has no IKE SA")
        with env.peer("--role", "initiator", "--remote", env.b4, "--psk", PSK, "--dpd", "1",
                      "--retransmit-timeout", "0.3") as p:
            p.wait("ike_up")
            # SIGKILL: on SIGTERM charon would send a Delete first
            os.killpg(c.proc.pid, signal.SIGKILL)
            c.proc.wait()
            down = p.wait("ike_down", timeout=15)
            if down["reason"] != "timeout":
                raise Failure(f"dead peer: expected timeout, got {down}")
            print("PASS DPD: dead charon detected (ike_down timeout)")
    finally:
        c.stop()


def scenario_libipsec(env: Env) -> None:
    # charon's kernel-libipsec routes the tunnel from a local address inside its selector
    subprocess.run(["ip", "-n", env.nets.b, "addr", "add", "10.2.0.1/32", "dev", "lo"], check=True)
    c = env.charon(swanctl_conf(env.b4, env.a4, DEFAULT_PROPOSAL,
                                child=child_conf("10.2.0.1/32", "10.1.0.1/32")), libipsec=True)
    child_args = ["--psk", PSK, "--local-ts", "10.1.0.1/32", "--remote-ts", "10.2.0.1/32"]

    def check_charon_child() -> None:
        wait_until(lambda: re.search(r"^\s+c: #\d+, reqid \d+, INSTALLED, TUNNEL-in-UDP",
                                     c.list_sas(), re.M) is not None, 5,
                   "charon's CHILD_SA INSTALLED, TUNNEL-in-UDP")

    try:
        with env.peer("--role", "initiator", "--remote", env.b4, *child_args) as p:
            up = p.wait("ike_up")
            inst = p.wait("child_installed")
            p.wait("child_up")
            if not inst["udp_encap"] or not up["local"].endswith(":4500"):
                raise Failure(f"expected UDP encapsulation on 4500: {up} {inst}")
            check_charon_child()
            print(f"PASS libipsec: our initiator -> charon: CHILD_SA {inst['in_spi']}/"
                  f"{inst['out_spi']} INSTALLED TUNNEL-in-UDP on charon, ours udp_encap")
            p.command("close")
            p.wait("ike_down")
        wait_until(lambda: c.ike_state("t") is None, 5, "charon dropping the IKE SA")
        with env.peer("--role", "responder", *child_args) as p:
            c.initiate(child="c")
            up = p.wait("ike_up")
            inst = p.wait("child_installed")
            if not inst["udp_encap"] or not up["local"].endswith(":4500"):
                raise Failure(f"expected UDP encapsulation on 4500: {up} {inst}")
            check_charon_child()
            print(f"PASS libipsec: charon -> our responder: CHILD_SA {inst['in_spi']}/"
                  f"{inst['out_spi']} INSTALLED TUNNEL-in-UDP, our responder followed charon to 4500")
    finally:
        c.stop()


def charon_children(c: Charon) -> list[str]:
    """charon's INSTALLED CHILD_SAs named c or c2, one line each (with their algorithms)."""
    return re.findall(r"^\s+c2?: #\d+, reqid \d+, INSTALLED, [^\n]*", c.list_sas(), re.M)


def log_since(c: Charon, mark: int) -> str:
    return c.log_path.read_text()[mark:]


def scenario_pfs(env: Env) -> None:
    """PFS in CREATE_CHILD_SA (RFC 7296 1.3.1, 1.3.3) and additional CHILD_SAs, against charon
    with esp_proposals carrying DH groups. charon needs kernel-libipsec to install CHILD_SAs
    here (no ESP in this kernel), which also means UDP encapsulation on 4500. charon refuses to
    initiate a second CHILD_SA with the selectors of an existing one, so its additional
    CHILD_SA (c2) is for 10.2.0.2, which our selectors also cover."""
    for address in ("10.2.0.1/32", "10.2.0.2/32"):
        subprocess.run(["ip", "-n", env.nets.b, "addr", "add", address, "dev", "lo"], check=True)
    ts = ["--local-ts", "10.1.0.1/32", "--remote-ts", "10.2.0.1/32", "--remote-ts", "10.2.0.2/32"]

    def charon_for(esp: str) -> Charon:
        children = (child_conf("10.2.0.1/32", "10.1.0.1/32", esp) + "\n" +
                    child_conf("10.2.0.2/32", "10.1.0.1/32", esp).replace("      c {", "      c2 {"))
        conf = swanctl_conf(env.b4, env.a4, DEFAULT_PROPOSAL, child=children)
        return env.charon(conf, libipsec=True)

    def expect_ke_exchange(c: Charon, mark: int, direction: str, what: str) -> None:
        # charon logs each message's payloads, e.g. "[ N(REKEY_SA) SA No KE TSi TSr ]".
        pattern = rf"{direction} CREATE_CHILD_SA (request|response) \d+ \[[^]]* KE [^]]*\]"
        found = re.findall(pattern, log_since(c, mark))
        if len(found) < 2:
            raise Failure(f"{what}: no KE in both CREATE_CHILD_SA messages on charon's side: "
                          f"{found}\n{c.log_tail(20)}")

    def expect_charon_pfs_children(c: Charon, count: int, what: str) -> None:
        wait_until(lambda: len(charon_children(c)) == count and
                   all("CURVE_25519" in line for line in charon_children(c)), 5,
                   f"{what}: charon with {count} INSTALLED CHILD_SA(s) using CURVE_25519 "
                   f"({charon_children(c)})")

    # 1. charon requires x25519; our initiator proposes ecp256 first (KE in ecp256), x25519 too.
    c = charon_for("aes128gcm16-x25519")
    try:
        with env.peer("--role", "initiator", "--remote", env.b4, "--psk", PSK, *ts,
                      "--pfs", "ecp256", "--pfs", "x25519") as p:
            p.wait("ike_up")
            first = p.wait("child_up")
            wait_until(lambda: len(charon_children(c)) == 1, 5, "charon's IKE_AUTH CHILD_SA")
            mark = len(c.log_path.read_text())
            p.command("rekey-child")
            rk = p.wait("child_rekeyed", old_in_spi=first["in_spi"])
            log = log_since(c, mark)
            if not re.search(r"generating CREATE_CHILD_SA response \d+ \[ N\(INVAL_KE\) \]",
                             log):
                raise Failure(f"expected charon to answer INVALID_KE_PAYLOAD first:\n{log[-3000:]}")
            expect_ke_exchange(c, mark, "(parsed|generating)", "rekey by us after INVALID_KE")
            expect_charon_pfs_children(c, 1, "rekey by us")
            print(f"PASS pfs: our CHILD_SA rekey, INVALID_KE_PAYLOAD(ecp256 -> x25519) from "
                  f"charon, retried: {first['in_spi']} -> {rk['in_spi']}, charon CURVE_25519")
            mark = len(c.log_path.read_text())
            c.swanctl("--rekey", "--child", "c")
            rk2 = p.wait("child_rekeyed", old_in_spi=rk["in_spi"])
            expect_ke_exchange(c, mark, "(parsed|generating)", "rekey by charon")
            expect_charon_pfs_children(c, 1, "rekey by charon")
            print(f"PASS pfs: charon's CHILD_SA rekey with KE answered by us: "
                  f"{rk['in_spi']} -> {rk2['in_spi']}")
            mark = len(c.log_path.read_text())
            p.command("create-child")
            extra = p.wait("child_up")
            expect_ke_exchange(c, mark, "(parsed|generating)", "additional CHILD_SA by us")
            expect_charon_pfs_children(c, 2, "additional CHILD_SA by us")
            print(f"PASS pfs: additional CHILD_SA by us with KE: {extra['in_spi']} "
                  f"(2 CHILD_SAs on one IKE SA)")
            mark = len(c.log_path.read_text())
            c.initiate(child="c2")
            extra2 = p.wait("child_up")
            expect_ke_exchange(c, mark, "(parsed|generating)", "additional CHILD_SA by charon")
            expect_charon_pfs_children(c, 3, "additional CHILD_SA by charon")
            print(f"PASS pfs: additional CHILD_SA by charon on the same IKE SA, KE answered by "
                  f"us: {extra2['in_spi']} (3 CHILD_SAs)")
            p.command("close")
            p.wait("ike_down")
        wait_until(lambda: c.ike_state("t") is None, 5, "charon dropping the IKE SA")
    finally:
        c.stop()

    # 2. charon initiates, its KE in ecp256 first (esp_proposals ecp256 and x25519); ours
    #    requires x25519: we answer INVALID_KE_PAYLOAD, charon retries.
    c = charon_for("aes128gcm16-ecp256-x25519")
    try:
        with env.peer("--role", "responder", "--psk", PSK, *ts, "--pfs", "x25519") as p:
            c.initiate(child="c")
            p.wait("ike_up")
            first = p.wait("child_up")
            wait_until(lambda: len(charon_children(c)) == 1, 5, "charon's IKE_AUTH CHILD_SA")
            mark = len(c.log_path.read_text())
            c.swanctl("--rekey", "--child", "c")
            rk = p.wait("child_rekeyed", old_in_spi=first["in_spi"])
            log = log_since(c, mark)
            if not re.search(r"parsed CREATE_CHILD_SA response \d+ \[ N\(INVAL_KE\) \]", log):
                raise Failure(f"expected our INVALID_KE_PAYLOAD in charon's log:\n{log[-3000:]}")
            expect_ke_exchange(c, mark, "(parsed|generating)", "rekey by charon after INVALID_KE")
            expect_charon_pfs_children(c, 1, "rekey by charon")
            print(f"PASS pfs: charon's CHILD_SA rekey, our INVALID_KE_PAYLOAD(x25519), charon "
                  f"retried: {first['in_spi']} -> {rk['in_spi']}")
            mark = len(c.log_path.read_text())
            p.command("rekey-child")
            rk2 = p.wait("child_rekeyed", old_in_spi=rk["in_spi"])
            expect_ke_exchange(c, mark, "(parsed|generating)", "rekey by our responder")
            expect_charon_pfs_children(c, 1, "rekey by our responder")
            print(f"PASS pfs: CHILD_SA rekey by our responder with KE: {rk['in_spi']} -> "
                  f"{rk2['in_spi']}")
            mark = len(c.log_path.read_text())
            p.command("create-child")
            extra = p.wait("child_up")
            expect_ke_exchange(c, mark, "(parsed|generating)", "additional CHILD_SA by responder")
            expect_charon_pfs_children(c, 2, "additional CHILD_SA by our responder")
            print(f"PASS pfs: additional CHILD_SA by our responder with KE: {extra['in_spi']}")
            c.swanctl("--terminate", "--ike", "t")
            p.wait("ike_down")
    finally:
        c.stop()


def make_pki(d: Path) -> None:
    def ossl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=mpsa test CA")
    for name in ("ours", "charon"):
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}.test")
        (d / f"{name}.ext").write_text(f"subjectAltName=DNS:{name}.test\n")
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")


def scenario_cert(env: Env, proposal: str) -> None:
    pki = Path(env.tmp) / "pki"
    pki.mkdir(exist_ok=True)
    make_pki(pki)
    conf = swanctl_conf(env.b4, env.a4, proposal, auth="cert", my_id="charon.test",
                        peer_id="ours.test", certs="      certs = charon.pem")
    cdir = Path(env.tmp) / f"charon{env.n + 1}"
    for sub, f in (("x509", "charon.pem"), ("x509ca", "ca.pem"), ("private", "charon.key")):
        (cdir / sub).mkdir(parents=True, exist_ok=True)
        (cdir / sub / f).write_bytes((pki / f).read_bytes())
    c = env.charon(conf)
    try:
        both_directions(env, c, ["--proposal", proposal, "--id", "ours.test", "--remote-id",
                                 "charon.test", "--cert", str(pki / "ours.pem"), "--key",
                                 str(pki / "ours.key"), "--ca", str(pki / "ca.pem")],
                        f"X.509 {proposal}")
    finally:
        c.stop()


def scenario_tshark(env: Env) -> None:
    keydir = Path(env.tmp) / "wireshark-conf"
    (keydir / "wireshark").mkdir(parents=True)
    table = keydir / "wireshark" / "ikev2_decryption_table"
    cap = Path(env.tmp) / "ike.pcap"
    c = env.charon(swanctl_conf(env.b4, env.a4, DEFAULT_PROPOSAL))
    dump = subprocess.Popen(["ip", "netns", "exec", env.nets.a, "tshark", "-q", "-i", "eth0",
                             "-f", "udp port 500 or udp port 4500", "-w", str(cap)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: cap.exists() and cap.stat().st_size > 0, 10, "tshark capturing")
        with env.peer("--role", "initiator", "--remote", env.b4, "--psk", PSK,
                      "--keylog-ike", str(table)) as p:
            p.wait("ike_up")
            c.wait_ike_state("t")
            p.command("close")
            p.wait("ike_down")
        wait_until(lambda: cap.stat().st_size > 1500, 5, "the exchange in the capture")
    finally:
        dump.terminate()
        dump.wait(5)
        c.stop()
    mode = oct(table.stat().st_mode & 0o777)
    if mode != "0o600":
        raise Failure(f"keylog mode {mode}")
    env_vars = {**os.environ, "XDG_CONFIG_HOME": str(keydir)}
    out = subprocess.run(["tshark", "-r", str(cap), "-V", "-Y", "isakmp"], env=env_vars,
                         capture_output=True, text=True)
    text = out.stdout + out.stderr
    if out.returncode != 0:
        raise Failure(f"tshark failed: {text[-2000:]}")
    if "Malformed" in text or "malformed" in text:
        raise Failure(f"malformed packets: {text[-3000:]}")
    need = ["Exchange type: IKE_AUTH (35)", "Decrypted Data", "Payload: Identification - Initiator",
            "Payload: Authentication", "Exchange type: INFORMATIONAL (37)", "Payload: Delete"]
    missing = [n for n in need if n not in text]
    if missing:
        raise Failure(f"tshark did not decrypt: missing {missing}\n{text[-3000:]}")
    print(f"PASS tshark decrypted our IKE_AUTH and INFORMATIONAL with our keylog "
          f"({text.count('Decrypted Data')} decrypted SK payloads, no malformed packets)")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    binary, scenario = sys.argv[1], sys.argv[2]
    if not have_strongswan():
        print("strongSwan not installed")
        return 1
    with NetnsPair("ik") as nets, tempfile.TemporaryDirectory(prefix="ikeinterop-") as tmp:
        env = Env(binary, nets, tmp, v6=scenario.startswith("psk6-"))
        try:
            if scenario.startswith("psk6-"):
                scenario_psk(env, scenario[5:])
            elif scenario.startswith("psk-"):
                scenario_psk(env, scenario[4:])
            elif scenario == "lifecycle":
                scenario_lifecycle(env)
            elif scenario == "libipsec":
                scenario_libipsec(env)
            elif scenario.startswith("cert-"):
                scenario_cert(env, scenario[5:])
            elif scenario == "tshark":
                scenario_tshark(env)
            elif scenario == "pfs":
                scenario_pfs(env)
            else:
                print(f"unknown scenario {scenario}")
                return 2
        except Exception as e:  # noqa: BLE001
            print(f"FAIL {scenario}: {e}")
            for f in sorted(Path(tmp).glob("charon*/charon.log")):
                print(f"--- {f}\n" + "\n".join(f.read_text().splitlines()[-25:]))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
