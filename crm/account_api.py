"""Accounts and deal contacts (buying groups) under /api/v1/, with the pages' rules.

Reads: what crm.account_selectors.accounts_visible_to allows (a rep: accounts they own or hold
a lead in) and the contacts of visible deals. Writes: managers and admins create accounts and
change their owner; a rep changes the accounts they own and the buying groups of their deals;
marketers only read. Another rep's row is a 404; a lead or deal the caller may not see is a 400.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clm import roles
from crm import account_selectors, selectors, services
from crm.api import _CrmViewSet, _validated, service_errors
from crm.filters import IdFilter
from crm.models import Account, AccountContact, DealContact
from crm.serializers import _VisibleLeadsMixin


class AccountOutput(serializers.ModelSerializer):
    domains = serializers.SlugRelatedField(many=True, read_only=True, slug_field="domain")
    # No tier is "" (the model's blank choice): the schema must allow it.
    tier = serializers.ChoiceField(choices=Account.Tier.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Account
        fields = ["id", "name", "domains", "owner", "is_target", "tier", "created_at", "updated_at"]
        read_only_fields = fields


class AccountCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253), max_length=50, required=False, default=list
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=roles.lead_owners(), required=False, allow_null=True, default=None
    )
    is_target = serializers.BooleanField(required=False, default=False)
    tier = serializers.ChoiceField(
        choices=Account.Tier.choices, required=False, default="", allow_blank=True
    )


class AccountUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=roles.lead_owners(), required=False, allow_null=True
    )
    is_target = serializers.BooleanField(required=False)
    tier = serializers.ChoiceField(choices=Account.Tier.choices, required=False, allow_blank=True)


class AccountContactInput(_VisibleLeadsMixin, serializers.Serializer):
    """Put a lead in this account by hand: automatic matching never moves it afterwards."""

    lead = serializers.PrimaryKeyRelatedField(queryset=AccountContact.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_leads()


class AccountContactOutput(serializers.ModelSerializer):
    class Meta:
        model = AccountContact
        fields = ["lead", "account", "matched_by", "at"]
        read_only_fields = fields


class AccountFilter(filters.FilterSet):
    q = filters.CharFilter(method="search", max_length=100)
    owner = IdFilter(field_name="owner_id")
    tier = filters.ChoiceFilter(choices=Account.Tier.choices)
    is_target = filters.BooleanFilter()

    class Meta:
        model = Account
        fields: list[str] = []

    def search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        return account_selectors.accounts_search(queryset, value)


class AccountViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _CrmViewSet
):
    """Accounts the user may see; POST (managers), PATCH (managers, or the owning rep)."""

    serializer_class = AccountOutput
    filterset_class = AccountFilter
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet[Account]:
        return account_selectors.accounts_visible_to(self.request.user).prefetch_related("domains")

    @extend_schema(request=AccountCreateInput, responses={201: AccountOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(AccountCreateInput, self)
        with service_errors():
            account = services.account_create(by=request.user, **data)
        return Response(AccountOutput(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AccountUpdateInput, responses=AccountOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        account = self.get_object()
        data = _validated(AccountUpdateInput, self)
        with service_errors():
            account = services.account_update(account=account, by=request.user, **data)
        return Response(AccountOutput(self.get_queryset().get(pk=account.pk)).data)

    @extend_schema(request=AccountContactInput, responses=AccountContactOutput)
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def contacts(self, request: Request, pk: Any = None) -> Response:
        """Put a visible lead in this account by hand."""
        account = self.get_object()
        data = _validated(AccountContactInput, self)
        with service_errors():
            link = services.account_assign_lead(lead=data["lead"], account=account, by=request.user)
        return Response(AccountContactOutput(link).data)


class DealContactOutput(serializers.ModelSerializer):
    class Meta:
        model = DealContact
        fields = ["id", "deal", "lead", "role", "is_primary", "created_at"]
        read_only_fields = fields


class DealContactCreateInput(_VisibleLeadsMixin, serializers.Serializer):
    deal = serializers.PrimaryKeyRelatedField(queryset=DealContact.objects.none())
    lead = serializers.PrimaryKeyRelatedField(queryset=DealContact.objects.none())
    role = serializers.ChoiceField(choices=DealContact.Role.choices, default=DealContact.Role.OTHER)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_leads()
        self.fields["deal"].queryset = selectors.deals_visible_to(self._user())


class DealContactUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=DealContact.Role.choices)


class DealContactFilter(filters.FilterSet):
    deal = IdFilter(field_name="deal_id")
    lead = IdFilter(field_name="lead_id")
    account = IdFilter(field_name="deal__account_id")
    role = filters.ChoiceFilter(choices=DealContact.Role.choices)

    class Meta:
        model = DealContact
        fields: list[str] = []


class DealContactViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _CrmViewSet
):
    """The buying groups of visible deals; the primary contact (the deal's lead) stays."""

    serializer_class = DealContactOutput
    filterset_class = DealContactFilter
    ordering_fields = ["created_at"]
    ordering = ["deal", "-is_primary", "id"]

    def get_queryset(self) -> QuerySet[DealContact]:
        # A rep's deal may have another rep's people in its buying group: they are not listed.
        user = self.request.user
        return DealContact.objects.filter(
            deal__in=selectors.deals_visible_to(user), lead__in=selectors.leads_visible_to(user)
        ).select_related("deal__lead")

    @extend_schema(request=DealContactCreateInput, responses={201: DealContactOutput})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(DealContactCreateInput, self)
        with service_errors():
            contact = services.deal_contact_add(by=request.user, **data)
        return Response(DealContactOutput(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DealContactUpdateInput, responses=DealContactOutput)
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        contact = self.get_object()
        data = _validated(DealContactUpdateInput, self)
        with service_errors():
            contact = services.deal_contact_add(
                deal=contact.deal, lead=contact.lead, role=data["role"], by=request.user
            )
        return Response(DealContactOutput(contact).data)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        contact = self.get_object()
        with service_errors():
            services.deal_contact_remove(contact=contact, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
