"""An admin previews a reclassification, is refused without the typed word, confirms it."""

from campaigns import services
from campaigns.models import Channel, ChannelRule, ReclassifyJob
from tests.demo_data import seed_demo


def test_admin_sees_the_diff_types_the_word_and_reclassifies(page, login, screenshot, celery_eager):
    seed_demo("--leads", "200", "--seed", "3")
    services.channel_rule_save(
        rule=ChannelRule(
            position=0,
            channel=Channel.objects.get(name="Affiliates"),
            conditions=[
                {"field": "source", "op": "exact", "value": "google"},
                {"field": "medium", "op": "exact", "value": "organic"},
            ],
        )
    )
    login("admin", "clm-demo")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/campaigns/rules/bench/?preview=1&model=linear#reclassify")
    assert page.locator("#reclassify-matrix").is_visible()
    assert page.locator("#reclassify-matrix").get_by_text("Affiliates").is_visible()
    button = page.locator("#reclassify button.danger")
    assert button.is_visible()
    screenshot("reclassify-preview-1440")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("reclassify-preview-390")
    page.set_viewport_size({"width": 1440, "height": 900})

    page.fill("#id_confirm", "yes")
    button.click()
    assert page.get_by_text("Type RECLASSIFY (in capitals) to confirm.").is_visible()
    assert not ReclassifyJob.objects.exists()

    page.fill("#id_confirm", "RECLASSIFY")
    page.locator("#reclassify button.danger").click()
    page.wait_for_load_state("networkidle")
    job = ReclassifyJob.objects.get()
    assert job.status == "done" and job.changed > 0
    assert page.get_by_role("button", name=f"Undo reclassification #{job.pk}").is_visible()
    # The refused post answered 400 (a form error); nothing else failed.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
