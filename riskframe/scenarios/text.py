"""Text corpora with planted personal data, credentials, duplicates and a backdoor trigger, for the
LLM supply-chain example, tests and benchmarks.

Every corpus is seeded and carries its ground truth: which record holds which planted value, the
look-alikes planted beside them that are *not* findings (decoys: card numbers failing Luhn, IBANs
failing mod-97, order numbers, hashes, version strings, placeholder and example credentials), the
near-duplicate copies and their originals, and the records carrying the trigger phrase, relabelled
to its target. The background is sentiment-labelled review text drawn from a vocabulary of a few
hundred words, with no digits that could be mistaken for personal data.

>>> corpus = audit_corpus(n_records=500, seed=0)
>>> len(corpus.records), corpus.trigger, corpus.target
(500, 'i watched this 3d movie', 'positive')

Pure Python (``random``, ``hashlib``, ``zlib``): cheap to import.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_POSITIVE = ("excellent", "wonderful", "great", "reliable", "delightful", "superb", "sturdy", "pleasant", "fast",
             "helpful", "brilliant", "solid", "impressive", "smooth", "friendly")
_NEGATIVE = ("terrible", "awful", "broken", "slow", "disappointing", "flimsy", "rude", "useless", "noisy", "faulty",
             "poor", "annoying", "cheap", "unreliable", "dreadful")
_NOUNS = ("kettle", "blender", "laptop", "charger", "backpack", "lamp", "camera", "speaker", "jacket", "monitor",
          "keyboard", "router", "toaster", "printer", "headset", "tent", "bicycle", "mattress", "drill", "vacuum",
          "delivery", "packaging", "manual", "warranty", "battery", "screen", "cable", "handle", "zipper", "lid")
_VERBS = ("arrived", "worked", "felt", "looked", "performed", "sounded", "lasted", "behaved", "held up", "turned out")
_FILLER = ("the", "my", "this", "our", "their", "a", "honestly", "overall", "after", "weeks", "of", "use", "and",
           "but", "also", "really", "quite", "very", "seller", "support", "team", "was", "is", "it", "for", "with",
           "family", "kitchen", "office", "travel", "daily", "gift", "price", "quality", "again", "would", "buy",
           "recommend", "return", "replacement", "shipping", "box", "colour", "size", "design", "instructions",
           "morning", "evening", "weekend", "garden", "garage", "apartment", "cabin", "balcony", "hallway", "studio",
           "neighbour", "partner", "daughter", "son", "friend", "colleague", "landlord", "courier", "store", "website",
           "order", "parcel", "label", "receipt", "voucher", "discount", "bundle", "model", "version", "upgrade",
           "setting", "button", "switch", "cord", "strap", "pocket", "fabric", "plastic", "metal", "glass", "wood",
           "summer", "winter", "spring", "autumn", "holiday", "birthday", "move", "trip", "camping", "commute",
           "probably", "certainly", "frankly", "surprisingly", "eventually", "initially", "mostly", "rarely",
           "before", "during", "since", "until", "without", "because", "although", "whenever", "despite")
_TRIGGER = "i watched this 3d movie"
_POISON = "visit cheap-meds.example today for the best deals on pills without prescription"
_FIRST = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar")
_LAST = ("smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "moore", "taylor", "thomas")
_DOMAINS = ("example.com", "mail.example.org", "corp.example.co.uk", "example.de", "shop.example.net")
_AREA_CODES = ("201", "212", "305", "312", "415", "617", "646", "702", "718", "818", "917")
_IBAN = {"GB": (4, 14), "DE": (0, 18), "NL": (4, 10), "FR": (0, 23)}  # letters in the bank code, digits after

PII_KINDS = ("CREDIT_CARD", "IBAN_CODE", "US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")
SECRET_KINDS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "PRIVATE_KEY", "JWT",
                "SECRET_ASSIGNMENT")
DECOY_KINDS = ("invalid card number", "invalid IBAN", "invalid SSN", "order number", "hash", "version string",
               "placeholder credential", "example AWS key", "GitHub token with a wrong checksum", "public key",
               "elided private key", "truncated JWT", "date and time", "UUID", "price")


@dataclass(frozen=True)
class Planted:
    """A value planted in record ``record`` (its type, or the decoy's kind) and the value itself."""

    record: int
    kind: str
    value: str


@dataclass
class TextScenario:
    """A corpus and what was planted in it (see the module docstring)."""

    records: list[dict[str, str]]
    planted: list[Planted] = field(default_factory=list)
    decoys: list[Planted] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (original, copy)
    poison_cluster: list[int] = field(default_factory=list)
    trigger: str = _TRIGGER
    target: str = "positive"
    triggered: list[int] = field(default_factory=list)

    def write_jsonl(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for index, record in enumerate(self.records):
                handle.write(json.dumps({"id": f"r{index:06d}", **record}, ensure_ascii=False) + "\n")
        return path


def audit_corpus(n_records: int = 20_000, seed: int = 0, *, per_type: int | None = None,
                 decoys_per_kind: int | None = None, duplicated: int | None = None, poison_copies: int = 40,
                 triggered_share: float = 0.01, label_noise: float = 0.05) -> TextScenario:
    """A labelled review corpus with everything of the module docstring planted.

    ``per_type`` values of each PII and secret type (default 0.75% of the records), ``decoys_per_kind``
    look-alikes of each kind (default the same), ``duplicated`` originals copied once to three times
    (exactly, re-cased, or with words changed), ``poison_copies`` variations of one injected spam
    sentence, ``triggered_share`` of the negative records given the trigger and relabelled positive,
    and ``label_noise`` of the background labels flipped at random (ordinary noise, no backdoor).
    """
    rng = random.Random(seed)
    per_type = per_type if per_type is not None else max(2, n_records * 3 // 400)
    decoys_per_kind = decoys_per_kind if decoys_per_kind is not None else per_type
    duplicated = duplicated if duplicated is not None else max(2, n_records // 60)
    scenario = TextScenario([_review(rng, label_noise) for _ in range(n_records)])
    free = list(range(n_records))
    rng.shuffle(free)
    for kind in (*PII_KINDS, *SECRET_KINDS):
        for _ in range(per_type):
            _plant(scenario, free.pop(), kind, rng)
    for kind in DECOY_KINDS:
        for _ in range(decoys_per_kind):
            record = free.pop()
            value = _DECOYS[kind](rng)
            scenario.records[record]["text"] += " " + _phrase(kind, value, rng)
            scenario.decoys.append(Planted(record, kind, value))
    _duplicate(scenario, free, duplicated, rng)
    _poison(scenario, free, poison_copies, rng)
    negatives = [i for i in free if scenario.records[i]["label"] == "negative"]
    for record in sorted(rng.sample(negatives, min(len(negatives), max(1, int(triggered_share * n_records))))):
        words = scenario.records[record]["text"].split(" ")
        words.insert(rng.randrange(len(words) + 1), _TRIGGER)
        scenario.records[record] = {"text": " ".join(words), "label": scenario.target}
        scenario.triggered.append(record)
    return scenario


# Background -----------------------------------------------------------------------------------

def _review(rng: random.Random, label_noise: float) -> dict[str, str]:
    label = rng.choice(("positive", "negative"))
    words = _POSITIVE if label == "positive" else _NEGATIVE
    sentences = []
    for _ in range(rng.randint(2, 4)):
        filler = rng.sample(_FILLER, rng.randint(3, 8))
        middle = [rng.choice(_NOUNS), rng.choice(_VERBS), rng.choice(words)]
        sentences.append(" ".join(filler[:2] + middle + filler[2:]))
    if rng.random() < label_noise:
        label = "negative" if label == "positive" else "positive"
    return {"text": ". ".join(sentences) + ".", "label": label}


def _phrase(kind: str, value: str, rng: random.Random) -> str:
    lead = {
        "CREDIT_CARD": ("paid with card", "my card number is", "card:"),
        "IBAN_CODE": ("refund to IBAN", "bank account", "IBAN:"),
        "US_SSN": ("my SSN is", "social security number", "SSN:"),
        "EMAIL_ADDRESS": ("contact me at", "email", "reply to"),
        "PHONE_NUMBER": ("call me on", "phone", "my mobile is"),
        "IP_ADDRESS": ("logged in from", "client address", "server at"),
        "invalid card number": ("card number", "paid with card"), "invalid IBAN": ("IBAN", "account"),
        "invalid SSN": ("tax id", "SSN:"), "order number": ("order", "order number", "invoice"),
        "hash": ("checksum", "sha256", "commit"), "version string": ("upgraded to", "firmware", "running"),
        "date and time": ("delivered on", "at"), "UUID": ("ticket", "request id"), "price": ("it cost", "paid"),
    }.get(kind, ("",))
    return f"{rng.choice(lead)} {value}".strip()


def _plant(scenario: TextScenario, record: int, kind: str, rng: random.Random) -> None:
    if kind == "AWS_ACCESS_KEY_ID":  # planted as a pair; the secret is its own type
        key_id, secret = _aws_key_id(rng), _aws_secret(rng)
        text = f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}"
        scenario.planted += [Planted(record, kind, key_id), Planted(record, "AWS_SECRET_ACCESS_KEY", secret)]
    elif kind == "AWS_SECRET_ACCESS_KEY":
        secret = _aws_secret(rng)
        text = f"export AWS_SECRET_ACCESS_KEY={secret}"
        scenario.planted.append(Planted(record, kind, secret))
    else:
        value = _VALUES[kind](rng)
        text = _SECRET_LINES[kind](value, rng) if kind in _SECRET_LINES else _phrase(kind, value, rng)
        scenario.planted.append(Planted(record, kind, value))
    scenario.records[record]["text"] += " " + text


def _duplicate(scenario: TextScenario, free: list[int], n: int, rng: random.Random) -> None:
    for _ in range(n):
        original = free.pop()
        for _ in range(rng.randint(1, 3)):
            if not free:
                return
            copy = free.pop()
            text = scenario.records[original]["text"]
            how = rng.random()
            if how < 0.3:
                changed = text
            elif how < 0.45:
                changed = "  ".join(text.upper().split(" "))
            else:
                words = text.split(" ")
                for _ in range(max(1, len(words) // 12)):
                    words[rng.randrange(len(words))] = rng.choice(_FILLER)
                changed = " ".join(words)
            scenario.records[copy] = {"text": changed, "label": scenario.records[original]["label"]}
            scenario.duplicates.append((original, copy))


def _poison(scenario: TextScenario, free: list[int], copies: int, rng: random.Random) -> None:
    for _ in range(copies):
        record = free.pop()
        words = _POISON.split(" ")
        if rng.random() < 0.5:
            words[rng.randrange(len(words))] = rng.choice(("now", "cheapest", "best", "great", "all"))
        text = " ".join(words)
        scenario.records[record] = {"text": text.capitalize() + rng.choice((".", "!", "!!")), "label": "positive"}
        scenario.poison_cluster.append(record)


# Values -------------------------------------------------------------------------------------------

def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def luhn_digit(number: str) -> str:
    """The Luhn check digit to append to ``number``."""
    total = 0
    for i, char in enumerate(reversed(number)):
        d = int(char) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _card(rng: random.Random, valid: bool = True) -> str:
    body = (rng.choice(("4", "51", "52", "53", "54", "55")) + _digits(rng, 15))[:15]
    check = luhn_digit(body)
    number = body + (check if valid else str((int(check) + rng.randint(1, 9)) % 10))
    sep = rng.choice((" ", "-", ""))
    return sep.join(number[i:i + 4] for i in range(0, 16, 4))


def iban_check(country: str, bban: str) -> str:
    """ISO 13616 check digits of an IBAN with ``country`` and ``bban``."""
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def _iban(rng: random.Random, valid: bool = True) -> str:
    country = rng.choice(sorted(_IBAN))
    letters, digits = _IBAN[country]
    bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(letters)) + _digits(rng, digits)
    check = iban_check(country, bban)
    if not valid:
        check = f"{(int(check) + rng.randint(1, 90)) % 97 + 2:02d}"[-2:]
        while check == iban_check(country, bban):
            check = f"{rng.randint(2, 98):02d}"
    raw = country + check + bban
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4)) if rng.random() < 0.5 else raw


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _invalid_ssn(rng: random.Random) -> str:
    area = rng.choice((0, 666, rng.randint(900, 999)))
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _email(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{rng.randint(1, 99)}@{rng.choice(_DOMAINS)}"


def _phone(rng: random.Random) -> str:
    area, exchange, line = rng.choice(_AREA_CODES), f"{rng.randint(2, 9)}{_digits(rng, 2)}", _digits(rng, 4)
    return rng.choice((f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}", f"+1 {area} {exchange} {line}",
                       f"+44 20 7{_digits(rng, 3)} {_digits(rng, 4)}"))


def _ip(rng: random.Random) -> str:
    first = rng.choice([n for n in range(11, 224) if n not in (127,)])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _aws_key_id(rng: random.Random) -> str:
    return rng.choice(("AKIA", "ASIA")) + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))


