#!/usr/bin/env python3
"""Independent prf+ vectors (RFC 7296 2.13) from Python's hmac; output pasted into prf_test.cpp.

prf+(K, S) = T1 | T2 | ...;  T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)
"""
import hashlib
import hmac


def prf_plus(digest, key, seed, length):
    out, t, n = b"", b"", 1
    while len(out) < length:
        t = hmac.new(key, t + seed + bytes([n]), digest).digest()
        out += t
        n += 1
    return out[:length]


if __name__ == "__main__":
    key = bytes(range(32))
    seed = b"mpsa prf+ vector seed"
    for name in ("sha1", "sha256", "sha384", "sha512"):
        print(name, prf_plus(getattr(hashlib, name), key, seed, 100).hex())
