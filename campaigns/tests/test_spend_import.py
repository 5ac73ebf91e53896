import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign, Spend
from campaigns.spend_import import SpendImportError, import_spend
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spring():
    return CampaignFactory(name="Spring Sale", utm_campaign="spring")


def test_generic_file_imports_and_a_reimport_changes_nothing(spring):
    data = (
        b"date,campaign,cost,impressions,clicks\n"
        b"2026-03-01,spring,120.50,1000,40\n2026-03-02,Spring Sale,99,900,31\n"
    )
    first = import_spend(data)
    assert (first.result.created, first.result.updated, first.result.unchanged) == (2, 0, 0)
    assert Spend.objects.get(date="2026-03-01").amount == Decimal("120.50")
    assert Spend.objects.get(date="2026-03-02").clicks == 31
    again = import_spend(data)
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 2)
    assert Spend.objects.count() == 2


def test_a_changed_cost_updates_the_row_in_place(spring):
    import_spend(b"date,campaign,cost\n2026-03-01,spring,10\n")
    report = import_spend(b"date,campaign,cost\n2026-03-01,spring,12.25\n")
    assert report.result.updated == 1
    assert Spend.objects.get().amount == Decimal("12.25")


def test_google_ads_export_with_title_lines_totals_and_thousands(spring):
    data = (
        b"Campaign report\n"
        b'"March 1, 2026 - March 2, 2026"\n'
        b"Day,Campaign,Currency code,Cost,Impr.,Clicks\n"
        b'2026-03-01,spring,USD,"1,234.56","12,000",300\n'
        b"2026-03-02,spring,USD,10.00,--,0\n"
        b'Total: Account,,,"1,244.56",12000,300\n'
    )
    report = import_spend(data)
    assert report.layout == "google_ads"
    assert report.source == "google_ads"
    assert report.skipped_summary_rows == [6]
    row = Spend.objects.get(date="2026-03-01")
    assert (row.amount, row.impressions, row.source) == (Decimal("1234.56"), 12000, "google_ads")
    assert Spend.objects.get(date="2026-03-02").impressions == 0


def test_google_ads_utf16_tab_separated_export(spring):
    data = "Day\tCampaign\tCost\tImpr.\tClicks\nMar 3, 2026\tspring\t5.00\t10\t1\n"
    report = import_spend(data.encode("utf-16"))
    assert report.layout == "google_ads"
    assert Spend.objects.get().date.isoformat() == "2026-03-03"


def test_meta_ads_export_takes_the_currency_from_the_header(spring):
    data = (
        b"Reporting starts,Reporting ends,Campaign name,Amount spent (EUR),"
        b"Impressions,Link clicks\n"
        b"2026-03-01,2026-03-01,spring,50.10,5000,70\n"
    )
    report = import_spend(data)
    assert report.layout == "meta_ads"
    row = Spend.objects.get()
    assert (row.amount, row.currency, row.clicks, row.source) == (
        Decimal("50.10"),
        "EUR",
        70,
        "meta_ads",
    )


def test_one_bad_row_rejects_the_whole_file_and_names_every_bad_row(spring):
    data = (
        b"date,campaign,cost\n2026-03-01,spring,10\n2026-13-45,spring,10\n"
        b"2026-03-03,nope,1\n2026-03-04,spring,-5\n2026-03-05,spring,abc\n"
    )
    with pytest.raises(SpendImportError) as caught:
        import_spend(data)
    errors = dict(caught.value.report.errors)
    assert set(errors) == {3, 4, 5, 6}
    assert "2026-13-45" in errors[3]
    assert "unknown campaign 'nope'" in errors[4]
    assert "negative" in errors[5]
    assert "not a number" in errors[6]
    assert Spend.objects.count() == 0


def test_a_file_without_the_needed_columns_is_rejected(spring):
    with pytest.raises(SpendImportError, match="no header row"):
        import_spend(b"when,what\n2026-01-01,x\n")
    with pytest.raises(SpendImportError, match=r"not text|NUL"):
        import_spend(b"\x00\x01\x02date,campaign,cost")


def test_unknown_campaigns_can_be_registered_by_the_import(db):
    report = import_spend(b"date,campaign,cost\n2026-03-01,Autumn Push,10\n", create_campaigns=True)
    assert report.created_campaigns == ["autumn push"]
    assert Campaign.objects.get().utm_campaign == "autumn push"
    assert Spend.objects.get().amount == Decimal("10.00")


def test_rows_for_the_same_campaign_and_day_are_summed(spring):
    import_spend(b"date,campaign,cost,clicks\n2026-03-01,spring,10,1\n2026-03-01,spring,5.5,2\n")
    row = Spend.objects.get()
    assert (row.amount, row.clicks) == (Decimal("15.50"), 3)


