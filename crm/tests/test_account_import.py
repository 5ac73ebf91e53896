"""The target-account CSV import: all or nothing, errors by line and field, reruns idempotent."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from crm.account_import import AccountImportError, accounts_import
from crm.models import Account, AccountDomain
from crm.services import account_create

pytestmark = pytest.mark.django_db

GOOD = (
    "name,domains,tier,owner,target\n"
    "Acme,acme.com; eu.acme.com acme.co.uk,1,rep_a,yes\n"
    "Globex,globex.io,,,\n"
    "Initech,INITECH.com,3,,no\n"
)


def state():
    return (
        list(
            Account.objects.order_by("pk").values_list(
                "pk", "name", "tier", "owner__username", "is_target", "updated_at"
            )
        ),
        list(AccountDomain.objects.order_by("pk").values_list("account", "domain")),
    )


def test_the_import_creates_target_accounts_and_a_rerun_changes_nothing(make_user):
    make_user("Sales rep", username="rep_a")
    report = accounts_import(data=GOOD.encode(), by=None)
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    accounts, domains = state()
    assert [(a[1], a[2], a[3], a[4]) for a in accounts] == [
        ("Acme", "1", "rep_a", True), ("Globex", "", None, True), ("Initech", "3", None, False)
    ]  # fmt: skip
    assert [d for _a, d in domains] == ["acme.com", "acme.co.uk", "globex.io", "initech.com"]
    again = accounts_import(data=GOOD.encode(), by=None)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert state() == (accounts, domains)


def test_the_import_updates_an_account_matched_by_domain_or_name():
    acme = account_create(name="ACME Inc", domains=["acme.com"], by=None)
    account_create(name="Globex Corporation", by=None)
    report = accounts_import(
        data=b"name,domains,tier\nAcme,acme.com,2\nGlobex,globex.io,\n", by=None
    )
    assert (report.created, report.updated) == (0, 2)
    acme.refresh_from_db()
    assert (acme.name, acme.tier, acme.is_target) == ("ACME Inc", "2", False)
    assert Account.objects.get(name="Globex Corporation").domains.get().domain == "globex.io"


def test_a_bad_file_is_refused_whole_with_every_problem_by_line_and_field(make_user):
    make_user("Marketer", username="mk")
    bad = (
        "name,domains,tier,owner,target\n"
        "Acme,acme.com,1,,yes\n"
        ",gmail.com,9,mk,maybe\n"
        "Dup,acme.com not_a_domain,,nobody,\n"
    )
    with pytest.raises(AccountImportError) as caught:
        accounts_import(data=bad.encode(), by=None)
    problems = {(line, name) for line, name, _m in caught.value.report.errors}
    assert problems == {
        (3, "name"), (3, "domains"), (3, "tier"), (3, "owner"), (3, "target"),
        (4, "domains"), (4, "owner"),
    }  # fmt: skip
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    "data", [b"", b"\xff\xfe\x00bad", b"name,domains\nA,a.com\x00\n", b"foo,bar\n1,2\n"]
)
def test_hostile_files_are_refused_without_a_write(data):
    with pytest.raises(AccountImportError):
        accounts_import(data=data, by=None)
    assert not Account.objects.exists()


def test_the_command_reports_and_fails_on_errors(tmp_path, capsys):
    path = tmp_path / "accounts.csv"
    path.write_text("name,domains\nAcme,acme.com\n")
    call_command("import_accounts", str(path))
    assert "1 created" in capsys.readouterr().out
    path.write_text("name,domains\nAcme,gmail.com\n")
    with pytest.raises(CommandError, match="line 2, domains"):
        call_command("import_accounts", str(path))
