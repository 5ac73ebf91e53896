"""The UI in English and Bahasa Indonesia: browser language, profile language, the switcher,
money in the deployment currency, and translation files that are complete and compiled."""

import gettext
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from attribution import charts
from clm.models import UserPreference

DASHBOARD = "/dashboards/marketing/"
PO = Path(settings.BASE_DIR) / "locale" / "id" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def render(source: str, **context) -> str:
    return Template("{% load clm_format %}" + source).render(Context(context))


# --- Language from the browser, the profile and the switcher ---------------------------------


def test_a_browser_asking_for_indonesian_gets_indonesian_navigation_and_headings(client, marketer):
    client.force_login(marketer)
    page = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="id-ID,id;q=0.9,en;q=0.5")
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Content-Language"] == "id"
    assert '<html lang="id">' in html
    assert "<h1>Dasbor pemasaran</h1>" in html
    assert ">Pemasaran</a>" in html and ">Kampanye</a>" in html  # navigation
    assert "Belanja iklan" in html and "Pendapatan" in html  # tiles and table heads
    assert "Marketing dashboard" not in html


def test_cached_dashboard_data_is_kept_per_language(client, marketer):
    """Chart labels are built into the cached figures: English must not leak into Indonesian."""
    client.force_login(marketer)
    english = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    indonesian = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "No spend or revenue in this period." in english
    assert "Tidak ada belanja iklan atau pendapatan pada periode ini." in indonesian
    assert "No spend or revenue in this period." not in indonesian
    assert "30 hari terakhir" in indonesian  # the period presets


def test_a_browser_asking_for_english_or_an_unshipped_language_gets_english(client, marketer):
    client.force_login(marketer)
    for accept in ("en-US,en;q=0.9", "fr-FR,fr;q=0.9"):
        html = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE=accept).content.decode()
        assert '<html lang="en">' in html and "<h1>Marketing dashboard</h1>" in html


def test_the_switcher_saves_the_language_to_the_profile_and_it_beats_the_browser(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("set_language"), {"language": "id", "next": DASHBOARD})
    assert response.status_code == 302 and response.url == DASHBOARD
    assert UserPreference.objects.get(user=marketer).language == "id"
    html = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Dasbor pemasaran</h1>" in html


def test_the_profile_language_follows_the_user_to_a_new_device(client, marketer):
    UserPreference.objects.create(user=marketer, language="id")
    # A fresh browser: no language cookie, English asked for; log in through the real form.
    client.post(reverse("login"), {"username": marketer.username, "password": "pw-for-tests-123"})
    html = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
    assert "<h1>Dasbor pemasaran</h1>" in html
    assert '<option value="id" selected>Bahasa Indonesia</option>' in html


def test_switching_back_to_english_updates_the_profile(client, marketer):
    UserPreference.objects.create(user=marketer, language="id")
    client.force_login(marketer)
    client.post(reverse("set_language"), {"language": "en", "next": DASHBOARD})
    assert UserPreference.objects.get(user=marketer).language == "en"
    html = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "<h1>Marketing dashboard</h1>" in html


