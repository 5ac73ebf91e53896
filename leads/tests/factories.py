import factory
from django.utils import timezone

from campaigns.models import Channel
from leads.models import Lead, Touchpoint


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    created_at = factory.LazyFunction(timezone.now)


class TouchpointFactory(factory.django.DjangoModelFactory):
    """A touchpoint; pass channel_name= to pick its channel by name."""

    class Meta:
        model = Touchpoint
        exclude = ["channel_name"]

    channel_name = "Direct"
    kind = Touchpoint.Kind.PAGE_VIEW
    occurred_at = factory.LazyFunction(timezone.now)
    channel = factory.LazyAttribute(lambda o: Channel.objects.get(name=o.channel_name))
    url = "https://www.example.com/"
