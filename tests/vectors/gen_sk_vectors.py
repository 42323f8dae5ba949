#!/usr/bin/python3
"""Independent SK payload vectors (RFC 7296 3.14, RFC 3602, RFC 4868, RFC 5282) for
tests/unit/ike/crypto_cipher_test.cpp.

AES is implemented here from FIPS-197 in plain Python (the standard library has no AES), checked
against FIPS-197 appendix C and the GCM specification's test cases before any vector is printed.
When the `openssl` command is present, the AES-CBC ciphertexts are also cross-checked with
`openssl enc`. HMAC comes from Python's hmac module.

body = IV | ciphertext | ICV
  AES-CBC + HMAC: ICV = HMAC(integ key, aad | IV | ciphertext) truncated
  AES-GCM-16:     nonce = salt (last 4 octets of the key material) | IV, tag = ICV, aad = GCM AAD
"""
import hashlib
import hmac
import shutil
import subprocess


def xtime(a):
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def gmul(a, b):
    r = 0
    while b:
        if b & 1:
            r ^= a
        a = xtime(a)
        b >>= 1
    return r


def rotl8(b, n):
    return ((b << n) | (b >> (8 - n))) & 0xFF


def make_sbox():
    sbox = []
    for a in range(256):
        inv = 0 if a == 0 else next(b for b in range(1, 256) if gmul(a, b) == 1)
        sbox.append(inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63)
    return sbox


SBOX = make_sbox()


def expand_key(key):
    nk = len(key) // 4
    rounds = nk + 6
    words = [list(key[4 * i:4 * i + 4]) for i in range(nk)]
    rcon = 1
    for i in range(nk, 4 * (rounds + 1)):
        temp = list(words[i - 1])
        if i % nk == 0:
            temp = [SBOX[b] for b in temp[1:] + temp[:1]]
            temp[0] ^= rcon
            rcon = xtime(rcon)
        elif nk > 6 and i % nk == 4:
            temp = [SBOX[b] for b in temp]
        words.append([x ^ y for x, y in zip(words[i - nk], temp)])
    return [sum(words[4 * r:4 * r + 4], []) for r in range(rounds + 1)]


def encrypt_block(round_keys, block):
    # state[r + 4c] = byte r of column c, as in FIPS-197 3.4
    s = [b ^ k for b, k in zip(block, round_keys[0])]
    for rnd in range(1, len(round_keys)):
        s = [SBOX[b] for b in s]
        s = [s[r + 4 * ((c + r) % 4)] for c in range(4) for r in range(4)]
        if rnd != len(round_keys) - 1:
            mixed = []
            for c in range(4):
                a = s[4 * c:4 * c + 4]
                mixed += [
                    gmul(a[0], 2) ^ gmul(a[1], 3) ^ a[2] ^ a[3],
                    a[0] ^ gmul(a[1], 2) ^ gmul(a[2], 3) ^ a[3],
                    a[0] ^ a[1] ^ gmul(a[2], 2) ^ gmul(a[3], 3),
                    gmul(a[0], 3) ^ a[1] ^ a[2] ^ gmul(a[3], 2),
                ]
            s = mixed
        s = [b ^ k for b, k in zip(s, round_keys[rnd])]
    return bytes(s)


def aes(key, block):
    return encrypt_block(expand_key(key), block)


def cbc_encrypt(key, iv, plaintext):
    assert len(plaintext) % 16 == 0
    rk = expand_key(key)
    out, prev = b"", iv
    for i in range(0, len(plaintext), 16):
        prev = encrypt_block(rk, bytes(x ^ y for x, y in zip(plaintext[i:i + 16], prev)))
        out += prev
    return out


def gf128_mul(x, y):
    # SP 800-38D 6.3, bit 0 = most significant bit of the block
    r = 0xE1 << 120
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ r if v & 1 else v >> 1
    return z


def ghash(h, data):
    y = 0
    for i in range(0, len(data), 16):
        y = gf128_mul(y ^ int.from_bytes(data[i:i + 16], "big"), h)
    return y


def pad16(b):
    return b + bytes(-len(b) % 16)


