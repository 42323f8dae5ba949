#!/usr/bin/python3
"""daemon_gateway_strongswan (label strongswan): mpsad as gateway in namespace a, strongSwan
charon as a plain IKEv2 client (PSK, no MPSA Vendor ID) in namespace b.

Asserted:
  1. charon's IKE SA comes up; /v1/peers and /v1/members show its identity and address (member
     of group corp, mpsa false: charon cannot send the Vendor ID); /metrics counts the IKE SA.
  2. The BGP CHILD_SA (transport, TCP) is either installed or, on a kernel without ESP, counted
     as failed while the IKE SA stays up.
  3. An identity matching no group is refused (AUTHENTICATION_FAILED) and counted.
  4. SIGHUP with an added group: last_reload ok, generation 2, the group and the new membership
     are visible. SIGHUP with an invalid file: refused, last_reload.errors names the JSON path,
     the previous configuration (generation 2, both groups) stays in effect.
  5. SIGTERM: exit status 0, "mpsad ready" was logged, the PSK never appears in the log.

    test_gateway_strongswan.py MPSAD
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "strongswan"))
from charon import Charon, CharonError, NetnsPair, have_strongswan  # noqa: E402

SKIP = 77
PSK_TEXT = "mpsa-daemon-test-psk-0123456789"
PSK_HEX = "0x" + PSK_TEXT.encode().hex()
API = "127.0.0.1:17981"


class Failure(Exception):
    pass


def wait_until(what: str, predicate, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (Failure, OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(interval)
    raise Failure(f"timed out waiting for {what} (last: {last})")


def gateway_config(groups: list[dict]) -> dict:
    return {
        "role": "gateway",
        "identity": "gw.example.net",
        "credentials": {"psk_file": "psk"},  # relative: anchored at the config's directory
        "ike": {"listen": ["0.0.0.0"]},      # wildcard: expanded to the namespace's addresses
        "groups": groups,
        "api": {"listen": API},
        "state_dir": "state",
        "log_level": "debug",
    }


CORP = {"name": "corp", "id": 1, "members": ["cpe*.example.net"], "roll1_s": 5, "roll2_s": 10}
EXTRA = {"name": "extra", "id": 2, "members": ["cpe1.example.net"], "roll1_s": 5,
         "roll2_s": 10}


def charon_conf(me: str, peer: str) -> str:
    def conn(name: str, my_id: str, child: bool = False) -> str:
        children = f"""      bgp {{
        local_ts = {me}[tcp]
        remote_ts = {peer}[tcp]
        mode = transport
        esp_proposals = aes256gcm16,aes128gcm16
        rekey_time = 0
        start_action = none
      }}
""" if child else ""
        return f"""  {name} {{
    version = 2
    local_addrs = {me}
    remote_addrs = {peer}
    proposals = aes256-sha256-x25519
    rekey_time = 0
    reauth_time = 0
    local {{
      auth = psk
      id = {my_id}
    }}
    remote {{
      auth = psk
      id = gw.example.net
    }}
    children {{
{children}    }}
  }}
