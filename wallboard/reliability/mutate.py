"""A seeded byte mutator: valid inputs bent into hostile ones (flips, cuts, splices, JSON-ish tokens).

Cheap enough for hundreds of thousands of inputs a minute; hypothesis covers the structured side.
"""

from __future__ import annotations

import random

TOKENS = (b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u0000", b"\\ud800", b"null", b"true", b"-0",
          b"1e999", b"NaN", b"Infinity", b"-1", b"9" * 40, b"0.0000001", b'"type"', b'"ts"', b'"seq"',
          b'"events"', b"\x00", b"\xff", b"\xc3\x28", b"\xe2\x80\xa8", b"\n", b"\r", b" " * 3, b"[]", b"{}",
          b'""', b'"' + b"x" * 300 + b'"', b"\xf0\x9f\x98\x80")


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        n = len(b)
        i = rng.randrange(n + 1)
        if op == 0 and n:  # flip a bit
            j = rng.randrange(n)
            b[j] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # replace a byte
            b[rng.randrange(n)] = rng.randrange(256)
        elif op == 2:  # insert a token
            b[i:i] = rng.choice(TOKENS)
        elif op == 3 and n:  # delete a range
            b[i:i + rng.randint(1, 16)] = b""
        elif op == 4:  # truncate
            del b[i:]
        elif op == 5 and n:  # duplicate a range
            j = rng.randrange(n)
            b[i:i] = b[j:j + rng.randint(1, 32)]
        elif op == 6 and others:  # splice with another seed
            o = rng.choice(others)
            b = b[:i] + o[rng.randrange(len(o) + 1):]
        elif op == 7 and n:  # swap digits: keeps JSON valid, bends values
            digits = [k for k in range(n) if 48 <= b[k] <= 57]
            if digits:
                b[rng.choice(digits)] = rng.randrange(48, 58)
        elif op == 8:  # replace a quoted string's content
            q = [k for k in range(n) if b[k] == 34]
            if len(q) >= 2:
                k = rng.randrange(len(q) - 1)
                b[q[k] + 1:q[k + 1]] = rng.choice(TOKENS)
    return bytes(b)
