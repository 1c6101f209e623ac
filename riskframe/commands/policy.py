"""``riskframe policy show POLICY [--resolved]``: a policy as it takes effect.

Without ``--resolved``: a summary (what it extends, its requirements and where each is defined or
overridden, what it excludes, its waivers, its gate and risk settings). With ``--resolved``: the
effective policy as YAML, every value followed by the file and line it came from (``default`` when
no file sets it), so a reviewer sees what a chain of ``extends:`` adds up to.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="riskframe")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["policy", "show", "data-poisoning", "--resolved"])
>>> args.handler(args)  # doctest: +SKIP
# The effective policy data-poisoning, from 1 file: ...
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import yaml

from riskframe.io.terminal import echo, echo_json
from riskframe.spec.inherit import display_path, policy_files
from riskframe.spec.load import resolve_policy
from riskframe.spec.policy import Policy

_COMMENT_COLUMN = 60  # values are padded to here so that the sources line up
Where = Callable[[tuple[Any, ...]], str | None]


def register(subparsers: Any) -> None:
    policy = subparsers.add_parser(
        "policy", help="show a policy as it takes effect, its extends: resolved",
        description="Show a policy with its inheritance (extends:, overrides, exclude:) resolved.")
    commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    show = commands.add_parser(
        "show", help="summarise a policy, or print the effective policy with the source of every value",
        description="Summarise a policy; with --resolved, print the effective policy, every value followed by "
                    "the file and line it came from.")
    show.add_argument("policy", metavar="POLICY", help="a policy file, or the name of a bundled policy")
    show.add_argument("--resolved", action="store_true",
                      help="print the effective policy with the file and line of every value")
    show.add_argument("--format", choices=("text", "json"), default="text",
                      help="text (YAML with source comments when --resolved) or json (default: text)")
    show.set_defaults(handler=run_show)


def run_show(args: argparse.Namespace) -> int:
    policy = resolve_policy(args.policy)
    if args.format == "json":
        echo_json(resolved_json(policy))
    elif args.resolved:
        echo(resolved_yaml(policy))
    else:
        echo(summary(policy))
    return 0


# --resolved --------------------------------------------------------------------------------------

def resolved_yaml(policy: Policy) -> list[str]:
    """The effective policy as YAML, each value followed by ``# file:line`` (or ``# default``);
    one item per line.

    Examples
    --------
    >>> from riskframe.spec.load import resolve_policy
    >>> print(resolved_yaml(resolve_policy("data-poisoning"))[4])  # doctest: +SKIP
    apiVersion: riskframe/v1                                      # policies/data-poisoning.yaml:25
    """
    data, where = _effective(policy)
    lines: list[tuple[str, str | None]] = []
    _mapping_lines(data, (), "", "", lines, where)
    files = [display_path(f) for f in policy_files(policy)]
    header = [f"# The effective policy {policy.metadata.name}, from {len(files)} file"
              f"{'s' if len(files) != 1 else ''} (each applied over the ones before):",
              *(f"#   {f}" for f in files),
              "# Every value is followed by the file and line it came from ('default': no file sets it)."]
    if policy.risk is None:
        header.append("# No risk: section: the default risk model applies (docs/risk-model.md).")
    body = [f"{text.ljust(_COMMENT_COLUMN)}  # {source}" if source else text for text, source in lines]
    return [*header, *body]


def resolved_json(policy: Policy) -> dict[str, Any]:
    """The effective policy, the source (``file:line:col``) of every value, and the files merged."""
    data, where = _effective(policy, column=True)
    sources: dict[str, str] = {}
    _collect_sources(data, (), sources, where)
    return {"policy": json.loads(json.dumps(data, default=str)), "sources": sources,
            "files": [display_path(f) for f in policy_files(policy)]}


def _effective(policy: Policy, column: bool = False) -> tuple[dict[str, Any], Where]:
    """What the files set, plus the gate and risk settings in full (defaults marked)."""
    data = policy.model_dump(by_alias=True, exclude_unset=True)
    given = policy.model_dump(by_alias=True, exclude_unset=True)
    data["risk_appetite"] = policy.risk_appetite.model_dump(by_alias=True)
    if policy.risk is not None:
        data["risk"] = policy.risk.model_dump()
    order = ["apiVersion", "kind", "metadata", "extends", "exclude", "risk_appetite", "risk", "requirements",
             "waivers"]
    data = {k: data[k] for k in [*order, *data] if k in data}

    def where(loc: tuple[Any, ...]) -> str | None:
        if not _present(given, loc):
            return "default"
        path, line, col = policy.source.origin(loc)
        return f"{display_path(path)}:{line}" + (f":{col}" if column else "")

    return data, where


def _present(data: Any, loc: tuple[Any, ...]) -> bool:
    for part in loc:
        found = (part in data) if isinstance(data, dict) else (
            isinstance(data, list) and isinstance(part, int) and part < len(data))
        if not found:
            return False
        data = data[part]
    return True


def _mapping_lines(mapping: dict[str, Any], loc: tuple[Any, ...], first: str, rest: str,
                   out: list[tuple[str, str | None]], where: Where) -> None:
    for n, (key, value) in enumerate(mapping.items()):
        pad, at = (first if n == 0 else rest), (*loc, key)
        if isinstance(value, dict) and value:
            out.append((f"{pad}{key}:", where(at)))
            _mapping_lines(value, at, rest + "  ", rest + "  ", out, where)
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            out.append((f"{pad}{key}:", where(at)))
            for i, item in enumerate(value):
                if isinstance(item, dict) and item:
                    _mapping_lines(item, (*at, i), rest + "  - ", rest + "    ", out, where)
                else:
                    out.append((f"{rest}  - {_flow(item)}", where((*at, i))))
        else:
            out.append((f"{pad}{key}: {_flow(value)}", where(at)))


def _flow(value: Any) -> str:
    """One value as a one-line YAML scalar or flow collection."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True, sort_keys=False)
    text = text.removesuffix("\n").removesuffix("\n...")
    return json.dumps(value, ensure_ascii=False) if "\n" in text else text


