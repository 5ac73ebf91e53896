"""An admin sets up a campaign, its spend and a channel rule in the browser, then tests it."""

from decimal import Decimal

from campaigns.models import Campaign, ChannelRule, Spend


def test_admin_configures_campaign_spend_and_rule_then_the_bench_shows_the_rule(
    page, login, screenshot, admin
):
    login(admin.username)

    page.goto("/campaigns/new/")
    page.fill("#id_name", "Partner Launch")
    page.select_option("#id_channel", label="Affiliates")
    page.fill("#id_utm_campaign", "partner_launch")
    page.fill("#id_start_date", "2026-10-01")
    page.fill("#id_budget", "2500")
    page.click("button:has-text('Save campaign')")
    page.wait_for_url("**/campaigns/")
    assert page.locator("#campaigns").get_by_text("Partner Launch").is_visible()
    campaign = Campaign.objects.get(utm_campaign="partner_launch")

    page.goto("/admin/campaigns/spend/add/")
    page.fill("#id_date", "2026-10-02")
    page.fill("#id_amount", "123.45")
    page.fill("#id_impressions", "1000")
    page.fill("#id_clicks", "30")
    page.evaluate(
        "id => { const s = document.querySelector('#id_campaign');"
        " s.add(new Option('Partner Launch', id, true, true)); }",
        str(campaign.pk),
    )
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/campaigns/spend/")
    assert Spend.objects.get(campaign=campaign).amount == Decimal("123.45")

    page.goto("/admin/campaigns/channelrule/add/")
    page.fill("#id_position", "1")
    page.fill("#id_name", "Partner network")
    page.select_option("#id_channel", label="Affiliates")
    page.fill("#id_conditions", '[{"field": "source", "op": "exact", "value": "partnerhub"}]')
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/campaigns/channelrule/")
    rule = ChannelRule.objects.get(name="Partner network")

    page.goto("/campaigns/rules/bench/")
    page.fill("#id_landing_url", "https://www.example.com/?utm_source=partnerhub&utm_medium=link")
    page.fill("#id_referrer", "https://partnerhub.io/deals")
    page.click("button:has-text('Classify')")
    page.wait_for_load_state("networkidle")
    assert page.locator("#matched-channel").inner_text() == "Affiliates"
    assert page.locator("#matched-rule").inner_text().startswith(f"#{rule.pk}")
    assert page.locator("tr.hit").count() == 1
    screenshot("rule-bench")
    assert page.console_errors == []
