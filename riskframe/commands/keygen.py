"""``riskframe keygen --out PREFIX``: make an Ed25519 key pair for signing assessments."""

from __future__ import annotations

import argparse
from typing import Any

from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keygen", help="make an Ed25519 key pair for signing assessments (assess --sign, verify --key)",
        description="Write PREFIX.key (the private key, PKCS#8 PEM, readable by you only) and PREFIX.pub "
                    "(the public key, to hand to whoever verifies). Existing files are not replaced "
                    "unless --force is given.")
    parser.add_argument("--out", "-o", required=True, metavar="PREFIX",
                        help="path prefix of the two files, e.g. keys/ci writes keys/ci.key and keys/ci.pub")
    parser.add_argument("--force", action="store_true", help="replace existing key files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.signing import generate_key, write_key_pair

    key = generate_key()
    private, public = write_key_pair(key, args.out, force=args.force)
    echo([f"Private key: {private} (mode 0600; keep it secret, sign with: riskframe assess ... --sign {private})",
          f"Public key:  {public} (share it; verify with: riskframe verify REPORT_DIR --key {public})",
          f"Key id:      {key.public.keyid}"])
    return 0
