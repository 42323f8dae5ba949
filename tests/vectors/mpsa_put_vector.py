#!/usr/bin/env python3
"""MPSA_PUT Notify payload with the parameters of the example in
draft-yamaya-ipsecme-mpsa-04 3.2.2 (AES-CBC-256, PRF HMAC-SHA1, HMAC-SHA1-96), assembled word by
word from the figure with struct.pack, independently of the C++ encoder. The printed hex is
pasted into tests/unit/mpsa/mpsa_put_test.cpp.

Deviations from the figure, both deliberate and covered by the issue:
  * ROLL1/ROLL2 carry attribute types 16387/16388 (the draft's text), not 16386 (its figure);
  * the last transform (ROLL2) has 0 ("last") in its first octet, as the generic format says.
"""
import struct

SPI = 0x4D505341  # "MPSA"
NONCE = bytes(range(0x10, 0x30))  # 32 octets
SK_D = bytes(range(0xA0, 0xB4))  # 20 octets = preferred key length of PRF_HMAC_SHA1
LIFETIME, ROLL1, ROLL2 = 3600, 30, 60


def transform(last, ttype, tid, attrs):
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attrs), ttype, 0, tid) + attrs


def tlv(atype, value):
    return struct.pack("!HH", atype, len(value)) + value


def tv(atype, value):
    return struct.pack("!HH", 0x8000 | atype, value)


def example(roll_attr1=16387, roll_attr2=16388):
    transforms = [
        transform(False, 1, 12, tv(14, 256)),  # ENCR_AES_CBC, key length 256
        transform(False, 2, 2, b""),  # PRF_HMAC_SHA1
        transform(False, 3, 2, b""),  # AUTH_HMAC_SHA1_96
        transform(False, 241, 1, tlv(16384, NONCE)),
        transform(False, 242, 1, tlv(16385, SK_D)),
        transform(False, 243, 1, tlv(16386, struct.pack("!I", LIFETIME))),
        transform(False, 244, 1, tlv(roll_attr1, struct.pack("!I", ROLL1))),
        transform(True, 245, 1, tlv(roll_attr2, struct.pack("!I", ROLL2))),
    ]
    body = b"".join(transforms)
    proposal = struct.pack("!BBHBBBBI", 0, 0, 12 + len(body), 1, 3, 4, len(transforms), SPI) + body
    notify = struct.pack("!BBHI", 3, 4, 40960, SPI) + proposal
    return struct.pack("!BBH", 0, 0, 4 + len(notify)) + notify


if __name__ == "__main__":
    print("text values (16387/16388):", example().hex())
    print("figure values (16386):    ", example(16386, 16386).hex())