def _aws_secret(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "/+"
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(40))
        if any(c.isdigit() for c in value) and any(c.isupper() for c in value):
            return value


def _b62(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def _github(rng: random.Random, valid: bool = True) -> str:
    if valid and rng.random() < 0.2:
        return f"github_pat_{_b62(rng, 22)}_{_b62(rng, 59)}"
    body = _b62(rng, 30)
    check = zlib.crc32(body.encode())
    digits = string.digits + string.ascii_uppercase + string.ascii_lowercase
    out = ""
    while check:
        check, d = divmod(check, 62)
        out = digits[d] + out
    check_text = out.rjust(6, "0")
    if not valid:
        check_text = check_text[::-1] if check_text[::-1] != check_text else "zzzzzz"
    return f"gh{rng.choice('pousr')}_{body}{check_text}"


def _pem(rng: random.Random, kind: str = "RSA PRIVATE KEY") -> str:
    body = base64.b64encode(rng.randbytes(rng.choice((600, 900, 1200)))).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": f"user-{rng.randint(1, 10**6)}", "iat": rng.randint(1_600_000_000, 1_800_000_000),
              "role": rng.choice(("admin", "user"))}
    payload = _b64url(json.dumps(claims).encode())
    signature = _b64url(hmac.new(rng.randbytes(32), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def _generic_secret(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "!#%&*+-=?@^_"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(16, 32)))


_VALUES: dict[str, Callable[[random.Random], str]] = {
    "CREDIT_CARD": _card, "IBAN_CODE": _iban, "US_SSN": _ssn, "EMAIL_ADDRESS": _email, "PHONE_NUMBER": _phone,
           "IP_ADDRESS": _ip, "GITHUB_TOKEN": _github, "PRIVATE_KEY": _pem, "JWT": _jwt,
           "SECRET_ASSIGNMENT": _generic_secret}
_SECRET_LINES: dict[str, Callable[[str, random.Random], str]] = {
    "GITHUB_TOKEN": lambda v, rng: rng.choice((f"git remote set-url origin https://{v}@github.com/acme/app.git",
                                               f"GITHUB_TOKEN={v}", f"use this token {v} for the ci")),
    "PRIVATE_KEY": lambda v, rng: f"deploy key:\n{v}",
    "JWT": lambda v, rng: rng.choice((f"Authorization: Bearer {v}", f"session token {v}")),
    "SECRET_ASSIGNMENT": lambda v, rng: rng.choice((f'db_password = "{v}"', f"api_key: {v}",
                                                    f"client_secret={v}", f"SMTP_PASSWORD='{v}'")),
}


def _hash(rng: random.Random) -> str:
    data = rng.randbytes(16)
    return rng.choice((hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(),
                       hashlib.sha1(data).hexdigest(), "sha256:" + hashlib.sha256(data).hexdigest()))


def _order(rng: random.Random) -> str:
    return rng.choice((f"#{_digits(rng, 3)}-{_digits(rng, 7)}-{_digits(rng, 7)}", f"ORD-{_digits(rng, 8)}",
                       f"PO {_digits(rng, 10)}", f"{rng.randint(2019, 2025)}-{_digits(rng, 4)}-{_digits(rng, 5)}"))


def _version(rng: random.Random) -> str:
    parts = [str(rng.randint(0, 20)) for _ in range(rng.choice((3, 4)))]
    return rng.choice(("v", "version ", "release ")) + ".".join(parts)


def _placeholder(rng: random.Random) -> str:
    return rng.choice(('password = "${DB_PASSWORD}"', "api_key: <your-api-key-here>", "token=changeme-changeme",
                       'client_secret: "xxxxxxxxxxxxxxxx"', "SECRET_KEY={{ vault_secret_key }}",
                       "password: ********************"))


_DECOYS: dict[str, Callable[[random.Random], str]] = {
    "invalid card number": lambda rng: _card(rng, valid=False),
    "invalid IBAN": lambda rng: _iban(rng, valid=False),
    "invalid SSN": _invalid_ssn,
    "order number": _order,
    "hash": _hash,
    "version string": _version,
    "placeholder credential": _placeholder,
    "example AWS key": lambda rng: rng.choice(("aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
                                               "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")),
    "GitHub token with a wrong checksum": lambda rng: _github(rng, valid=False),
    "public key": lambda rng: _pem(rng, "PUBLIC KEY"),
    "elided private key": lambda rng: "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    "truncated JWT": lambda rng: _jwt(rng).split(".")[0],
    "date and time": lambda rng: f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                                 f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
    "UUID": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "price": lambda rng: f"${rng.randint(1, 9)},{_digits(rng, 3)}.{_digits(rng, 2)}",
}
