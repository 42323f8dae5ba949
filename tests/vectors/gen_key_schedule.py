#!/usr/bin/python3
"""Independent IKEv2 key schedule and PSK AUTH vectors (RFC 7296 2.14, 2.17, 2.18, 2.15) from
Python's hmac, for tests/unit/ike/crypto_keys_test.cpp and crypto_auth_test.cpp.

  SKEYSEED = prf(Ni | Nr, g^ir)
  {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
  rekey:   SKEYSEED = prf_old(SK_d(old), g^ir(new) | Ni | Nr)
  CHILD:   KEYMAT = prf+(SK_d, [g^ir(new) |] Ni | Nr) = encr_i | integ_i | encr_r | integ_r
  PSK:     AUTH = prf(prf(PSK, "Key Pad for IKEv2"), msg | nonce | prf(SK_p, ID body))
"""
import hashlib
import hmac

DIGEST = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
          "sha512": hashlib.sha512}


def prf(name, key, data):
    return hmac.new(key, data, DIGEST[name]).digest()


def prf_plus(name, key, seed, length):
    out, t, n = b"", b"", 1
    while len(out) < length:
        t = prf(name, key, t + seed + bytes([n]))
        out += t
        n += 1
    return out[:length]


def pattern(start, length):
    return bytes((start + i) & 0xFF for i in range(length))


NI = pattern(0x00, 32)
NR = pattern(0x40, 32)
SPI_I = bytes.fromhex("0102030405060708")
SPI_R = bytes.fromhex("f1f2f3f4f5f6f7f8")

# suite: prf, SK_d/SK_p length, SK_a length, SK_e length (with GCM salt), g^ir length
SUITES = {
    "aes256-sha256-modp2048": ("sha256", 32, 32, 32, 256),
    "aes128gcm16-prfsha256-x25519": ("sha256", 32, 0, 20, 32),
    "aes256-sha384-ecp384": ("sha384", 48, 48, 32, 48),
    "aes128-sha1-ecp256": ("sha1", 20, 20, 16, 32),
}


def main():
    for name, (p, kp, ka, ke, glen) in SUITES.items():
        gir = pattern(0x80, glen)
        skeyseed = prf(p, NI + NR, gir)
        total = 3 * kp + 2 * ka + 2 * ke
        keys = prf_plus(p, skeyseed, NI + NR + SPI_I + SPI_R, total)
        print(name)
        print("  skeyseed", skeyseed.hex())
        print("  keys    ", keys.hex())
        sk_d = keys[:kp]
        # rekey of this IKE SA with a new exchange (nonces reversed, g^ir = 0x90.. pattern)
        gir_new = pattern(0x90, glen)
        print("  rekey skeyseed", prf(p, sk_d, gir_new + NR + NI).hex())
        # CHILD_SA with ESP aes256gcm16 (36 octets each direction) and aes128 + sha256_128
        print("  child gcm  ", prf_plus(p, sk_d, NI + NR, 2 * 36).hex())
        print("  child cbc  ", prf_plus(p, sk_d, NI + NR, 2 * (16 + 32)).hex())
        print("  child pfs  ", prf_plus(p, sk_d, gir_new + NI + NR, 2 * 36).hex())

    # PSK AUTH, prf HMAC-SHA-256: initiator's AUTH over its IKE_SA_INIT request.
    psk = b"mpsa test pre-shared key"
    first_message = pattern(0x20, 300)
    sk_pi = pattern(0xA0, 32)
    id_body = bytes([2, 0, 0, 0]) + b"cpe1.example.net"  # ID_FQDN | RESERVED | data
    octets = first_message + NR + prf("sha256", sk_pi, id_body)
    print("psk octets digest (sha256)", hashlib.sha256(octets).hexdigest())
    print("psk auth sha256", prf("sha256", prf("sha256", psk, b"Key Pad for IKEv2"), octets).hex())
    octets384 = first_message + NR + prf("sha384", pattern(0xA0, 48), id_body)
    print("psk auth sha384",
          prf("sha384", prf("sha384", psk, b"Key Pad for IKEv2"), octets384).hex())


if __name__ == "__main__":
    main()
