#!/usr/bin/python3
"""mpsa_strongswan_plain_client (label strongswan), issue 6 must-show 3: strongSwan charon as a
plain IKEv2 client of our gateway side receives an MPSA_PUT, answers it, and keeps its IKE SA.

Our product gateway only pushes MPSA_PUT to peers that sent the "multi-point SA" Vendor ID, which
charon cannot send; ike_peer's test-only "mpsa-put" command pushes one regardless: an
INFORMATIONAL request carrying N(MPSA_PUT) (type 40960, private-use status range) for a freshly
generated group SA, encoded by mpsa's codec. Ours (responder, the gateway) runs in namespace a,
charon (initiator, the client) in b.

Asserted: our request is answered (an SK payload without any notify, so no error notify);
charon's log shows it parsed the notify and generated an empty response; no Delete, no
INVALID_SYNTAX, no error in charon's log and no ike_down on our side; charon's IKE SA is still
ESTABLISHED with the same SPIs afterwards; a liveness check in each direction still succeeds.

    test_mpsa_plain_client.py IKE_PEER
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from charon import Charon, NetnsPair, have_strongswan  # noqa: E402
from test_ike_interop import (DEFAULT_PROPOSAL, PSK, Env, Failure, Peer, ike_sa_spis,  # noqa: E402
                              swanctl_conf, wait_until)

SKIP = 77  # ctest SKIP_RETURN_CODE

# What charon would log if it took the unknown notify as an error or dropped the IKE SA.
BAD = re.compile(r"INVALID_SYNTAX|UNSUPPORTED_CRITICAL|\[(?: \S+)* D(?: \S+)* \]|deleting IKE_SA|"
                 r"IKE_SA .* (destroyed|deleted)|message verification failed|"
                 r"received (AUTHENTICATION_FAILED|INVALID_\w+)|critical bit")


def log_since(c: Charon, mark: int) -> str:
    return c.log_path.read_text()[mark:]


def log_mark(c: Charon) -> int:
    return len(c.log_path.read_text())


def expect_established(c: Charon, spis: tuple[str, str], when: str) -> None:
    state = c.ike_state("t")
    now = ike_sa_spis(c)
    if state != "ESTABLISHED" or now != spis:
        raise Failure(f"{when}: charon's IKE SA {state} {now}, expected ESTABLISHED {spis}:\n"
                      f"{c.list_sas()}")


def no_ike_down(p: Peer) -> None:
    """Fails if our side saw the IKE SA go down (events read so far, without waiting)."""
    while not p.events.empty():
        p.seen.append(p.events.get_nowait())
    down = [e for e in p.seen if e.get("event") in ("ike_down", "eof", "error")]
    if down:
        raise Failure(f"our IKE SA went down: {down}")


def run(env: Env) -> None:
    # dpd_delay: charon sends its own liveness check once the IKE SA has been idle for 1 s.
    c = env.charon(swanctl_conf(env.b4, env.a4, DEFAULT_PROPOSAL, extra="    dpd_delay = 1s"))
    try:
        with env.peer("--role", "responder", "--psk", PSK) as p:
            c.initiate(ike="t")
            up = p.wait("ike_up")
            c.wait_ike_state("t")
            spis = (up["spi_i"], up["spi_r"])
            expect_established(c, spis, "before MPSA_PUT")
            print(f"PASS charon (plain IKEv2 client) -> our gateway side: IKE SA "
                  f"{spis[0]}_{spis[1]} ESTABLISHED")

            # 1. MPSA_PUT pushed to charon, answered with an empty SK payload.
            mark = log_mark(c)
            sent = p.command("mpsa-put")
            done = p.wait("notify_done", 10, id=sent["request"])
            if done["outcome"] != "answered":
                raise Failure(f"MPSA_PUT not answered: {done}")
            if done["response_types"]:
                raise Failure(f"charon answered MPSA_PUT with notifies "
                              f"{done['response_types']} (expected an empty SK payload)")
            text = log_since(c, mark)
            req = re.search(r"parsed INFORMATIONAL request (\d+) \[ N\(([^\]]*)\) \]", text)
            if not req:
                raise Failure(f"charon did not log parsing our INFORMATIONAL with a Notify:\n"
                              f"{text[-2000:]}")
            if "40960" not in req.group(2):
                raise Failure(f"charon's log names the notify {req.group(2)!r}, not 40960")
            if not re.search(rf"generating INFORMATIONAL response {req.group(1)} \[ \]", text):
                raise Failure(f"charon did not generate an empty response to request "
                              f"{req.group(1)}:\n{text[-2000:]}")
            print(f"PASS MPSA_PUT (group SPI {sent['group_spi']}) answered: charon logged "
                  f"'parsed INFORMATIONAL request {req.group(1)} [ N({req.group(2)}) ]' and "
                  f"an empty response; our outcome {done['outcome']}, no notify in the answer")

            # 2. Negative control: not treated as an error, IKE SA kept with the same SPIs.
            bad = BAD.search(text)
            if bad:
                raise Failure(f"charon treated MPSA_PUT as an error: {bad.group(0)!r}\n"
                              f"{text[-2000:]}")
            expect_established(c, spis, "after MPSA_PUT")
            no_ike_down(p)
            print(f"PASS charon kept its IKE SA {spis[0]}_{spis[1]} ESTABLISHED; no Delete, "
                  f"no INVALID_SYNTAX, no error in its log; our side saw no ike_down")

            # 3. Liveness checks after the MPSA_PUT, both directions.
            mark = log_mark(c)
            ours = p.command("notify")  # an empty INFORMATIONAL request: our liveness check
            dpd = p.wait("notify_done", 10, id=ours["request"])
            if dpd["outcome"] != "answered" or dpd["response_types"]:
                raise Failure(f"our liveness check after MPSA_PUT: {dpd}")
            wait_until(lambda: re.search(r"parsed INFORMATIONAL request \d+ \[ \]",
                                         log_since(c, mark)) is not None, 5,
                       "our liveness check seen by charon")
            wait_until(lambda: re.search(r"parsed INFORMATIONAL response \d+ \[ \]",
                                         log_since(c, mark)) is not None, 8,
                       "charon's liveness check (dpd_delay 1s) answered by us")
            text = log_since(c, mark)
            bad = BAD.search(text)
            if bad:
                raise Failure(f"error in charon's log after the liveness checks: {bad.group(0)!r}")
            expect_established(c, spis, "after the liveness checks")
            no_ike_down(p)
            print("PASS liveness checks after MPSA_PUT both ways: ours answered by charon, "
                  "charon's answered by us; IKE SA still ESTABLISHED with the same SPIs")

            # Clean end: charon's Delete still reaches us on the same IKE SA.
            c.swanctl("--terminate", "--ike", "t")
            down = p.wait("ike_down")
            print(f"PASS charon's Delete seen by our side ({down['reason']})")
    finally:
        c.stop()


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not have_strongswan():
        print("SKIP: strongSwan (charon-systemd, swanctl) not installed")
        return SKIP
    with NetnsPair("mp") as nets, tempfile.TemporaryDirectory(prefix="mpsaplain-") as tmp:
        env = Env(sys.argv[1], nets, tmp)
        try:
            run(env)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL: {e}")
            for f in sorted(Path(tmp).glob("charon*/charon.log")):
                print(f"--- {f}\n" + "\n".join(f.read_text().splitlines()[-30:]))
            return 1
    print("mpsa_strongswan_plain_client: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
