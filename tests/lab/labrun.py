#!/usr/bin/python3
"""labrun: instantiate a containerlab topology as Linux network namespaces + veth, with FRR.

Docker is not available on the build/CI machine (nor inside the test VM), so the same
`containerlab/*.clab.yml` files that containerlab runs with Docker are brought up here as one
network namespace per node, one veth pair per link, the nodes' `exec` commands run inside their
namespace, and FRR (zebra + the daemons enabled in the node's `daemons` file) started per node with
a private config/socket directory.

Supported containerlab schema (anything else is a clear error, never silently ignored):
  name                                 lab name (namespace names are <name>-<run id>-<node>)
  topology.defaults / topology.kinds.<kind> / topology.nodes.<node>:
      kind           `linux` only (the FRR image of containerlab/Dockerfile is kind linux)
      image          recorded, not used (the host's / is the node's file system)
      binds          `src:dst[:ro|rw]`, src relative to the topology file; dst under /etc/frr/
                     (`daemons`, `frr.conf`, `vtysh.conf`) becomes the node's FRR config, dst under
                     /etc/mpsa/ is copied into the node directory (<node dir>/etc/mpsa/...)
      startup-config FRR integrated config (same as a bind to /etc/frr/frr.conf)
      exec           shell commands run in the node's namespace, in order, after links exist
      env            environment for `exec` commands; MPSA_START: later marks a node whose FRR
                     and mpsad start only on `start-node` (a CPE joining a running lab)
      labels         recorded (tests may read them)
  topology.links[].endpoints           ["nodeA:ifA", "nodeB:ifB"] -> veth pair

mpsad: a node binding /etc/mpsa/mpsad.json runs `mpsad -c <node dir>/etc/mpsa/mpsad.json` after
its FRR daemons, if the lab was brought up with --mpsad PATH (or $MPSA_MPSAD). The node's copy of
the JSON is rewritten so that the node keeps to its own directory: every string naming a file
under /etc/mpsa/ points into <node dir>/etc/mpsa/, state_dir is <node dir>/state, frr.zserv_path
is the node's zebra socket, a unix: API socket and ike.keylog_file live in <node dir>.
Its stdout/stderr go to <node dir>/log/mpsad.log (appended, one header line per start).
  mgmt, prefix, ports, cmd, entrypoint, network-mode: not supported in namespace mode (error)

Usage:
  labrun.py up TOPOLOGY [--name N] [--state-dir DIR] [--no-frr] [--mpsad PATH]
  labrun.py down STATE_DIR
  labrun.py start-node STATE_DIR NODE      start a MPSA_START=later node's FRR + mpsad
  labrun.py start-mpsad STATE_DIR NODE     start mpsad on a node where it is not running
  labrun.py kill-mpsad STATE_DIR NODE [--signal KILL|TERM|...]   (waits for it to exit)
  labrun.py restart-mpsad STATE_DIR NODE [--signal KILL|TERM]   kill, then start again
  labrun.py exec STATE_DIR NODE -- CMD...
  labrun.py vtysh STATE_DIR NODE -c CMD [-c CMD...]
  labrun.py gc                          remove labs whose creating process is gone
The state directory holds state.json, per-node FRR dirs and logs. `up` prints its path.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import yaml
except ImportError:  # pragma: no cover - setup.sh installs python3-yaml
    sys.exit("labrun: python3-yaml is missing (run scripts/setup.sh)")

FRR_BIN = Path("/usr/lib/frr")
STATE_ROOT = Path(os.environ.get("MPSA_LAB_STATE_ROOT", "/tmp/mpsa-lab"))
SUPPORTED_NODE_KEYS = {"kind", "image", "binds", "startup-config", "exec", "env", "labels"}
UNSUPPORTED_TOP_KEYS = {"mgmt", "prefix"}
FRR_DAEMONS = ["zebra", "bgpd", "staticd", "ospfd", "ospf6d", "bfdd", "pbrd"]
MAX_IFNAME = 15


class LabError(Exception):
    """A topology or environment problem, reported as one clear line."""


@dataclass
class Node:
    name: str
    kind: str = "linux"
    image: str | None = None
    exec_cmds: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    start_later: bool = False  # env MPSA_START=later: FRR and mpsad wait for `start-node`
    frr_files: dict[str, Path] = field(default_factory=dict)  # daemons / frr.conf / vtysh.conf
    other_binds: dict[str, Path] = field(default_factory=dict)  # dst -> src


@dataclass
class Link:
    a: str
    a_if: str
    b: str
    b_if: str


@dataclass
class Topology:
    name: str
    path: Path
    nodes: dict[str, Node]
    links: list[Link]


def _merge(*dicts: dict[str, Any]) -> dict[str, Any]:
    """containerlab precedence: node > kind > defaults; lists and maps are replaced, not merged
    (binds/exec are node-specific in practice), except env and labels which are merged."""
    out: dict[str, Any] = {}
    for d in dicts:
        for k, v in (d or {}).items():
            if k in ("env", "labels"):
                out[k] = {**out.get(k, {}), **(v or {})}
            else:
                out[k] = v
    return out


def parse_topology(path: str | Path) -> Topology:
    path = Path(path).resolve()
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise LabError(f"{path}: cannot read topology: {e}") from e
    if not isinstance(doc, dict) or "topology" not in doc:
        raise LabError(f"{path}: not a containerlab topology (no 'topology' key)")
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise LabError(f"{path}: 'name' must be a non-empty string")
    for k in UNSUPPORTED_TOP_KEYS & doc.keys():
        raise LabError(f"{path}: '{k}' is not supported by the namespace runner")
    topo = doc["topology"] or {}
    defaults = topo.get("defaults") or {}
    kinds = topo.get("kinds") or {}
    raw_nodes = topo.get("nodes") or {}
    if not raw_nodes:
        raise LabError(f"{path}: topology.nodes is empty")
    base = path.parent
    nodes: dict[str, Node] = {}
    for nname, raw in raw_nodes.items():
        where = f"{path}: topology.nodes.{nname}"
        if not isinstance(nname, str) or not nname.replace("-", "").replace("_", "").isalnum():
            raise LabError(f"{where}: node names must be alphanumeric (with - or _)")
        kind = (raw or {}).get("kind", defaults.get("kind", "linux"))
        spec = _merge(defaults, kinds.get(kind, {}), raw or {})
        unknown = set(spec) - SUPPORTED_NODE_KEYS
        if unknown:
            raise LabError(f"{where}: unsupported key(s) {sorted(unknown)} in namespace mode")
        if spec.get("kind", "linux") != "linux":
            raise LabError(f"{where}: kind '{spec.get('kind')}' is not supported (only 'linux')")
        node = Node(name=nname, image=spec.get("image"))
        execs = spec.get("exec") or []
        if not isinstance(execs, list) or not all(isinstance(c, str) for c in execs):
            raise LabError(f"{where}.exec: must be a list of strings")
        node.exec_cmds = list(execs)
        node.env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
        node.labels = {str(k): str(v) for k, v in (spec.get("labels") or {}).items()}
        start = node.env.get("MPSA_START", "now")
        if start not in ("now", "later"):
            raise LabError(f"{where}.env.MPSA_START: must be 'now' or 'later', got {start!r}")
        node.start_later = start == "later"
        for i, bind in enumerate(spec.get("binds") or []):
            parts = str(bind).split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
                raise LabError(f"{where}.binds[{i}]: expected 'src:dst[:ro|rw]', got {bind!r}")
            src, dst = (base / parts[0]).resolve(), parts[1]
            if not src.is_file():
                raise LabError(f"{where}.binds[{i}]: {src} does not exist")
            if dst.startswith("/etc/frr/"):
                node.frr_files[dst[len("/etc/frr/"):]] = src
            elif dst.startswith("/etc/mpsa/"):
                node.other_binds[dst] = src
            else:
                raise LabError(f"{where}.binds[{i}]: target {dst} not supported "
                               "(only /etc/frr/ and /etc/mpsa/)")
        if "startup-config" in spec:
            src = (base / spec["startup-config"]).resolve()
            if not src.is_file():
                raise LabError(f"{where}.startup-config: {src} does not exist")
            node.frr_files["frr.conf"] = src
        nodes[nname] = node
    links: list[Link] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(topo.get("links") or []):
        where = f"{path}: topology.links[{i}]"
        eps = (raw or {}).get("endpoints")
        if not isinstance(eps, list) or len(eps) != 2:
            raise LabError(f"{where}: 'endpoints' must list exactly two 'node:interface'")
        ends = []
        for ep in eps:
            node_name, _, ifname = str(ep).partition(":")
            if node_name not in nodes:
                raise LabError(f"{where}: unknown node '{node_name}'")
            if not ifname or len(ifname) > MAX_IFNAME or "/" in ifname or " " in ifname:
                raise LabError(f"{where}: bad interface name '{ifname}'")
            if (node_name, ifname) in seen:
                raise LabError(f"{where}: {node_name}:{ifname} is used by two links")
            seen.add((node_name, ifname))
            ends.append((node_name, ifname))
        links.append(Link(ends[0][0], ends[0][1], ends[1][0], ends[1][1]))
    return Topology(name=name, path=path, nodes=nodes, links=links)


def parse_daemons_file(path: Path | None) -> list[str]:
    """Which FRR daemons to start: `<daemon>=yes` lines of an FRR daemons file. zebra always."""
    enabled = ["zebra"]
    if path is None:
        return enabled + ["bgpd"]
    for line in path.read_text().splitlines():
        line = line.strip()
        if "=" not in line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if key in FRR_DAEMONS and key != "zebra" and value.strip().strip('"') == "yes":
            enabled.append(key)
    return enabled


# Options of ours that a daemons file's <daemon>_options must not override (each takes a value,
# except -d): the private config, pid, socket and log paths are what keep lab nodes apart.
OWN_DAEMON_FLAGS = {"-d": 0, "--daemon": 0, "-f": 1, "--config_file": 1, "-i": 1,
                    "--pid_file": 1, "-z": 1, "--socket": 1, "--vty_socket": 1, "-u": 1,
                    "--user": 1, "-g": 1, "--group": 1, "-P": 1, "--vty_port": 1, "-A": 1,
                    "--vty_addr": 1, "--log": 1, "-N": 1, "--pathspace": 1}


def parse_daemon_options(path: Path | None) -> dict[str, list[str]]:
    """`<daemon>_options="..."` lines of an FRR daemons file (e.g. zebra's `-s 90000000`, the
    netlink receive buffer that keeps zebra from losing messages in a burst of 100k routes),
    without the options the runner sets itself."""
    out: dict[str, list[str]] = {}
    if path is None:
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        key, sep, value = line.partition("=")
        if not sep or not key.endswith("_options") or line.startswith("#"):
            continue
        daemon = key[: -len("_options")]
        if daemon not in FRR_DAEMONS:
            continue
        try:
            words = shlex.split(value.strip().strip('"').strip("'"))
        except ValueError as e:
            raise LabError(f"{path}: {key}: {e}") from e
        kept: list[str] = []
        skip = 0
        for w in words:
            if skip:
                skip -= 1
                continue
            flag = w.split("=", 1)[0]
            if flag in OWN_DAEMON_FLAGS:
                skip = 0 if "=" in w else OWN_DAEMON_FLAGS[flag]
                continue
            kept.append(w)
        out[daemon] = kept
    return out


# ----------------------------------------------------------------------------- runtime


def run(cmd: list[str], *, check: bool = True, input_text: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, input=input_text, capture_output=True, text=True,
                          env=env)
    if check and proc.returncode != 0:
        raise LabError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n"
                       f"{proc.stderr.strip()}")
    return proc


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")


class Lab:
    """A running (or to-be-started) lab, persisted in <state_dir>/state.json."""

    def __init__(self, state_dir: Path, state: dict[str, Any]):
        self.state_dir = state_dir
        self.state = state

    # -- accessors used by tests
    @classmethod
    def load(cls, state_dir: str | Path) -> "Lab":
        state_dir = Path(state_dir)
        try:
            return cls(state_dir, json.loads((state_dir / "state.json").read_text()))
        except (OSError, ValueError) as e:
            raise LabError(f"{state_dir}: no lab state: {e}") from e

    def netns(self, node: str) -> str:
        try:
            return self.state["nodes"][node]["netns"]
        except KeyError as e:
            raise LabError(f"no node '{node}' in lab {self.state['name']}") from e

    def node_dir(self, node: str) -> Path:
        return self.state_dir / "nodes" / node

    def exec(self, node: str, cmd: list[str] | str, check: bool = True,
             timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        argv = ["ip", "netns", "exec", self.netns(node)]
        argv += ["sh", "-c", cmd] if isinstance(cmd, str) else cmd
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise LabError(f"{node}: command failed ({proc.returncode}): {cmd}\n"
                           f"{proc.stdout}{proc.stderr}")
        return proc

    def vtysh(self, node: str, *commands: str) -> str:
        argv = ["vtysh", "--vty_socket", str(self.node_dir(node) / "frr")]
        for c in commands:
            argv += ["-c", c]
        return self.exec(node, argv).stdout

    def vtysh_json(self, node: str, command: str) -> Any:
        out = self.vtysh(node, command)
        try:
            return json.loads(out)
        except ValueError as e:
            raise LabError(f"{node}: '{command}' did not return JSON: {out[:200]}") from e

    def save(self) -> None:
        tmp = self.state_dir / "state.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(self.state_dir / "state.json")


def _frr_dir_setup(node_dir: Path, node: Node) -> Path:
    frr_dir = node_dir / "frr"
    frr_dir.mkdir(parents=True, exist_ok=True)
    conf = node.frr_files.get("frr.conf")
    (frr_dir / "frr.conf").write_text(conf.read_text() if conf else f"hostname {node.name}\n")
    vty = node.frr_files.get("vtysh.conf")
    (frr_dir / "vtysh.conf").write_text(vty.read_text() if vty else "")
    shutil.chown(node_dir, "frr", "frr")
    for p in [frr_dir, *frr_dir.iterdir()]:
        shutil.chown(p, "frr", "frr")
    return frr_dir


def start_frr(lab: Lab, node: Node) -> list[str]:
    node_dir = lab.node_dir(node.name)
    frr_dir = _frr_dir_setup(node_dir, node)
    daemons = parse_daemons_file(node.frr_files.get("daemons"))
    options = parse_daemon_options(node.frr_files.get("daemons"))
    ns = lab.netns(node.name)
    zserv = frr_dir / "zserv.api"
    for d in daemons:
        binary = FRR_BIN / d
        if not binary.exists():
            raise LabError(f"{node.name}: FRR daemon {binary} is not installed")
        # explicit -f: the host's /etc/frr/frr.conf must never leak into a lab node
        run(["ip", "netns", "exec", ns, str(binary), "-d", "-u", "frr", "-g", "frr", "-P", "0",
             "-A", "127.0.0.1", "-f", str(frr_dir / "frr.conf"), "-i", str(frr_dir / f"{d}.pid"),
             "-z", str(zserv), "--vty_socket", str(frr_dir),
             "--log", f"file:{frr_dir / (d + '.log')}", *options.get(d, [])])
        if d == "zebra":
            wait_for(zserv.exists, 10, f"{node.name}: zebra's socket {zserv}")
    return daemons


# ----------------------------------------------------------------------------- mpsad

MPSAD_CONF = "/etc/mpsa/mpsad.json"


def _private_path(node_dir: Path, value: str) -> str:
    """/etc/mpsa/<rest> -> <node dir>/etc/mpsa/<rest> (containerlab binds land there)."""
    return str(node_dir / value.lstrip("/")) if value.startswith("/etc/mpsa/") else value


def rewrite_mpsad_config(doc: dict[str, Any], node_dir: Path) -> dict[str, Any]:
    """The node's private copy of mpsad.json: the same configuration, but every path it names is
    the node's own (see the module docstring), so nodes never share a file or a socket."""
    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return _private_path(node_dir, v) if isinstance(v, str) else v
    out = walk(doc)
    out["state_dir"] = str(node_dir / "state")
    frr = out.setdefault("frr", {})
    if isinstance(frr, dict):
        frr["zserv_path"] = str(node_dir / "frr" / "zserv.api")
    api = out.get("api")
    if isinstance(api, dict) and str(api.get("listen", "")).startswith("unix:"):
        api["listen"] = "unix:" + str(node_dir / "mpsad-api.sock")
    ike = out.get("ike")
    if isinstance(ike, dict) and ike.get("keylog_file"):
        ike["keylog_file"] = str(node_dir / "log" / "ike-keylog.txt")
    return out