def _collect_sources(value: Any, loc: tuple[Any, ...], out: dict[str, str], where: Where) -> None:
    from riskframe.spec.yaml_source import format_loc

    if loc:
        source = where(loc)
        if source is not None:
            out[format_loc(loc)] = source
    if isinstance(value, dict):
        for key, child in value.items():
            _collect_sources(child, (*loc, key), out, where)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _collect_sources(child, (*loc, index), out, where)


# summary -----------------------------------------------------------------------------------------

def summary(policy: Policy) -> list[str]:
    """What a person reads first, one item per line: lineage, requirements with where they come
    from, exclusions, waivers, gate and risk settings."""
    meta, src = policy.metadata, policy.source
    files = [display_path(f) for f in policy_files(policy)]
    lines = [f"Policy {meta.name} {meta.version} ({files[-1] if files else '<memory>'})"]
    if len(files) > 1:
        lines.append(f"  extends: {', '.join(policy.extends)} (applied in order: {' -> '.join(files)})")
    appetite = policy.risk_appetite
    approvers = f"; approvers: {', '.join(appetite.approvers)}" if appetite.approvers else ""
    lines.append(f"  gate: fails at {appetite.fail_on} risk or above; waivers run at most "
                 f"{appetite.max_waiver_days} days{approvers}")
    lines.append("  risk model: " + ("set in this policy's risk: section" if policy.risk is not None
                                     else "the default (docs/risk-model.md)"))
    lines.append(f"Requirements ({len(policy.requirements)}):")
    width = max(len(r.id) for r in policy.requirements)
    for index, req in enumerate(policy.requirements):
        path, line, _ = src.origin(("requirements", index))
        override = _override_text(policy, index)
        controls = ", ".join(ref.control for ref in req.controls)
        lines.append(f"  {req.id.ljust(width)}  {req.severity:<8}  {req.title}  [controls: {controls}; "
                     f"{display_path(path)}:{line}{override}]")
    if policy.exclude:
        lines.append(f"Excluded ({len(policy.exclude)}):")
        for index, exclusion in enumerate(policy.exclude):
            path, line, _ = src.origin(("exclude", index))
            lines.append(f"  {exclusion.id}: {exclusion.reason} [{display_path(path)}:{line}]")
    if policy.waivers:
        lines.append(f"Waivers: {len(policy.waivers)} (riskframe waivers list {files[-1] if files else ''} "
                     "shows their status)")
    return lines


def _override_text(policy: Policy, index: int) -> str:
    from riskframe.spec.inherit import ProvenanceMap

    source = policy.source
    found = source.override(("requirements", index)) if isinstance(source, ProvenanceMap) else None
    if found is None:
        return ""
    path, line, _ = found
    return f", overridden at {display_path(path)}:{line}"