def test_import_spend_command_on_10000_rows_then_reimport(tmp_path, capsys):
    campaigns = [CampaignFactory(utm_campaign=f"c{i}") for i in range(10)]
    lines = ["date,campaign,cost,impressions,clicks"]
    first_day = datetime.date(2023, 1, 1)
    for day in range(1000):
        date = (first_day + datetime.timedelta(days=day)).isoformat()
        for c in campaigns:
            lines.append(f"{date},{c.utm_campaign},{day % 97}.{day % 100:02d},{day},{day % 13}")
    path = tmp_path / "spend.csv"
    path.write_text("\n".join(lines))
    call_command("import_spend", str(path))
    assert "10000 rows: 10000 created" in capsys.readouterr().out
    stored = Spend.objects.count()
    assert stored == 10000
    call_command("import_spend", str(path))
    out = capsys.readouterr().out
    assert "0 created, 0 updated" in out
    assert Spend.objects.count() == stored


def test_import_spend_command_names_the_bad_row(tmp_path, spring):
    path = tmp_path / "bad.csv"
    path.write_text("date,campaign,cost\n2026-03-01,spring,10\n2026-03-02,spring,ten\n")
    with pytest.raises(CommandError, match="row 3: cost 'ten' is not a number"):
        call_command("import_spend", str(path))
    assert Spend.objects.count() == 0
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_spend", str(tmp_path / "missing.csv"))


# Shaped as Microsoft Advertising's CSV report download: "Report ..." lines, the header of
# CampaignPerformanceReportColumn names, the rows, then the copyright line.
MICROSOFT_ADS = (
    '"Report Name: Campaign performance"\n"Report Time: 3/3/2026"\n'
    '"Time Zone: (GMT) Coordinated Universal Time"\n"Report Aggregation: Daily"\n'
    '"Report Filter: "\n"Potential Incomplete Data: false"\n"Rows: 2"\n\n'
    '"TimePeriod","AccountName","CampaignName","Impressions","Clicks","Spend","CurrencyCode"\n'
    '"2026-03-01","Acme","spring","1000","40","12.34","USD"\n'
    '"3/2/2026","Acme","Spring Sale","1,200","41","1,005.10","USD"\n\n'
    '"\u00a92026 Microsoft Corporation. All rights reserved. "\n'
).encode()

# Shaped as LinkedIn Campaign Manager's campaign performance export (daily breakdown).
LINKEDIN_ADS = (
    b"Campaign Performance Report (in UTC)\n"
    b'"Report Start: 3/1/2026, 12:00 AM"\n"Report End: 3/2/2026, 11:59 PM"\n'
    b'"Date Generated: 3/3/2026, 9:00 AM"\n'
    b"Start Date (in UTC),Account Name,Campaign Group Name,Campaign Name,Campaign ID,"
    b"Campaign Status,Currency,Total Spent,Impressions,Clicks\n"
    b"3/1/2026,Acme,Always on,spring,123456,Active,EUR,45.67,2300,19\n"
    b"3/2/2026,Acme,Always on,spring,123456,Active,EUR,0,0,0\n"
)


def test_microsoft_advertising_report_with_its_preamble_and_copyright_line(spring):
    report = import_spend(MICROSOFT_ADS)
    assert (report.layout, report.source, report.rows) == ("microsoft_ads", "microsoft_ads", 2)
    rows = {r.date.isoformat(): r for r in Spend.objects.all()}
    assert (rows["2026-03-01"].amount, rows["2026-03-01"].clicks) == (Decimal("12.34"), 40)
    assert (rows["2026-03-02"].amount, rows["2026-03-02"].impressions) == (Decimal("1005.10"), 1200)
    assert {r.source for r in rows.values()} == {"microsoft_ads"}
    again = import_spend(MICROSOFT_ADS)
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 2)


def test_linkedin_campaign_manager_export_with_month_first_dates(spring):
    report = import_spend(LINKEDIN_ADS)
    assert (report.layout, report.source) == ("linkedin_ads", "linkedin_ads")
    first = Spend.objects.get(date=datetime.date(2026, 3, 1))
    assert (first.amount, first.currency, first.impressions, first.clicks) == (
        Decimal("45.67"),
        "EUR",
        2300,
        19,
    )
    assert Spend.objects.get(date=datetime.date(2026, 3, 2)).amount == Decimal("0.00")
    again = import_spend(LINKEDIN_ADS)
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 2)
    assert Spend.objects.count() == 2