def _mpsad_api(conf: dict[str, Any]) -> tuple[str, int] | str:
    """(host, port) of the TCP status API, or the unix socket path."""
    listen = str((conf.get("api") or {}).get("listen", "127.0.0.1:7979"))
    if listen.startswith("unix:"):
        return listen[5:]
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def _tcp_listening(pid: int, host: str, port: int) -> bool:
    """Whether the process's network namespace has a TCP listener on host:port (reads
    /proc/<pid>/net/tcp{,6}: no process start, which costs ~50 ms in the VM)."""
    want_port = f"{port:04X}"
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            return False
        for line in lines:
            f = line.split()
            if len(f) > 3 and f[3] == "0A" and f[1].endswith(":" + want_port):
                return True
    return False


def pid_alive(pid: int) -> bool:
    """True while pid runs (a zombie child of ours is reaped and counts as gone)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def deep_merge(base: Any, override: Any) -> Any:
    """override's values replace base's; objects merge key by key (lists are replaced)."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: deep_merge(base.get(k), v) for k, v in override.items()}}
    return override


def mpsad_log(lab: "Lab", node: str) -> Path:
    return lab.node_dir(node) / "log" / "mpsad.log"


def start_mpsad(lab: "Lab", node: str, wait_s: float = 30) -> int | None:
    """Starts mpsad on node (if it binds mpsad.json and the lab has an mpsad binary); waits until
    its status API listens. Returns the pid, or None when this node runs no mpsad."""
    binary = lab.state.get("mpsad")
    nstate = lab.state["nodes"][node]
    if not binary or MPSAD_CONF not in nstate.get("binds", {}):
        return None
    old = nstate.get("mpsad_pid")
    if old and pid_alive(old):
        raise LabError(f"{node}: mpsad already runs (pid {old})")
    nd = lab.node_dir(node)
    src = Path(nstate["binds"][MPSAD_CONF])
    try:
        doc = json.loads(src.read_text())
    except ValueError as e:
        raise LabError(f"{node}: {MPSAD_CONF} is not JSON: {e}") from e
    # Test-only changes (e.g. a short group lifetime), recorded in the state by lab_up.
    doc = deep_merge(doc, lab.state.get("mpsad_overrides", {}).get(node, {}))
    conf = rewrite_mpsad_config(doc, nd)
    private = nd / "mpsad.json"
    private.write_text(json.dumps(conf, indent=2) + "\n")
    (nd / "state").mkdir(exist_ok=True)
    log = mpsad_log(lab, node)
    log.parent.mkdir(exist_ok=True)
    with log.open("a") as f:
        f.write(f"=== labrun: starting {binary} -c {private} at {time.time():.3f}\n")
        f.flush()
        proc = subprocess.Popen(["ip", "netns", "exec", lab.netns(node), binary, "-c",
                                 str(private)], stdin=subprocess.DEVNULL, stdout=f,
                                stderr=subprocess.STDOUT, start_new_session=True)
    # `ip netns exec` execs the command: proc.pid is mpsad's pid.
    nstate["mpsad_pid"] = proc.pid
    nstate["mpsad_config"] = str(private)
    lab.save()
    api = _mpsad_api(conf)

    def ready() -> bool:
        if not pid_alive(proc.pid):
            tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
            raise LabError(f"{node}: mpsad exited during start-up; {log}:\n{tail}")
        if isinstance(api, str):
            return Path(api).exists()
        return _tcp_listening(proc.pid, *api)
    wait_for(ready, wait_s, f"{node}: mpsad's status API {api}", interval=0.1)
    return proc.pid


