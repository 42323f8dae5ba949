#!/bin/bash
# Runs INSIDE the VM guest (tests/vm/vmrun). Proves the dataplane mpsa programs: two namespaces
# joined by veth, an xfrm interface in each, and ONE ESP tunnel-mode SA (same SPI, same keys)
# used for both directions on both sides -- a shared group SA, hence replay window 0 -- with
# if_id-bound policies and routes via the xfrm interface. For AES-CBC + HMAC-SHA2-256 and
# AES-GCM-16, over IPv4 and IPv6 outer addresses, pinging IPv4 and IPv6 inner addresses.
set -euo pipefail
readonly SPI=0x4d505341 IFID=7001
readonly CBC_KEY=0x6d70736120636263206b65792030303030303030303030303030303030303031  # 32 B
readonly SHA_KEY=0x6d7073612073686132353620696e74656720303030303030303030303030303032  # 32 B
readonly GCM_KEY=0x6d7073612067636d206b657920303030303030303030303030303030303030330a0b0c0d  # 32 B + salt
run_id=$$
A=dpa-$run_id B=dpb-$run_id
fail() { echo "FAIL: $*"; exit 1; }
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; }
trap cleanup EXIT

setup() {  # $1 = outer family
    cleanup
    ip netns add "$A"
    ip netns add "$B"
    ip link add ul netns "$A" type veth peer name ul netns "$B"
    local n
    for n in "$A" "$B"; do
        ip -n "$n" link set lo up
        ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        ip -n "$n" link set ul up
        ip -n "$n" link add lan type dummy
        ip -n "$n" link set lan up
    done
    ip -n "$A" addr add 192.0.2.1/24 dev ul
    ip -n "$B" addr add 192.0.2.2/24 dev ul
    ip -n "$A" addr add 2001:db8:ff::1/64 dev ul nodad
    ip -n "$B" addr add 2001:db8:ff::2/64 dev ul nodad
    ip -n "$A" addr add 10.1.0.1/24 dev lan
    ip -n "$B" addr add 10.2.0.1/24 dev lan
    ip -n "$A" addr add fd00:1::1/64 dev lan nodad
    ip -n "$B" addr add fd00:2::1/64 dev lan nodad
    if [[ $1 == 4 ]]; then OA=192.0.2.1 OB=192.0.2.2; else OA=2001:db8:ff::1 OB=2001:db8:ff::2; fi
    for n in "$A" "$B"; do
        ip -n "$n" link add mpsa0 type xfrm dev ul if_id $IFID
        ip -n "$n" link set mpsa0 up
    done
    ip -n "$A" route add 10.2.0.0/24 dev mpsa0 src 10.1.0.1
    ip -n "$B" route add 10.1.0.0/24 dev mpsa0 src 10.2.0.1
    ip -n "$A" -6 route add fd00:2::/64 dev mpsa0 src fd00:1::1
    ip -n "$B" -6 route add fd00:1::/64 dev mpsa0 src fd00:2::1
}

install_group_sa() {  # $1 = cbc|gcm: the same state, both directions, in both namespaces
    local alg
    if [[ $1 == gcm ]]; then
        alg=(aead 'rfc4106(gcm(aes))' "$GCM_KEY" 128)
    else
        alg=(enc 'cbc(aes)' "$CBC_KEY" auth-trunc 'hmac(sha256)' "$SHA_KEY" 128)
    fi
    local n src dst
    for n in "$A" "$B"; do
        for pair in "$OA $OB" "$OB $OA"; do
            read -r src dst <<<"$pair"
            ip -n "$n" xfrm state add src "$src" dst "$dst" proto esp spi $SPI mode tunnel \
                replay-window 0 if_id $IFID "${alg[@]}" flag af-unspec
        done
    done
    # Route-based: wildcard selectors; if_id binds the policies to mpsa0.
    local me peer
    for side in "$A $OA $OB" "$B $OB $OA"; do
        read -r n me peer <<<"$side"
        for fam in 0.0.0.0/0 ::/0; do
            ip -n "$n" xfrm policy add dir out src $fam dst $fam if_id $IFID \
                tmpl src "$me" dst "$peer" proto esp spi $SPI mode tunnel
            ip -n "$n" xfrm policy add dir in src $fam dst $fam if_id $IFID \
                tmpl src "$peer" dst "$me" proto esp mode tunnel
        done
    done
}

packets_of_states() {  # packet counters of every state in namespace $1
    ip -n "$1" -s xfrm state | sed -n 's/.* \([0-9]*\)(packets).*/\1/p' | tr '\n' ' '
}

run_case() {  # $1 = outer family, $2 = alg
    echo "=== outer IPv$1, $2"
    setup "$1"
    install_group_sa "$2"
    ip netns exec "$A" ping -q -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1 >/dev/null || fail "IPv4 A->B ($1/$2)"
    ip netns exec "$B" ping -q -c 3 -i 0.2 -W 2 -I 10.2.0.1 10.1.0.1 >/dev/null || fail "IPv4 B->A ($1/$2)"
    ip netns exec "$A" ping -q -c 3 -i 0.2 -W 2 -I fd00:1::1 fd00:2::1 >/dev/null || fail "IPv6 A->B ($1/$2)"
    local n c counters
    for n in "$A" "$B"; do
        counters=$(packets_of_states "$n")
        echo "  $n: SA packet counters: $counters"
        [[ $(wc -w <<<"$counters") -eq 2 ]] || fail "$n: expected 2 states"
        for c in $counters; do [[ $c -gt 0 ]] || fail "$n: a state carried no packet"; done
        [[ $(ip -n "$n" xfrm state) == *"spi $SPI"* ]] || fail "$n: group SPI not installed"
    done
    # The two sides share one SPI and one key: no per-pair state exists anywhere.
    local states
    states=$(ip -n "$A" xfrm state)
    [[ $(grep -c "spi $SPI" <<<"$states") -eq 2 ]] || fail "A: expected the group SPI twice"
    # Negative check: without B's states the tunnel is dark, and B counts ESP with no state --
    # proof that the wire carried ESP, not clear text.
    local before after
    before=$(ip netns exec "$B" awk '$1 == "XfrmInNoStates" { print $2 }' /proc/net/xfrm_stat)
    ip -n "$B" xfrm state flush
    if ip netns exec "$A" ping -q -c 1 -W 1 -I 10.1.0.1 10.2.0.1 >/dev/null 2>&1; then
        fail "ping still works without B's SA ($1/$2)"
    fi
    after=$(ip netns exec "$B" awk '$1 == "XfrmInNoStates" { print $2 }' /proc/net/xfrm_stat)
    [[ $after -gt $before ]] || fail "B saw no ESP without state (XfrmInNoStates $before -> $after)"
    echo "  XfrmInNoStates on B: $before -> $after"
    echo "=== PASS outer IPv$1 $2"
}

uname -r
for outer in 4 6; do
    for alg in cbc gcm; do run_case $outer $alg; done
done
echo "ALL SHARED-SA DATAPLANE CASES PASSED"
