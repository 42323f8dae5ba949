#!/usr/bin/python3
"""Unit tests of the lab runner's topology parsing (no namespaces, no root needed)."""

import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labrun  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def write_topo(text: str, files: dict[str, str] | None = None) -> Path:
    d = Path(tempfile.mkdtemp(prefix="labrun-test-"))
    for name, content in (files or {}).items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(content)
    p = d / "t.clab.yml"
    p.write_text(textwrap.dedent(text))
    return p


class ParseShippedTopology(unittest.TestCase):
    def test_mpsa_3cpe(self):
        topo = labrun.parse_topology(REPO / "containerlab" / "mpsa-3cpe.clab.yml")
        self.assertEqual(topo.name, "mpsa-3cpe")
        self.assertEqual(set(topo.nodes), {"isp", "gw", "cpe1", "cpe2", "cpe3", "cpe4",
                                           "h1", "h2", "h3", "h4"})
        self.assertEqual(len(topo.links), 9)
        self.assertEqual([n for n, v in topo.nodes.items() if v.start_later], ["cpe4"])
        for name in ("gw", "cpe1", "cpe2", "cpe3", "cpe4"):
            self.assertEqual(set(topo.nodes[name].other_binds),
                             {"/etc/mpsa/mpsad.json", "/etc/mpsa/psk"}, name)
        gw = topo.nodes["gw"]
        self.assertEqual(set(gw.frr_files), {"daemons", "frr.conf"})
        self.assertEqual(labrun.parse_daemons_file(gw.frr_files["daemons"]), ["zebra", "bgpd"])
        self.assertEqual(topo.nodes["h1"].frr_files, {})
        self.assertIn("ip addr add 100.64.1.2/24 dev eth1", topo.nodes["cpe1"].exec_cmds)
        self.assertEqual(topo.nodes["cpe1"].image, "mpsa/node:latest")  # from defaults


class MpsadConfigRewrite(unittest.TestCase):
    def test_paths_become_the_nodes_own(self):
        nd = Path("/tmp/lab/nodes/cpe1")
        doc = {"role": "cpe", "credentials": {"psk_file": "/etc/mpsa/psk"},
               "ike": {"listen": ["100.64.1.2"], "keylog_file": "/var/log/k"},
               "frr": {"release": "8.4", "zserv_path": "/run/frr/zserv.api"},
               "api": {"listen": "unix:/run/mpsa/api.sock"}, "state_dir": "/var/lib/mpsa",
               "static_routes": [{"prefix": "10.9.0.0/24", "peer": "100.64.9.2"}]}
        out = labrun.rewrite_mpsad_config(doc, nd)
        self.assertEqual(out["credentials"]["psk_file"], "/tmp/lab/nodes/cpe1/etc/mpsa/psk")
        self.assertEqual(out["state_dir"], "/tmp/lab/nodes/cpe1/state")
        self.assertEqual(out["frr"], {"release": "8.4",
                                      "zserv_path": "/tmp/lab/nodes/cpe1/frr/zserv.api"})
        self.assertEqual(out["api"]["listen"], "unix:/tmp/lab/nodes/cpe1/mpsad-api.sock")
        self.assertEqual(out["ike"]["keylog_file"], "/tmp/lab/nodes/cpe1/log/ike-keylog.txt")
        self.assertEqual(out["ike"]["listen"], ["100.64.1.2"])
        self.assertEqual(out["static_routes"], doc["static_routes"])
        self.assertEqual(doc["state_dir"], "/var/lib/mpsa")  # the original is untouched

    def test_tcp_api_kept(self):
        out = labrun.rewrite_mpsad_config({"api": {"listen": "127.0.0.1:7979"}}, Path("/n"))
        self.assertEqual(out["api"]["listen"], "127.0.0.1:7979")
        self.assertEqual(labrun._mpsad_api(out), ("127.0.0.1", 7979))
        self.assertEqual(labrun._mpsad_api({"api": {"listen": "[::1]:80"}}), ("::1", 80))