def kill_mpsad(lab: "Lab", node: str, sig: int = signal.SIGTERM, wait_s: float = 20) -> int:
    """Signals the node's mpsad and waits until it is gone. Returns the pid it had."""
    pid = lab.state["nodes"][node].get("mpsad_pid")
    if not pid or not pid_alive(pid):
        raise LabError(f"{node}: mpsad is not running")
    os.kill(pid, sig)
    wait_for(lambda: not pid_alive(pid), wait_s, f"{node}: mpsad (pid {pid}) to exit")
    return pid


def start_node(lab: "Lab", node: str) -> None:
    """Starts a node marked MPSA_START=later: its FRR daemons, then its mpsad."""
    nstate = lab.state["nodes"].get(node)
    if nstate is None:
        raise LabError(f"no node '{node}' in lab {lab.state['name']}")
    if nstate.get("started", True):
        raise LabError(f"{node}: already started")
    topo = parse_topology(lab.state["topology"])
    n = topo.nodes[node]
    if n.frr_files and lab.state.get("frr", True):
        nstate["frr"] = start_frr(lab, n)
    nstate["started"] = True
    lab.save()
    start_mpsad(lab, node)


def lab_up(topo_path: str, name: str | None = None, state_dir: str | None = None,
           with_frr: bool = True, mpsad: str | None = None,
           mpsad_overrides: dict[str, dict[str, Any]] | None = None) -> Lab:
    """Builds the lab. mpsad: the binary to run on nodes that bind /etc/mpsa/mpsad.json (None:
    no mpsad, e.g. for FRR-only tests on a kernel without ESP). mpsad_overrides: per node, JSON
    merged into its mpsad.json copy (tests: short lifetimes...)."""
    topo = parse_topology(topo_path)
    if mpsad is not None:
        mpsad = str(Path(mpsad).resolve())
        if not os.access(mpsad, os.X_OK):
            raise LabError(f"mpsad binary {mpsad} is not executable")
    run_id = secrets.token_hex(3)
    lab_name = name or f"{topo.name}-{run_id}"
    sdir = Path(state_dir) if state_dir else STATE_ROOT / lab_name
    if (sdir / "state.json").exists():
        raise LabError(f"{sdir}: a lab is already recorded there (run 'down' first)")
    sdir.mkdir(parents=True, exist_ok=True)
    state = {
        "name": lab_name, "topology": str(topo.path), "owner_pid": os.getppid(),
        "created": time.time(), "nodes": {}, "links": [], "frr": with_frr, "mpsad": mpsad,
        "mpsad_overrides": mpsad_overrides or {},
    }
    lab = Lab(sdir, state)
    for n in topo.nodes.values():
        state["nodes"][n.name] = {
            "netns": f"{lab_name}-{n.name}", "labels": n.labels, "image": n.image,
            "frr": [], "binds": {}, "started": not n.start_later,
        }
    lab.save()  # recorded before anything is created, so `down` can always clean up
    try:
        for n in topo.nodes.values():
            ns = lab.netns(n.name)
            run(["ip", "netns", "add", ns])
            nd = lab.node_dir(n.name)
            nd.mkdir(parents=True, exist_ok=True)
            for dst, src in n.other_binds.items():
                target = nd / dst.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
                state["nodes"][n.name]["binds"][dst] = str(target)
            # Loopback up; no DAD so addresses are usable at once (tests poll, never sleep).
            run(["ip", "netns", "exec", ns, "sh", "-c",
                 "ip link set lo up && sysctl -qw net.ipv6.conf.all.accept_dad=0 "
                 "net.ipv6.conf.default.accept_dad=0"])
        batch = "".join(
            f"link add {l.a_if} netns {lab.netns(l.a)} type veth peer name {l.b_if} "
            f"netns {lab.netns(l.b)}\n" for l in topo.links)
        if batch:
            run(["ip", "-batch", "-"], input_text=batch)
        for l in topo.links:
            state["links"].append([f"{l.a}:{l.a_if}", f"{l.b}:{l.b_if}"])
        for n in topo.nodes.values():
            ifs = [l.a_if for l in topo.links if l.a == n.name] + \
                  [l.b_if for l in topo.links if l.b == n.name]
            if ifs:
                run(["ip", "-n", lab.netns(n.name), "-batch", "-"],
                    input_text="".join(f"link set {i} up\n" for i in ifs))
            if n.exec_cmds:
                env = {**os.environ, **n.env}
                script = "set -e\n" + "\n".join(n.exec_cmds) + "\n"
                proc = subprocess.run(["ip", "netns", "exec", lab.netns(n.name), "sh", "-c",
                                       script], capture_output=True, text=True, env=env)
                if proc.returncode != 0:
                    raise LabError(f"{n.name}: exec failed ({proc.returncode}): "
                                   f"{proc.stderr.strip()}")
        lab.save()
        if with_frr:
            for n in topo.nodes.values():
                if n.frr_files and not n.start_later:
                    state["nodes"][n.name]["frr"] = start_frr(lab, n)
                    lab.save()
        for n in topo.nodes.values():
            if not n.start_later:
                start_mpsad(lab, n.name)
    except BaseException:
        lab_down(sdir)
        raise
    return lab


