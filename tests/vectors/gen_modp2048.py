#!/usr/bin/python3
"""Independent MODP group 14 (RFC 3526 section 3, g = 2) vector for
tests/unit/ike/crypto_dh_test.cpp, with Python's built-in modular exponentiation.

KE data and g^ir are big-endian and left-padded to 256 octets (RFC 7296 3.4)."""

P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
    "955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)


def octets(value):
    return value.to_bytes(256, "big").hex()


def main():
    x_i = int.from_bytes(bytes(range(0x11, 0x11 + 32)), "big")
    x_r = int.from_bytes(bytes(range(0xa1, 0xa1 + 32)), "big")
    print("private i ", x_i.to_bytes(32, "big").hex())
    print("private r ", x_r.to_bytes(32, "big").hex())
    print("public i  ", octets(pow(2, x_i, P)))
    print("public r  ", octets(pow(2, x_r, P)))
    print("shared    ", octets(pow(2, x_i * x_r, P)))


if __name__ == "__main__":
    main()
