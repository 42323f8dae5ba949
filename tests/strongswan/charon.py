#!/usr/bin/python3
"""A real strongSwan charon in a network namespace, as an independent IKEv2 peer for tests.

Each instance gets a private directory with its own strongswan.conf (explicit plugin list, a file
log, a private VICI socket) and swanctl.conf, and is controlled with swanctl over that socket.
Nothing of the host's /etc/strongswan* or /etc/swanctl is used.

    with Charon(netns, "/tmp/x", swanctl_conf) as c:
        c.load(); c.initiate(ike="gw"); c.wait_ike_established("gw")
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

CHARON = "/usr/sbin/charon-systemd"
# openssl: MODP/ECP/x25519, AES-CBC/GCM, SHA-2, RSA/ECDSA; the rest: key/cert formats, VICI,
# kernel interfaces and sockets.
PLUGINS = ("random nonce openssl pem pkcs1 pkcs8 x509 pubkey revocation constraints kdf "
           "curve25519 hmac sha1 sha2 aes gcm gmp vici socket-default updown")


class CharonError(Exception):
    pass


class Charon:
    def __init__(self, netns: str, workdir: str | Path, swanctl_conf: str, *,
                 libipsec: bool = False, log_keys: bool = False,
                 extra_charon_conf: str = ""):
        self.netns = netns
        self.dir = Path(workdir)
        self.swanctl_conf = swanctl_conf
        self.libipsec = libipsec
        self.log_keys = log_keys
        self.extra = extra_charon_conf
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"unix://{self.dir / 'charon.vici'}"

    @property
    def log_path(self) -> Path:
        return self.dir / "charon.log"

    def _strongswan_conf(self) -> str:
        # kernel-libipsec: userspace ESP (works on any kernel, forces UDP encapsulation);
        # otherwise kernel-netlink programs the namespace's XFRM.
        kernel = "kernel-libipsec kernel-netlink" if self.libipsec else "kernel-netlink"
        level = 4 if self.log_keys else 2  # ike/chd = 4 logs SK_* and ESP keys: tests only
        return f"""charon-systemd {{
  load = {PLUGINS} {kernel}
  install_routes = {"yes" if self.libipsec else "no"}
  retransmit_timeout = 1.0
  retransmit_tries = 3
  {self.extra}
  filelog {{
    log {{
      path = {self.log_path}
      time_format = %T
      default = 1
      ike = {level}
      chd = {level}
      cfg = 2
      knl = 2
      flush_line = yes
    }}
  }}
  plugins {{
    vici {{
      socket = {self.uri}
    }}
  }}
}}
"""

    def start(self, timeout: float = 10) -> "Charon":
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "strongswan.conf").write_text(self._strongswan_conf())
        (self.dir / "swanctl.conf").write_text(self.swanctl_conf)
        env = {**os.environ, "STRONGSWAN_CONF": str(self.dir / "strongswan.conf")}
        out = open(self.dir / "stdout.log", "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns, CHARON], env=env,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CharonError(f"charon exited ({self.proc.returncode}): "
                                  f"{(self.dir / 'stdout.log').read_text()[-500:]}")
            if (self.dir / "charon.vici").exists() and self.swanctl("--stats", check=False) \
                    .returncode == 0:
                return self
            time.sleep(0.05)
        raise CharonError(f"charon in {self.netns}: VICI socket not up within {timeout}s")

    def swanctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["swanctl", *args, "--uri", self.uri], capture_output=True,
                              text=True)
        if check and proc.returncode != 0:
            raise CharonError(f"swanctl {' '.join(args)}: {proc.stdout}{proc.stderr}")
        return proc

    def load(self) -> None:
        self.swanctl("--load-all", "--noprompt", "--file", str(self.dir / "swanctl.conf"))

    def initiate(self, *, ike: str | None = None, child: str | None = None,
                 timeout_s: int = 10, check: bool = True) -> subprocess.CompletedProcess[str]:
        args = ["--initiate", "--timeout", str(timeout_s)]
        if child:
            args += ["--child", child]
        if ike:
            args += ["--ike", ike]
        return self.swanctl(*args, check=check)

    def list_sas(self) -> str:
        return self.swanctl("--list-sas").stdout

    def ike_state(self, name: str) -> str | None:
        m = re.search(rf"^{re.escape(name)}: #\d+, (\w+)", self.list_sas(), re.M)
        return m.group(1) if m else None

    def wait_ike_state(self, name: str, state: str = "ESTABLISHED", timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ike_state(name) == state:
                return
            time.sleep(0.1)
        raise CharonError(f"IKE SA {name} not {state} within {timeout}s:\n{self.list_sas()}\n"
                          f"log tail:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> "Charon":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class NetnsPair:
    """Two namespaces joined by a veth pair, with IPv4 and IPv6 addresses; removed on exit."""

    def __init__(self, prefix: str = "sw"):
        tag = f"{prefix}{os.getpid()}-{os.urandom(2).hex()}"
        self.a, self.b = f"{tag}-a", f"{tag}-b"
        self.addr4 = {"a": "192.0.2.1", "b": "192.0.2.2"}
        self.addr6 = {"a": "2001:db8:5::1", "b": "2001:db8:5::2"}

    def __enter__(self) -> "NetnsPair":
        run = lambda *c: subprocess.run(c, check=True, capture_output=True)  # noqa: E731
        try:
            run("ip", "netns", "add", self.a)
            run("ip", "netns", "add", self.b)
            run("ip", "link", "add", "eth0", "netns", self.a, "type", "veth", "peer", "name",
                "eth0", "netns", self.b)
            for side, ns in (("a", self.a), ("b", self.b)):
                run("ip", "netns", "exec", ns, "sh", "-ec",
                    "ip link set lo up; sysctl -qw net.ipv6.conf.all.accept_dad=0 "
                    "net.ipv6.conf.default.accept_dad=0; ip link set eth0 up; "
                    f"ip addr add {self.addr4[side]}/24 dev eth0; "
                    f"ip addr add {self.addr6[side]}/64 dev eth0 nodad")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for ns in (self.a, self.b):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True).stdout.split()
            for p in pids:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def have_strongswan() -> bool:
    return shutil.which("swanctl") is not None and Path(CHARON).exists()
