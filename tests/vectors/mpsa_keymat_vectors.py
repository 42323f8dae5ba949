#!/usr/bin/env python3
"""KEYMAT = prf+(SK_d, Nonce) for MPSA group SAs (draft-yamaya-ipsecme-mpsa-04 3.3.2), computed
with Python's hmac, independently of the C++ code. The encryption key is taken first (for AES-GCM:
key | 4-octet salt, RFC 4106 8.1), then the integrity key. Output pasted into keymat_test.cpp.

prf+(K, S) = T1 | T2 | ...;  T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)
"""
import hashlib
import hmac

SUITES = [
    # name, digest of the PRF, encryption keymat octets, integrity key octets
    ("draft_example", hashlib.sha1, 32, 20),  # AES-CBC-256, PRF-HMAC-SHA1, HMAC-SHA1-96
    ("default_suite", hashlib.sha256, 32, 32),  # AES-CBC-256, PRF-HMAC-SHA2-256, SHA2-256-128
    ("aes_gcm_256", hashlib.sha256, 36, 0),  # AES-GCM-16-256 key + salt, no INTEG
]


def prf_plus(digest, key, seed, length):
    out, t, n = b"", b"", 1
    while len(out) < length:
        t = hmac.new(key, t + seed + bytes([n]), digest).digest()
        out += t
        n += 1
    return out[:length]


if __name__ == "__main__":
    nonce = bytes(range(0x10, 0x30))
    for name, digest, enc_len, integ_len in SUITES:
        sk_d = bytes(range(0xA0, 0xA0 + digest().digest_size))
        keymat = prf_plus(digest, sk_d, nonce, enc_len + integ_len)
        print(name, "encr", keymat[:enc_len].hex(), "integ", keymat[enc_len:].hex())