"""
    return f"""connections {{
{conn("t", "cpe1.example.net")}{conn("c", "cpe2.example.net", True)}\
{conn("x", "intruder.example.org")}}}
secrets {{
  ike-1 {{
    id-1 = cpe1.example.net
    id-2 = intruder.example.org
    id-3 = gw.example.net
    id-4 = cpe2.example.net
    secret = {PSK_HEX}
  }}
}}
"""


class Gateway:
    def __init__(self, mpsad: str, netns: str, workdir: Path):
        self.mpsad, self.netns, self.dir = mpsad, netns, workdir
        self.config = workdir / "mpsad.json"
        self.log = workdir / "mpsad.log"
        self.proc: subprocess.Popen | None = None

    def write(self, doc: dict | str) -> None:
        self.config.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, self.mpsad, "-c", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"), cwd="/")

    def get(self, path: str, raw: bool = False):
        out = subprocess.run(["ip", "netns", "exec", self.netns, "curl", "-sf", "--max-time",
                              "2", f"http://{API}{path}"], capture_output=True, text=True)
        if out.returncode != 0:
            raise Failure(f"GET {path}: curl exit {out.returncode}")
        return out.stdout if raw else json.loads(out.stdout)

    def signal(self, sig: int) -> None:
        # ip netns exec execs mpsad: the pid is mpsad's own.
        os.kill(self.proc.pid, sig)

    def stop(self) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode if self.proc else None


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def run(mpsad: str, pair: NetnsPair, tmp: Path) -> None:
    a4, b4 = pair.addr4["a"], pair.addr4["b"]
    gwdir = tmp / "gw"
    gwdir.mkdir()
    (gwdir / "psk").write_text(PSK_HEX + "\n")
    os.chmod(gwdir / "psk", 0o600)
    gw = Gateway(mpsad, pair.a, gwdir)
    gw.write(gateway_config([CORP]))
    check = subprocess.run([mpsad, "-c", str(gw.config), "--check"], capture_output=True,
                           text=True)
    if check.returncode != 0:
        raise Failure(f"--check refused the test config: {check.stdout}")
    gw.start()
    try:
        status = wait_until("the status API", lambda: gw.get("/v1/status"), timeout=10)
        if status["role"] != "gateway" or status["config"]["generation"] != 1:
            raise Failure(f"unexpected status {status}")
        print("PASS mpsad gateway up, /v1/status answers")

        with Charon(pair.b, tmp / "charon", charon_conf(b4, a4)) as c:
            c.load()
            c.initiate(ike="t", check=False)
            c.wait_ike_state("t")
            peers = wait_until("charon in /v1/peers", lambda: [
                p for p in gw.get("/v1/peers")["peers"]
                if p["identity"] == "cpe1.example.net" and p["state"] == "established"])
            if peers[0]["address"] != b4:
                raise Failure(f"/v1/peers address {peers[0]['address']}, expected {b4}")
            members = gw.get("/v1/members")["members"]
            corp = [m for m in members if m["group"] == "corp"
                    and m["identity"] == "cpe1.example.net"]
            if not corp or corp[0]["address"] != b4 or corp[0]["mpsa"] is not False:
                raise Failure(f"/v1/members: {members}")
            met = gw.get("/metrics", raw=True)
            if metric(met, "mpsa_ike_sas") != 1:
                raise Failure(f"mpsa_ike_sas != 1:\n{met}")
            print(f"PASS charon's IKE SA up; /v1/peers, /v1/members show cpe1.example.net at {b4};"
                  " mpsa_ike_sas 1")

            # 2. The BGP CHILD_SA (cpe2): installed, or (no ESP in this kernel) counted as failed
            # with the IKE SA kept on both sides.
            c.initiate(ike="c", child="bgp", check=False)

            def child_outcome():
                m = gw.get("/metrics", raw=True)
                ok = metric(m, "mpsa_child_sa_installs_total") or 0
                bad = metric(m, "mpsa_child_sa_install_failures_total") or 0
                return ("installed" if ok else "failed") if ok or bad else None
            outcome = wait_until("a CHILD_SA install outcome", child_outcome)
            log = gw.log.read_text()
            if outcome == "installed":
                c.wait_ike_state("c")
                child = [s for s in gw.get("/v1/sas")["sas"] if s["type"] == "child"]
                if len(child) != 2:
                    raise Failure(f"/v1/sas child rows: {child}")
            else:
                wait_until("cpe2's IKE SA up on the gateway despite the failed install",
                           lambda: "IKE SA up: peer" in (l := gw.log.read_text())
                           and "'cpe2.example.net'" in l and "the IKE SA stays up" in l)
                log = gw.log.read_text()
                # ike/ answers a refused install with NO_PROPOSAL_CHOSEN (a CHILD_SA-only error),
                # so charon must keep its IKE SA too.
                c.wait_ike_state("c")
                down = [l for l in log.splitlines() if "IKE SA down" in l and "cpe2" in l]
                if down:
                    raise Failure(f"cpe2's IKE SA went down after the failed install: {down}")
                print("NOTE kernel without ESP: CHILD_SA install failed and was counted;"
                      " charon kept its IKE SA")
            c.wait_ike_state("t")
            print(f"PASS bgp CHILD_SA {outcome} (kernel), gateway kept the IKE SA")

            # 3. An identity that matches no group is refused.
            c.initiate(ike="x", check=False, timeout_s=5)
            wait_until("mpsa_members_refused_total 1", lambda: metric(
                gw.get("/metrics", raw=True), "mpsa_members_refused_total") == 1)
            if c.ike_state("x") == "ESTABLISHED":
                raise Failure("intruder.example.org got an IKE SA")
            if any(p["identity"] == "intruder.example.org" for p in gw.get("/v1/peers")["peers"]):
                raise Failure("intruder listed in /v1/peers")
            print("PASS identity matching no group refused and counted")

            # 4a. SIGHUP with an added group.
            gw.write(gateway_config([CORP, EXTRA]))
            gw.signal(signal.SIGHUP)
            status = wait_until("generation 2", lambda: (
                s := gw.get("/v1/status"))["config"]["generation"] == 2 and s)
            if not status["config"]["last_reload"]["ok"]:
                raise Failure(f"reload not ok: {status['config']}")
            names = {g["name"] for g in gw.get("/v1/groups")["groups"]}
            if names != {"corp", "extra"}:
                raise Failure(f"groups after reload: {names}")
            wait_until("cpe1 member of extra", lambda: any(
                m["group"] == "extra" and m["identity"] == "cpe1.example.net"
                for m in gw.get("/v1/members")["members"]))
            print("PASS SIGHUP reload: group extra added, generation 2, last_reload ok")

            # 4b. SIGHUP with an invalid file: refused, the old configuration stays.
            bad = gateway_config([dict(CORP, lifetime_s="1h"), EXTRA])
            gw.write(bad)
            gw.signal(signal.SIGHUP)
            status = wait_until("a refused reload", lambda: (
                s := gw.get("/v1/status"))["config"]["last_reload"]["ok"] is False and s)
            errors = status["config"]["last_reload"]["errors"]
            if not any(e.startswith("/groups/0/lifetime_s:") for e in errors):
                raise Failure(f"errors do not name /groups/0/lifetime_s: {errors}")
            if status["config"]["generation"] != 2:
                raise Failure(f"generation changed on a refused reload: {status['config']}")
            names = {g["name"] for g in gw.get("/v1/groups")["groups"]}
            if names != {"corp", "extra"}:
                raise Failure(f"groups after refused reload: {names}")
            c.wait_ike_state("t")
            met = gw.get("/metrics", raw=True)
            if 'mpsa_config_reloads_total{result="error"} 1' not in met or \
                    'mpsa_config_reloads_total{result="ok"} 1' not in met:
                raise Failure(f"reload counters:\n{met}")
            print(f"PASS invalid config on SIGHUP refused ({errors[0]}), old config in effect")

        # 5. SIGTERM
        gw.signal(signal.SIGTERM)
        try:
            code = gw.proc.wait(10)
        except subprocess.TimeoutExpired:
            raise Failure("mpsad did not exit within 10 s of SIGTERM")
        if code != 0:
            raise Failure(f"mpsad exit status {code} after SIGTERM")
        log = gw.log.read_text()
        if "mpsad ready" not in log:
            raise Failure("no 'mpsad ready' in the log")
        for secret in (PSK_TEXT, PSK_HEX[2:], PSK_TEXT.encode().hex()):
            if secret in log:
                raise Failure("the PSK appears in mpsad's log")
        state = gwdir / "state" / "gateway_group_sas.state"
        if not state.exists() or state.stat().st_mode & 0o077:
            raise Failure("group SA state file missing or readable by others")
        print("PASS SIGTERM: exit 0; log has 'mpsad ready' and no PSK; state file 0600")
    finally:
        gw.stop()
        if "-v" in sys.argv or os.environ.get("MPSA_TEST_VERBOSE"):
            print(gw.log.read_text())


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    mpsad = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return SKIP
    if not have_strongswan():
        print("SKIP: strongSwan (charon-systemd, swanctl) not installed")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="mpsa-gw-") as tmp, NetnsPair("gd") as pair:
        try:
            run(mpsad, pair, Path(tmp))
        except (Failure, CharonError) as e:
            print(f"FAIL {e}")
            clog = Path(tmp) / "charon" / "charon.log"
            if clog.exists():
                print("--- charon log (tail, no vici) ---")
                print("\n".join([l for l in clog.read_text().splitlines() if "vici" not in l][-30:]))
            log = Path(tmp) / "gw" / "mpsad.log"
            if log.exists():
                print("--- mpsad log (tail) ---")
                print("\n".join(log.read_text().splitlines()[-40:]))
            return 1
    print("PASS daemon_gateway_strongswan")
    return 0


if __name__ == "__main__":
    sys.exit(main())
