#!/usr/bin/python3
"""Helpers for the MPSA lab tests that run INSIDE the vm guest (tests/lab/lab_mpsa_guest.py):
the containerlab/mpsa-3cpe.clab.yml lab brought up by labrun with real FRR and real mpsad,
status API queries from the nodes' namespaces, kernel state readers, pings, diagnostics.

Every wait polls a condition with a deadline (TCG is slow: deadlines are generous, the timed
must-shows measure the condition itself, not the polling period).
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import labrun  # noqa: E402

TOPO = HERE.parents[1] / "containerlab" / "mpsa-3cpe.clab.yml"
GROUP = "lab"
CPES = {"cpe1": 1, "cpe2": 2, "cpe3": 3, "cpe4": 4}
LATE = {"cpe4"}
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class Failure(Exception):
    """A must-show did not hold: the message says what and how it was observed."""


def now() -> float:
    return time.monotonic()


def poll(cond: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = now() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = cond()
            if value:
                return value
        except (labrun.LabError, OSError, ValueError, KeyError, http.client.HTTPException) as e:
            last_error = e
        if now() >= deadline:
            extra = f" (last error: {last_error})" if last_error else ""
            raise Failure(f"not within {timeout:.0f}s: {what}{extra}")
        time.sleep(interval)


def lan4(n: int) -> str:
    return f"10.{n}.0.2"


def lan6(n: int) -> str:
    return f"fd00:{n}::2"


def esp4(n: int) -> str:
    return f"100.64.{n}.2"


def esp6(n: int) -> str:
    return f"2001:db8:64:{n}::2"


KEY_RE = re.compile(r"^\s+(?:enc|auth|auth-trunc|aead|comp)\s+\S+\s+0x([0-9a-fA-F]+)", re.M)


class NetnsHttp:
    """GET against the status API of a node, from inside the node's network namespace (setns on
    this thread, back afterwards: no process start per query)."""

    def __init__(self, netns: str):
        self.path = f"/run/netns/{netns}"

    def get(self, path: str, port: int = 7979, timeout: float = 5) -> tuple[int, str]:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(self.path, os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {self.path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read().decode("utf-8", "replace")
                conn.close()
                return resp.status, body
            finally:
                if _libc.setns(own, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(own)
            os.close(target)


class MpsaLab:
    def __init__(self, mpsad: str, mpsactl: str, overrides: dict[str, dict] | None = None):
        self.mpsad = mpsad
        self.mpsactl_bin = mpsactl
        self.t_start = now()
        self.lab = labrun.lab_up(TOPO, mpsad=mpsad, mpsad_overrides=overrides or {})
        self.t_up = now()
        print(f"lab up (FRR + mpsad on gw, cpe1-3) in {self.t_up - self.t_start:.1f}s: "
              f"{self.lab.state_dir}", flush=True)

    # ------------------------------------------------------------------ basics
    def started_cpes(self) -> dict[str, int]:
        return {c: n for c, n in CPES.items() if self.lab.state["nodes"][c].get("started")}

    def ns(self, node: str) -> str:
        return self.lab.netns(node)

    def sh(self, node: str, script: str, check: bool = True,
           timeout: float | None = 120) -> subprocess.CompletedProcess[str]:
        return self.lab.exec(node, script, check=check, timeout=timeout)

    def ip(self, node: str, *args: str) -> str:
        return labrun.run(["ip", "-n", self.ns(node), *args]).stdout

    def api(self, node: str, path: str) -> Any:
        status, body = NetnsHttp(self.ns(node)).get(path)
        if status != 200:
            raise Failure(f"{node} GET {path}: HTTP {status}: {body[:300]}")
        return json.loads(body)

    def api_raw(self, node: str, path: str) -> tuple[int, str]:
        return NetnsHttp(self.ns(node)).get(path)

    def mpsactl(self, node: str, *args: str, check: bool = True) -> str:
        proc = self.sh(node, [self.mpsactl_bin, *args], check=False)
        if check and proc.returncode != 0:
            raise Failure(f"{node}: mpsactl {' '.join(args)} exited {proc.returncode}:\n"
                          f"{proc.stdout}{proc.stderr}")
        return proc.stdout + proc.stderr

    def vtysh(self, node: str, *commands: str) -> str:
        return self.lab.vtysh(node, *commands)

    def bgp_config(self, node: str, afi: str, *lines: str) -> None:
        self.vtysh(node, "configure terminal", "router bgp 65000",
                   f"address-family {afi} unicast", *lines)

    # ------------------------------------------------------------------ kernel state
    def xfrm_states(self, node: str) -> list[dict[str, Any]]:
        """Every SA in the node's kernel: spi, src, dst, proto, mode, packets, keys (hex)."""
        out = self.ip(node, "-s", "xfrm", "state")
        sas = []
        for block in re.split(r"^(?=src )", out, flags=re.M):
            addrs = re.match(r"src (\S+) dst (\S+)", block)
            spi = re.search(r"proto (\w+) spi 0x([0-9a-f]+)", block)
            mode = re.search(r" mode (\w+)", block)
            if not (addrs and spi and mode):
                continue
            pk = re.search(r"lifetime current:\s*\n\s*\d+\(bytes\), (\d+)\(packets\)", block)
            sas.append({"src": addrs.group(1), "dst": addrs.group(2), "proto": spi.group(1),
                        "spi": "0x" + spi.group(2)[-8:].rjust(8, "0"), "mode": mode.group(1),
                        "packets": int(pk.group(1)) if pk else 0,
                        "keys": [k.lower() for k in KEY_RE.findall(block)]})
        return sas

    def group_sa_packets(self, node: str, spis: set[str]) -> int:
        return sum(sa["packets"] for sa in self.xfrm_states(node) if sa["spi"] in spis)

    def policies_for(self, node: str, prefix: str) -> list[str]:
        """xfrm policy blocks that name prefix as selector (src or dst)."""
        out = self.ip(node, "xfrm", "policy")
        return [b for b in re.split(r"^(?=src )", out, flags=re.M)
                if re.match(rf"src \S+ dst {re.escape(prefix)}\s|src {re.escape(prefix)} ", b)]

    def overlay_routes(self, node: str) -> str:
        """Every route through an mpsa* interface, any table, both families."""
        out = self.ip(node, "-4", "route", "show", "table", "all") + \
            self.ip(node, "-6", "route", "show", "table", "all")
        return "\n".join(l for l in out.splitlines() if re.search(r"\bdev mpsa\d+\b", l))

    # ------------------------------------------------------------------ group state via API
    def group(self, node: str) -> dict[str, Any]:
        for g in self.api(node, "/v1/groups")["groups"]:
            if g.get("name") == GROUP:
                return g
        raise Failure(f"{node}: no group {GROUP!r} in /v1/groups")

    def group_spis(self, node: str) -> set[str]:
        return {s["spi"] for s in self.group(node).get("sas", [])}

    def cpe_ready(self, cpe: str) -> bool:
        st = self.api(cpe, "/v1/status")
        return (st.get("gateway") or {}).get("ike_sa") == "established" and \
            bool(self.group(cpe).get("outbound_spi"))

    # ------------------------------------------------------------------ convergence
    def missing_encrypted(self, cpes: dict[str, int] | None = None) -> list[str]:
        """Remote LAN prefixes that a CPE does not yet send through the overlay (policy out)."""
        cpes = cpes or self.started_cpes()
        miss = []
        for me in cpes:
            pol = self.ip(me, "xfrm", "policy")
            for other, n in cpes.items():
                if other == me:
                    continue
                for prefix in (f"10.{n}.0.0/24", f"fd00:{n}::/64"):
                    if not re.search(rf"^src \S+ dst {re.escape(prefix)}\s", pol, re.M):
                        miss.append(f"{me}: no out policy for {prefix}")
        return miss

    def ping_matrix(self, cpes: dict[str, int], count: int = 2, interval: float = 0.2,
                    wait_s: int = 2) -> dict[tuple[str, str], str]:
        """Pings from every LAN host to every other one (IPv4 and IPv6), in parallel per
        source host. Returns {(src host, dst address): "" if all replies came, else the
        ping summary}."""
        procs = {}
        for src, n in cpes.items():
            dsts = [a for o, m in cpes.items() if o != src for a in (lan4(m), lan6(m))]
            script = "".join(
                f"(ping -n -q -c {count} -i {interval} -W {wait_s} {d} >/tmp/p.{n}.{i} 2>&1;"
                f" echo \"rc=$?\" >>/tmp/p.{n}.{i}) &\n" for i, d in enumerate(dsts))
            script += "wait\n" + "".join(f"echo '@@ {d}'; cat /tmp/p.{n}.{i}\n"
                                         for i, d in enumerate(dsts))
            procs[src] = subprocess.Popen(["ip", "netns", "exec", self.ns(f"h{n}"), "sh", "-c",
                                           script], stdout=subprocess.PIPE, text=True)
        result = {}
        for src, p in procs.items():
            out, _ = p.communicate(timeout=120)
            for chunk in out.split("@@ ")[1:]:
                dst, _, body = chunk.partition("\n")
                summary = re.search(r"(\d+) packets transmitted, (\d+) received", body)
                ok = "rc=0" in body and summary and summary.group(1) == summary.group(2)
                result[(f"h{cpes[src]}", dst)] = "" if ok else " ".join(body.split())[:160]
        return result

    def wait_converged(self, timeout: float = 180, cpes: dict[str, int] | None = None) -> float:
        """Until every CPE has its IKE SA with the gateway and the group SA, sends every remote
        LAN through the overlay, and every LAN host answers every other. Returns the time."""
        cpes = cpes or self.started_cpes()
        t0 = now()
        poll(lambda: all(self.cpe_ready(c) for c in cpes), timeout,
             "every CPE: IKE SA with the gateway established and a group outbound SA")
        t_sa = now()
        left = [timeout]

        def encrypted():
            m = self.missing_encrypted(cpes)
            left[0] = m
            return not m
        try:
            poll(encrypted, max(10.0, timeout - (t_sa - t0)), "overlay policies on every CPE",
                 interval=0.3)
        except Failure as e:
            raise Failure(f"{e}: {left[0]}") from None
        bad = {}

        def pings():
            bad.clear()
            bad.update({k: v for k, v in self.ping_matrix(cpes, count=1, wait_s=2).items() if v})
            return not bad
        try:
            poll(pings, max(10.0, timeout - (now() - t0)), "every LAN host reaching every other",
                 interval=0.3)
        except Failure as e:
            raise Failure(f"{e}: {bad}") from None
        t = now() - t0
        print(f"converged ({len(cpes)} CPEs): group SA after {t_sa - t0:.1f}s, all LANs "
              f"reachable through the overlay after {t:.1f}s", flush=True)
        return t

    # ------------------------------------------------------------------ traffic
    def start_ping(self, host: str, dst: str, count: int, interval: float) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.ns(host), "ping", "-n", "-q",
                                 "-c", str(count), "-i", str(interval), "-W", "2", dst],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @staticmethod
    def ping_result(p: subprocess.Popen, timeout: float) -> tuple[int, int, str]:
        """(transmitted, received, summary line) of a finished ping."""
        out, _ = p.communicate(timeout=timeout)
        m = re.search(r"(\d+) packets transmitted, (\d+) received.*", out)
        if not m:
            raise Failure(f"ping printed no summary: {out}")
        return int(m.group(1)), int(m.group(2)), m.group(0)

    def start_load(self, a: str, b: str, seconds: float) -> list[subprocess.Popen]:
        """>= 200 echo requests/s between LANs a and b (e.g. "h1", "h2"), IPv4: one ping each
        way at -i 0.004 (one ping alone reaches only ~190/s under TCG), plus IPv6 at 20/s."""
        na, nb = int(a[1:]), int(b[1:])
        n = int(250 * seconds)
        return [self.start_ping(a, lan4(nb), n, 0.004), self.start_ping(b, lan4(na), n, 0.004),
                self.start_ping(a, lan6(nb), int(20 * seconds), 0.05)]

    def load_result(self, pings: list[subprocess.Popen], timeout: float
                    ) -> tuple[int, int, float, list[str]]:
        """(sent, received, IPv4 echo requests/s of both pings together, summaries)."""
        results = [self.ping_result(p, timeout) for p in pings]
        rate = sum(self.ping_rate(r[2]) for r in results[:2])
        return (sum(r[0] for r in results), sum(r[1] for r in results), rate,
                [r[2] for r in results])

    @staticmethod
    def ping_rate(summary: str) -> float:
        """Echo requests per second, from ping's own summary (transmitted / its run time)."""
        m = re.search(r"(\d+) packets transmitted.*time (\d+)ms", summary)
        return int(m.group(1)) / max(int(m.group(2)) / 1000, 0.001) if m else 0.0

    # ------------------------------------------------------------------ diagnostics
    def diagnostics(self) -> str:
        out = []
        scrub = re.compile(r"0x[0-9a-fA-F]{16,}")  # no key bytes in test output either
        for node, st in self.lab.state["nodes"].items():
            if not st.get("binds"):
                continue
            out.append(f"===== {node} (started: {st.get('started')}, mpsad pid "
                       f"{st.get('mpsad_pid')})")
            log = labrun.mpsad_log(self.lab, node)
            if log.exists():
                out.append("--- mpsad.log (tail)\n" + "".join(
                    log.read_text(errors="replace").splitlines(keepends=True)[-40:]))
            for cmd in (["xfrm", "state"], ["xfrm", "policy"], ["rule"], ["-6", "rule"],
                        ["route", "show", "table", "all"], ["-6", "route", "show", "table", "all"],
                        ["-s", "link"]):
                try:
                    out.append(f"--- ip {' '.join(cmd)}\n" + scrub.sub("<hex>", self.ip(node, *cmd)))
                except labrun.LabError as e:
                    out.append(str(e))
            if st.get("frr"):
                try:
                    out.append(self.vtysh(node, "show bgp summary"))
                except labrun.LabError as e:
                    out.append(str(e))
            if st.get("mpsad_pid") and labrun.pid_alive(st["mpsad_pid"]):
                for path in ("/v1/status", "/v1/groups", "/v1/peers", "/v1/routes", "/v1/members"):
                    try:
                        out.append(f"--- GET {path}: {self.api_raw(node, path)[1][:1500]}")
                    except OSError as e:
                        out.append(f"--- GET {path}: {e}")
        return "\n".join(out)

    def down(self) -> list[str]:
        return labrun.lab_down(self.lab.state_dir)