class ParseErrors(unittest.TestCase):
    def test_bad_start_marker(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {a: {env: {MPSA_START: sometime}}}
            """, "MPSA_START: must be 'now' or 'later'")

    def assertLabError(self, text, fragment, files=None):
        with self.assertRaises(labrun.LabError) as ctx:
            labrun.parse_topology(write_topo(text, files))
        self.assertIn(fragment, str(ctx.exception))

    def test_not_a_topology(self):
        self.assertLabError("name: x\n", "no 'topology' key")

    def test_missing_name(self):
        self.assertLabError("topology:\n  nodes: {a: {}}\n", "'name' must be")

    def test_unknown_node_in_link(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {a: {}}
              links:
                - endpoints: ["a:eth1", "b:eth1"]
            """, "unknown node 'b'")

    def test_interface_used_twice(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {a: {}, b: {}, c: {}}
              links:
                - endpoints: ["a:eth1", "b:eth1"]
                - endpoints: ["a:eth1", "c:eth1"]
            """, "used by two links")

    def test_interface_name_too_long(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {a: {}, b: {}}
              links:
                - endpoints: ["a:averyveryverylongname", "b:eth1"]
            """, "bad interface name")

    def test_unsupported_kind(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {br: {kind: bridge}}
            """, "kind 'bridge' is not supported")

    def test_unsupported_node_key(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {a: {ports: ["80:80"]}}
            """, "unsupported key(s) ['ports']")

    def test_mgmt_rejected(self):
        self.assertLabError("""
            name: t
            mgmt: {network: x}
            topology:
              nodes: {a: {}}
            """, "'mgmt' is not supported")

    def test_bind_missing_source(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {a: {binds: ["nope.conf:/etc/frr/frr.conf"]}}
            """, "does not exist")

    def test_bind_unsupported_target(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {a: {binds: ["x.conf:/var/lib/x.conf"]}}
            """, "not supported", files={"x.conf": "x"})

    def test_exec_must_be_list_of_strings(self):
        self.assertLabError("""
            name: t
            topology:
              nodes: {a: {exec: "ip link"}}
            """, "must be a list of strings")


class Precedence(unittest.TestCase):
    def test_node_overrides_kind_overrides_defaults(self):
        p = write_topo("""
            name: t
            topology:
              defaults: {image: d, env: {A: "1", B: "1"}}
              kinds:
                linux: {image: k, env: {B: "2"}}
              nodes:
                a: {env: {C: "3"}}
                b: {image: n}
            """)
        topo = labrun.parse_topology(p)
        self.assertEqual(topo.nodes["a"].image, "k")
        self.assertEqual(topo.nodes["b"].image, "n")
        self.assertEqual(topo.nodes["a"].env, {"A": "1", "B": "2", "C": "3"})

    def test_startup_config_is_frr_conf(self):
        p = write_topo("""
            name: t
            topology:
              nodes: {a: {startup-config: a.conf}}
            """, files={"a.conf": "hostname a\n"})
        self.assertEqual(labrun.parse_topology(p).nodes["a"].frr_files["frr.conf"].name, "a.conf")


class DaemonsFile(unittest.TestCase):
    def test_enabled_daemons(self):
        d = Path(tempfile.mkdtemp()) / "daemons"
        d.write_text('zebra=no\nbgpd=yes\nospfd=no\nstaticd="yes"\n# bfdd=yes\nvtysh_enable=yes\n')
        self.assertEqual(labrun.parse_daemons_file(d), ["zebra", "bgpd", "staticd"])

    def test_daemon_options_keep_own_paths(self):
        d = Path(tempfile.mkdtemp()) / "daemons"
        d.write_text('zebra_options="  -A 127.0.0.1 -s 90000000 -f /etc/frr/frr.conf"\n'
                     "bgpd_options='-A 127.0.0.1 --vty_socket=/x -M rpki'\n"
                     'foo_options="-x"\n')
        self.assertEqual(labrun.parse_daemon_options(d),
                         {"zebra": ["-s", "90000000"], "bgpd": ["-M", "rpki"]})

    def test_default_without_file(self):
        self.assertEqual(labrun.parse_daemons_file(None), ["zebra", "bgpd"])


if __name__ == "__main__":
    unittest.main()
