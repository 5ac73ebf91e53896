"""CSV import of target accounts: `name,domains[,tier][,owner][,target]`, all or nothing.

Each row names an account by its domains (space- or semicolon-separated; "eu.acme.com" counts
as acme.com) and its name. A row whose domain or name matches an existing account updates it
(tier, owner, target flag: a blank cell leaves the value as it is); otherwise a new target
account is created. Any bad row rejects the whole file with every problem listed by line and
field; importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from clm import roles
from clm.domains import matches_free_mail, registrable_domain
from crm.models import Account, AccountDomain
from crm.permissions import Actor
from crm.services import account_create, account_update, company_key, free_mail_patterns

COLUMNS = ("name", "domains", "tier", "owner", "target")
MAX_ROWS = 20_000
MAX_BYTES = 5_000_000
TRUE, FALSE = {"yes", "y", "true", "1", "x"}, {"no", "n", "false", "0"}


@dataclass
class AccountImport:
    """What an import found (`errors`: line, field, message) and did."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)

    def summary(self) -> str:
        if self.errors:
            head = f"rejected: {len(self.errors)} problem(s), nothing imported"
            return "\n".join([head, *(f"  line {n}, {f}: {m}" for n, f, m in self.errors[:50])])
        return (
            f"{self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )


class AccountImportError(ValueError):
    def __init__(self, report: AccountImport) -> None:
        super().__init__(report.summary())
        self.report = report


@dataclass
class _Row:
    line: int
    name: str
    domains: list[str]
    tier: str | None
    owner: object | bool | None  # False: leave as it is
    target: bool | None


def _parse(text: str, report: AccountImport) -> list[_Row]:
    reader = csv.reader(io.StringIO(text))
    header = [c.strip().lower() for c in next(reader, [])]
    if "name" not in header or "domains" not in header:
        report.errors.append((1, "header", "the first line must name the columns name,domains"))
        return []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        report.errors.append((1, "header", f"unknown columns: {', '.join(unknown)}"))
        return []
    owners = {u.username.lower(): u for u in roles.lead_owners()}
    User = get_user_model()
    patterns = free_mail_patterns()
    tiers = set(Account.Tier.values)
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            report.errors.append((line, "file", f"more than {MAX_ROWS} rows"))
            break
        cell = {k: (cells[i].strip() if i < len(cells) else "") for i, k in enumerate(header)}
        errors: list[tuple[int, str, str]] = []
        name = cell.get("name", "")
        if not name or len(name) > 200:
            errors.append((line, "name", "a name of 1 to 200 characters is needed"))
        domains = []
        for raw in cell.get("domains", "").replace(";", " ").split():
            domain = registrable_domain(raw)
            if not domain:
                errors.append((line, "domains", f"{raw[:60]!r} is not a domain"))
            elif matches_free_mail(domain, patterns):
                errors.append((line, "domains", f"{domain} is a free-mail domain"))
            elif domain in seen and seen[domain] != line:
                errors.append((line, "domains", f"{domain} is also on line {seen[domain]}"))
            elif domain not in domains:
                domains.append(domain)
                seen[domain] = line
        tier = cell.get("tier", "") or None
        if tier is not None and tier not in tiers:
            errors.append((line, "tier", f"tier must be one of {', '.join(sorted(tiers))}"))
        owner: object = False
        if cell.get("owner"):
            owner = owners.get(cell["owner"].lower())
            if owner is None:
                known = User.objects.filter(username__iexact=cell["owner"]).exists()
                reason = "may not own accounts" if known else "is not a user"
                errors.append((line, "owner", f"{cell['owner'][:60]!r} {reason}"))
        flag = cell.get("target", "").lower()
        target = True if flag in TRUE else False if flag in FALSE else None
        if flag and target is None:
            errors.append((line, "target", "target must be yes or no"))
        report.errors += errors
        rows.append(_Row(line, name, domains, tier, owner, target))
    return rows


def _existing(row: _Row) -> Account | None:
    known = AccountDomain.objects.filter(domain__in=row.domains).select_related("account")
    accounts = {d.account for d in known}
    if len(accounts) > 1:
        raise ValidationError(
            {"domains": f"line {row.line}: the domains belong to different accounts"}
        )
    if accounts:
        return accounts.pop()
    return Account.objects.filter(name_key=company_key(row.name)).order_by("pk").first()


@transaction.atomic
def accounts_import(*, data: bytes, by: Actor) -> AccountImport:
    """Create or update the target accounts of a CSV file, or raise AccountImportError."""
    report = AccountImport()
    if len(data) > MAX_BYTES:
        report.errors.append((1, "file", f"larger than {MAX_BYTES // 1_000_000} MB"))
        raise AccountImportError(report)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append((1, "file", "the file is not UTF-8 text"))
        raise AccountImportError(report) from None
    if "\x00" in text:
        report.errors.append((1, "file", "the file contains NUL bytes"))
        raise AccountImportError(report)
    rows = _parse(text, report)
    if report.errors:
        raise AccountImportError(report)
    for row in rows:
        report.rows += 1
        try:
            account = _existing(row)
            if account is None:
                account_create(
                    name=row.name,
                    domains=row.domains,
                    by=by,
                    owner=row.owner or None,  # type: ignore[arg-type]
                    is_target=True if row.target is None else row.target,
                    tier=row.tier or "",
                )
                report.created += 1
                continue
            before = (account.name, account.owner_id, account.is_target, account.tier)
            have = set(account.domains.values_list("domain", flat=True))
            for domain in row.domains:
                if domain not in have:
                    AccountDomain.objects.create(account=account, domain=domain)
            account_update(
                account=account,
                by=by,
                owner=row.owner,  # type: ignore[arg-type]
                is_target=row.target,
                tier=row.tier,
            )
            after = (account.name, account.owner_id, account.is_target, account.tier)
            changed = before != after or not set(row.domains) <= have
            report.updated += changed
            report.unchanged += not changed
        except ValidationError as exc:
            report.errors.append((row.line, "row", " ".join(exc.messages)))
    if report.errors:
        raise AccountImportError(report)  # leaving the atomic block undoes the earlier rows
    return report
