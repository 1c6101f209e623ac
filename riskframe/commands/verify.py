"""``riskframe verify ASSESSMENT_DIR --key PUB``: check signed evidence.

Exit 0 when the signature is the key's and every signed file still has its digest; 1 when the
verification fails (each problem printed, naming its file); 2 on bad usage (no such directory,
no usable public key).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify", help="check a signed assessment: the signature, the reports and every input's digest",
        description="Check the DSSE envelope written by 'riskframe assess --sign' against a public key, then "
                    "recompute the sha256 of every report file and every input it vouches for. Exit 0 "
                    "verified, 1 verification failed, 2 bad usage.")
    parser.add_argument("directory", metavar="ASSESSMENT_DIR", help="the --out directory of 'riskframe assess --sign'")
    parser.add_argument("--key", "-k", required=True, metavar="PUB", help="the signer's public key (PEM)")
    parser.add_argument("--root", metavar="DIR",
                        help="what input paths are relative to: the directory the assessment ran in "
                             "(default: the current directory)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.signing import load_public_key, verify_assessment

    key = load_public_key(args.key)
    result = verify_assessment(args.directory, key, args.root)
    if not result.ok:
        count = len(result.problems)
        echo([*(f"FAILED: {problem}" for problem in result.problems),
              f"Verification FAILED: {count} problem{'s' if count != 1 else ''} (key {result.keyid[:16]})"],
             sys.stderr)
        return 1
    gate = result.predicate.get("gate", {})
    summary = result.predicate.get("summary", {})
    echo([f"Verified: {result.envelope} is signed by key {result.keyid[:16]}; "
          f"{result.checked} files match their signed sha256",
          f"Signed verdict: gate {str(gate.get('decision', '?')).upper()} (fail_on: {gate.get('fail_on', '?')}), "
          f"risk score {summary.get('risk_score', '?')}/100 ({summary.get('level', '?')}), "
          f"assessed {result.predicate.get('createdAt', '?')}"])
    return 0