def lab_down(state_dir: str | Path) -> list[str]:
    """Tear a lab down completely; safe to call on a half-built lab and more than once."""
    sdir = Path(state_dir)
    problems: list[str] = []
    try:
        lab = Lab.load(sdir)
    except LabError:
        return problems
    namespaces = [n["netns"] for n in lab.state["nodes"].values()]
    existing = set(subprocess.run(["ip", "netns", "list"], capture_output=True,
                                  text=True).stdout.split())
    namespaces = [ns for ns in namespaces if ns in existing]
    # Every process in a node's namespace (FRR, mpsad, pings...) goes: TERM, then KILL.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _pids_in(namespaces)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if pids and sig == signal.SIGTERM:
            try:
                wait_for(lambda: not _pids_in(namespaces), 3, "lab processes to exit")
            except LabError:
                pass
    left = _pids_in(namespaces)
    if left:
        problems.append(f"processes survived SIGKILL: {left}")
    for ns in namespaces:
        proc = run(["ip", "netns", "del", ns], check=False)
        if proc.returncode != 0:
            problems.append(f"ip netns del {ns}: {proc.stderr.strip()}")
    shutil.rmtree(sdir, ignore_errors=True)
    return problems


def _pids_in(namespaces: list[str]) -> list[int]:
    pids: list[int] = []
    for ns in namespaces:
        out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]
    return pids