def test_an_anonymous_visitor_can_switch_the_login_page_without_a_profile(client, db):
    response = client.post(reverse("set_language"), {"language": "id", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "id"
    assert "Masuk ke CLM" in client.get("/accounts/login/").content.decode()
    assert UserPreference.objects.count() == 0


def test_an_unknown_language_is_refused_with_400_and_nothing_saved(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("set_language"), {"language": "xx", "next": DASHBOARD})
    assert response.status_code == 400
    assert UserPreference.objects.count() == 0
    assert client.get(reverse("set_language")).status_code == 405


def test_a_permission_error_reads_in_the_users_language(client, rep):
    client.force_login(rep)
    page = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="id")
    assert page.status_code == 403
    assert "Tidak diizinkan" in page.content.decode()


# --- Money and numbers ---------------------------------------------------------------------


@override_settings(CLM_CURRENCY="USD")
def test_dollars_in_english_have_cents_and_comma_thousands():
    with translation.override("en"):
        assert render("{{ v|money:2 }}", v=1234.5) == "$1,234.50"
        assert render("{{ v|money }}", v=1234567) == "$1,234,567"
        assert render("{{ v|money:2 }}", v=-0.004) == "$0.00"
        assert render("{{ v|money }}", v=-1500) == "-$1,500"
        assert render("{{ v|amount }}", v=99.999) == "100.00"
        assert render("{{ v|num:1 }} {{ p|pct }} {{ h|hours }}", v=1234.56, p=0.153, h=5.25) == (
            "1,234.6 15% 5.3 h"
        )


@override_settings(CLM_CURRENCY="IDR")
def test_rupiah_in_indonesian_have_no_decimals_and_dot_thousands():
    with translation.override("id"):
        assert render("{{ v|money }}", v=1234567) == "Rp 1.234.567"
        assert render("{{ v|money:2 }}", v=1234567.89) == "Rp 1.234.568"  # IDR has no sen
        assert render("{{ v|amount }}", v=2500000) == "2.500.000"
        assert render("{{ v|num:1 }}", v=1234.56) == "1.234,6"
        assert render("{{ p|pct:1 }}", p=0.1534) == "15,3%"
        assert render("{{ h|hours }} {{ m|hours }} {{ d|hours }}", h=5.25, m=0.5, d=80) == (
            "5,3 jam 30 mnt 3,3 hr"
        )
        assert render("{{ c|change }}", c=0.5) == "+50%"
        assert render("{{ r|tile:'ratio' }}", r=2.5) == "2,50x"
        assert render("{{ n|change }}", n=None) == "t/a"
        assert render("{{ v|money }}", v=None) == "—"


@override_settings(CLM_CURRENCY="IDR")
def test_rupiah_in_english_keep_english_separators():
    with translation.override("en"):
        assert render("{{ v|money }}", v=1234567) == "Rp 1,234,567"


@override_settings(CLM_CURRENCY="CHF")
def test_a_currency_without_a_symbol_in_the_table_is_written_by_its_code():
    with translation.override("en"):
        assert render("{{ v|money:2 }}", v=1234.5) == "1,234.50 CHF"


def test_charts_use_the_languages_separators_and_labels():
    from types import SimpleNamespace

    rows = [SimpleNamespace(name="Email", spend=1000, revenue=5000, roi=4.0)]
    with translation.override("id"):
        fig = charts.spend_vs_revenue(rows, "IDR")
        assert fig["layout"]["separators"] == ",."
        assert [t["name"] for t in fig["data"]] == ["Belanja iklan", "Pendapatan"]
        assert "belanja" in charts.roi_by_channel(rows, "IDR")["data"][0]["hovertemplate"]
    with translation.override("en"):
        assert charts.spend_vs_revenue(rows, "USD")["layout"]["separators"] == ".,"


# --- Translation files -----------------------------------------------------------------------


def test_every_message_has_an_indonesian_translation_and_none_is_fuzzy():
    po = polib.pofile(str(PO))
    assert len(po) > 300
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []
    assert not po.metadata_is_fuzzy


def test_translations_keep_every_placeholder():
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]|%\(\w+\)02d|<[^>]+>")
    for e in polib.pofile(str(PO)):
        wanted = sorted(placeholder.findall(e.msgid))
        for text in [e.msgstr] if not e.msgid_plural else e.msgstr_plural.values():
            assert sorted(placeholder.findall(text)) == wanted, e.msgid


def test_the_compiled_mo_holds_exactly_the_translations_of_the_po():
    """Fails when the .po changed and `make messages` (compilemessages) was not run."""
    with MO.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for e in polib.pofile(str(PO)):
        if e.msgid_plural:
            assert compiled.ngettext(e.msgid, e.msgid_plural, 1) == e.msgstr_plural[0], e.msgid
        else:
            assert compiled.gettext(e.msgid) == e.msgstr, e.msgid
    assert len(compiled._catalog) - 1 == len(polib.pofile(str(PO)))  # nothing stale extra


@pytest.mark.parametrize("language", ["en", "id"])
def test_every_page_template_renders_in_both_languages(client, make_user, language):
    from clm import roles

    client.force_login(make_user(roles.ADMIN))
    names = [
        "attribution:marketing-dashboard", "attribution:deals", "crm:sales-dashboard", "crm:queue",
        "campaigns:list", "campaigns:create", "campaigns:spend-upload", "campaigns:rule-bench",
        "setup", "password_change",
    ]  # fmt: skip
    for url in map(reverse, names):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        assert f'<html lang="{language}">' in response.content.decode(), url


def test_public_pages_follow_the_visitors_browser_language(client, db):
    html = client.get("/l/thanks/", HTTP_ACCEPT_LANGUAGE="id-ID,id").content.decode()
    assert '<html lang="id">' in html and "Terima kasih!" in html
    html = client.get("/l/thanks/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html and "Thank you!" in html


@override_settings(CLM_CURRENCY="IDR")
def test_a_lead_page_in_indonesian_shows_deals_in_rupiah(client, manager):
    from decimal import Decimal

    from crm.tests.factories import ActivityFactory, DealFactory, lead_with_journey

    lead = lead_with_journey(owner=manager)
    DealFactory(lead=lead, amount=Decimal("12500000.00"))
    ActivityFactory(lead=lead)
    client.force_login(manager)
    html = client.get(reverse("crm:lead", args=[lead.pk]), HTTP_ACCEPT_LANGUAGE="id").content
    html = html.decode()
    assert "Rp 12.500.000" in html
    assert "Catat aktivitas" in html and "Perjalanan" in html
    assert "Tersambung" in html  # the activity's outcome label
