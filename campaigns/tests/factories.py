import factory

from campaigns.models import Campaign, Channel, Spend


def channel(name: str) -> Channel:
    return Channel.objects.get(name=name)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    utm_campaign = factory.Sequence(lambda n: f"campaign_{n}")
    channel = factory.LazyFunction(lambda: channel("Paid Search"))
    status = Campaign.Status.ACTIVE


class SpendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Spend

    campaign = factory.SubFactory(CampaignFactory)
    date = factory.Faker("date_this_year")
    amount = factory.Faker("pydecimal", left_digits=4, right_digits=2, positive=True)
    currency = "USD"