def gcm_encrypt(key, nonce, aad, plaintext):
    assert len(nonce) == 12
    rk = expand_key(key)
    h = int.from_bytes(encrypt_block(rk, bytes(16)), "big")
    counter0 = nonce + b"\x00\x00\x00\x01"
    out = b""
    for i in range(0, len(plaintext), 16):
        block = nonce + (2 + i // 16).to_bytes(4, "big")
        stream = encrypt_block(rk, block)
        out += bytes(x ^ y for x, y in zip(plaintext[i:i + 16], stream))
    lengths = (8 * len(aad)).to_bytes(8, "big") + (8 * len(out)).to_bytes(8, "big")
    s = ghash(h, pad16(aad) + pad16(out) + lengths)
    tag = (s ^ int.from_bytes(encrypt_block(rk, counter0), "big")).to_bytes(16, "big")
    return out, tag


def self_test():
    # FIPS-197 appendix C.1 and C.3
    pt = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert aes(bytes(range(16)), pt).hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"
    assert aes(bytes(range(32)), pt).hex() == "8ea2b7ca516745bfeafc49904b496089"
    # GCM specification (McGrew, Viega) test cases 2 and 4
    c, t = gcm_encrypt(bytes(16), bytes(12), b"", bytes(16))
    assert c.hex() == "0388dace60b6a392f328c2b971b2fe78"
    assert t.hex() == "ab6e47d42cec13bdf53a67b21257bddf"
    key = bytes.fromhex("feffe9928665731c6d6a8f9467308308")
    nonce = bytes.fromhex("cafebabefacedbaddecaf888")
    p = bytes.fromhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
    a = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    c, t = gcm_encrypt(key, nonce, a, p)
    assert t.hex() == "5bc94fbc3221a5db94fae95ae7121a47", t.hex()


def openssl_cbc(key, iv, plaintext):
    if shutil.which("openssl") is None:
        return None
    cipher = "-aes-128-cbc" if len(key) == 16 else "-aes-256-cbc"
    return subprocess.run(
        ["openssl", "enc", cipher, "-K", key.hex(), "-iv", iv.hex(), "-nopad"],
        input=plaintext, capture_output=True, check=True).stdout


INTEG = {
    "sha1_96": (hashlib.sha1, 20, 12),
    "sha256_128": (hashlib.sha256, 32, 16),
    "sha384_192": (hashlib.sha384, 48, 24),
    "sha512_256": (hashlib.sha512, 64, 32),
}

# Shared inputs: a 28-octet IKE header followed by a 4-octet SK payload header as aad.
AAD = bytes.fromhex("0011223344556677" "8899aabbccddeeff" "2e202508" "00000001" "00000050"
                    "2900002c")
IV16 = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")
IV8 = bytes.fromhex("0102030405060708")
CBC_PLAINTEXT = bytes(range(0x30, 0x30 + 47)) + b"\x00"  # 47 octets + pad length 0
GCM_PLAINTEXT = b"inner payloads of an IKE_AUTH request" + b"\x00"


def main():
    self_test()
    for bits, integ in ((128, "sha1_96"), (256, "sha256_128"), (256, "sha384_192"),
                        (128, "sha512_256")):
        key = bytes(range(0x10, 0x10 + bits // 8))
        digest, key_len, icv_len = INTEG[integ]
        integ_key = bytes(range(0x80, 0x80 + key_len))
        ct = cbc_encrypt(key, IV16, CBC_PLAINTEXT)
        cross = openssl_cbc(key, IV16, CBC_PLAINTEXT)
        assert cross is None or cross == ct, "openssl enc disagrees"
        icv = hmac.new(integ_key, AAD + IV16 + ct, digest).digest()[:icv_len]
        print(f"aes{bits}-cbc hmac-{integ} (openssl enc {'agrees' if cross else 'absent'})")
        print("  body", (IV16 + ct + icv).hex())
    for bits in (128, 256):
        material = bytes(range(0x20, 0x20 + bits // 8)) + bytes.fromhex("a1b2c3d4")
        key, salt = material[:-4], material[-4:]
        ct, tag = gcm_encrypt(key, salt + IV8, AAD, GCM_PLAINTEXT)
        print(f"aes{bits}gcm16")
        print("  body", (IV8 + ct + tag).hex())
    print("aad", AAD.hex())


if __name__ == "__main__":
    main()
