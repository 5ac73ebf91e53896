"""Hosted landing pages for teams without their own site."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clm import roles
from leads import erasure, privacy, selectors, services
from leads.heard_about import form_options
from leads.models import CaptureForm, Submission

SPAM_PAGE_SIZE = 50


def landing_page(request: HttpRequest, slug: str) -> HttpResponse:
    """/l/<slug>/: a headline, a text and the form, posting to the public capture API."""
    form = get_object_or_404(CaptureForm, slug=slug, is_active=True)
    context = {
        "form": form,
        "fields": form.custom_fields,
        "heard_about_options": form_options(form) if form.ask_heard_about else [],
    }
    response = render(request, "leads/landing.html", context)
    success = urlsplit(form.success_url) if form.success_url else None
    if success and success.scheme in ("http", "https") and success.netloc:
        # A plain (no-JS) post is answered with a redirect to the success URL, which the
        # browser checks against form-action too.
        response._csp_update = {"form-action": [f"{success.scheme}://{success.netloc}"]}  # type: ignore[attr-defined]
    return response


@csrf_exempt  # reached by a 303 after a cross-site post; it only renders static text
def thanks(request: HttpRequest) -> HttpResponse:
    """The default page a plain HTML post lands on."""
    return render(request, "leads/thanks.html")


class PrivacyForm(forms.Form):
    email = forms.EmailField(max_length=254)
    action = forms.ChoiceField(
        choices=[
            ("export", gettext_lazy("Export")),
            ("withdraw", gettext_lazy("Withdraw consent")),
            ("erase", gettext_lazy("Erase")),
        ]
    )
    confirm = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") == "erase" and not data.get("confirm"):
            self.add_error("confirm", _("Tick the box to confirm: erasure cannot be undone."))
        return data


@roles.role_required(roles.ADMIN)
def privacy_page(request: HttpRequest) -> HttpResponse:
    """/setup/privacy/: a person's data as JSON, consent withdrawal, erasure (Admins only)."""
    form = PrivacyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email, action = form.cleaned_data["email"], form.cleaned_data["action"]
        if action == "export":
            data = privacy.person_export(email=email)
            response = HttpResponse(
                json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
            )
            response["Content-Disposition"] = 'attachment; filename="clm-person-export.json"'
            return response
        if action == "withdraw":
            if privacy.consent_withdraw(email=email) is None:
                form.add_error("email", _("No lead with this address."))
                return render(request, "leads/privacy.html", {"form": form}, status=404)
            messages.success(request, _("Consent withdrawn: the person is left out of exports."))
        else:
            result = erasure.person_erase(email=email, by=request.user)
            summary = ", ".join(f"{n} {kind}" for kind, n in result.counts.items()) or _("no rows")
            messages.success(
                request,
                _("Erased (%(summary)s); erasure #%(number)s logged.")
                % {"summary": summary, "number": result.erasure.pk},
            )
        return redirect("privacy")
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/privacy.html", {"form": form}, status=status)


@roles.role_required(roles.ADMIN)
def spam_list(request: HttpRequest) -> HttpResponse:
    """/setup/spam/: posts the bot checks held back, each with a "not spam" button (Admins)."""
    page = Paginator(selectors.suspected_spam(), SPAM_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "submission": s,
            "email": str(s.payload.get("email", "")),
            "name": str(
                s.payload.get("name")
                or " ".join(str(s.payload.get(k, "")) for k in ("first_name", "last_name"))
            ).strip(),
        }
        for s in page.object_list
    ]
    return render(request, "leads/spam.html", {"page": page, "rows": rows})


@require_POST
@roles.role_required(roles.ADMIN)
def spam_release(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Not spam": capture the held post as it would have been when it arrived."""
    submission = get_object_or_404(Submission, pk=pk)
    try:
        result = services.submission_release(submission=submission, by=request.user)
    except services.NotCapturable as refused:
        problems = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in refused.errors.items())
        messages.error(
            request, _("This post cannot be captured: %(problems)s") % {"problems": problems}
        )
        return redirect("spam")
    if result is None:
        messages.info(request, _("This post was already captured; nothing changed."))
    else:
        messages.success(request, _("Captured as a lead; the post is no longer held as spam."))
    return redirect("spam")