def run_scenario(name: str, body: Callable[[MpsaLab], None], mpsad: str, mpsactl: str,
                 overrides: dict[str, dict] | None = None) -> int:
    """Brings the lab up, runs body, prints PASS/FAIL (with diagnostics), tears down."""
    t0 = now()
    lab = None
    ok = False
    try:
        lab = MpsaLab(mpsad, mpsactl, overrides)
        body(lab)
        ok = True
    except Exception as e:  # noqa: BLE001 - any failure: report it with the lab's state
        kind = "" if isinstance(e, (Failure, labrun.LabError)) else f"{type(e).__name__}: "
        print(f"FAIL {name}: {kind}{e}", flush=True)
        if kind:
            import traceback
            traceback.print_exc()
        if lab is not None:
            print(lab.diagnostics(), flush=True)
    finally:
        if lab is not None:
            namespaces = [n["netns"] for n in lab.lab.state["nodes"].values()]
            problems = lab.down()
            existing = subprocess.run(["ip", "netns", "list"], capture_output=True,
                                      text=True).stdout.split()
            left = [n for n in namespaces if n in existing]
            if problems or left:
                print(f"FAIL {name}: teardown left {left} {problems}")
                ok = False
    print(f"{'PASS' if ok else 'FAIL'} {name} ({now() - t0:.1f}s in the guest)", flush=True)
    return 0 if ok else 1