def lab_gc() -> list[str]:
    """Remove labs whose creating process no longer exists (left by a killed test)."""
    removed = []
    if not STATE_ROOT.exists():
        return removed
    for sdir in STATE_ROOT.iterdir():
        try:
            state = json.loads((sdir / "state.json").read_text())
        except (OSError, ValueError):
            continue
        pid = state.get("owner_pid", 0)
        if pid and Path(f"/proc/{pid}").exists():
            continue
        lab_down(sdir)
        removed.append(str(sdir))
    return removed


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="labrun", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="bring a topology up")
    up.add_argument("topology")
    up.add_argument("--name")
    up.add_argument("--state-dir")
    up.add_argument("--no-frr", action="store_true")
    up.add_argument("--mpsad", default=os.environ.get("MPSA_MPSAD"),
                    help="mpsad binary for nodes binding /etc/mpsa/mpsad.json ($MPSA_MPSAD)")
    for verb, text in (("start-node", "start a node marked MPSA_START=later (FRR, mpsad)"),
                       ("start-mpsad", "start mpsad on a node"),
                       ("kill-mpsad", "signal a node's mpsad and wait for it to exit"),
                       ("restart-mpsad", "kill a node's mpsad, then start it again")):
        sp = sub.add_parser(verb, help=text)
        sp.add_argument("state_dir")
        sp.add_argument("node")
        if verb in ("kill-mpsad", "restart-mpsad"):
            sp.add_argument("--signal", default="TERM", help="TERM (default), KILL, ...")
    down = sub.add_parser("down", help="tear a lab down")
    down.add_argument("state_dir")
    ex = sub.add_parser("exec", help="run a command in a node")
    ex.add_argument("state_dir")
    ex.add_argument("node")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    vt = sub.add_parser("vtysh", help="run vtysh commands on a node")
    vt.add_argument("state_dir")
    vt.add_argument("node")
    vt.add_argument("-c", dest="commands", action="append", required=True)
    sub.add_parser("gc", help="remove labs whose creator is gone")
    chk = sub.add_parser("check", help="parse a topology and print what would be built")
    chk.add_argument("topology")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "up":
            lab = lab_up(args.topology, args.name, args.state_dir, not args.no_frr, args.mpsad)
            print(lab.state_dir)
        elif args.cmd in ("start-node", "start-mpsad", "kill-mpsad", "restart-mpsad"):
            lab = Lab.load(args.state_dir)
            lab.netns(args.node)  # a clear error for an unknown node
            if args.cmd == "start-node":
                start_node(lab, args.node)
            if args.cmd in ("kill-mpsad", "restart-mpsad"):
                try:
                    sig = signal.Signals["SIG" + args.signal.upper().removeprefix("SIG")]
                except KeyError:
                    raise LabError(f"unknown signal {args.signal}") from None
                kill_mpsad(lab, args.node, sig)
            if args.cmd in ("start-mpsad", "restart-mpsad"):
                if start_mpsad(lab, args.node) is None:
                    raise LabError(f"{args.node}: no mpsad here (no {MPSAD_CONF} bind, or the "
                                   "lab was brought up without --mpsad)")
        elif args.cmd == "down":
            problems = lab_down(args.state_dir)
            for p in problems:
                print(f"labrun: {p}", file=sys.stderr)
            return 1 if problems else 0
        elif args.cmd == "exec":
            cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
            if not cmd:
                raise LabError("exec: no command given")
            lab = Lab.load(args.state_dir)
            return subprocess.run(["ip", "netns", "exec", lab.netns(args.node), *cmd]).returncode
        elif args.cmd == "vtysh":
            print(Lab.load(args.state_dir).vtysh(args.node, *args.commands), end="")
        elif args.cmd == "gc":
            for r in lab_gc():
                print(f"labrun: removed {r}")
        elif args.cmd == "check":
            topo = parse_topology(args.topology)
            print(json.dumps({
                "name": topo.name,
                "nodes": {n.name: {"exec": len(n.exec_cmds), "frr": sorted(n.frr_files),
                                   "mpsad": MPSAD_CONF in n.other_binds,
                                   "start": "later" if n.start_later else "now",
                                   "daemons": parse_daemons_file(n.frr_files.get("daemons"))
                                   if n.frr_files else []}
                          for n in topo.nodes.values()},
                "links": [[f"{l.a}:{l.a_if}", f"{l.b}:{l.b_if}"] for l in topo.links],
            }, indent=2))
    except LabError as e:
        print(f"labrun: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
