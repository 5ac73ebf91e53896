"""The visual condition builder's page data (static/clm/condition-builder.js).

Segments (nurture) and candidate channel rules (campaigns) each describe their own fields and
operators; this module adds the builder's own words, translated, so one script serves both.
The result goes into the page with `json_script`.
"""

from __future__ import annotations

from typing import Any, Literal

from django.utils.translation import gettext as _

Shape = Literal["group", "list"]


def builder_texts() -> dict[str, str]:
    """The builder's labels and messages in the request's language."""
    return {
        "builder": _("Builder"),
        "json": _("Advanced (JSON)"),
        "views": _("How to edit the conditions"),
        "match": _("Match"),
        "and": _("all of these (and)"),
        "or": _("any of these (or)"),
        "all_hold": _("All of these conditions must hold."),
        "field": _("Field"),
        "op": _("Operator"),
        "value": _("Value"),
        "values": _("Values"),
        "texts_help": _("Separate values with commas."),
        "key": _("Custom field name"),
        "yes": _("Yes"),
        "no": _("No"),
        "add_condition": _("Add condition"),
        "add_group": _("Add group"),
        "remove_condition": _("Remove condition"),
        "remove_group": _("Remove group"),
        "group": _("Group"),
        "empty": _("No conditions yet: everything matches."),
        "checking": _("Checking the JSON…"),
        "bad_json": _("Not valid JSON: %(error)s"),
        "kept": _("The builder is unchanged until the JSON is fixed:"),
        "not_list": _("The conditions must be a list of {field, op, value}."),
        "unreachable": _("The conditions could not be checked; try again."),
    }


def builder_catalogue(*, shape: Shape, fields: list[dict[str, Any]], check_url: str) -> dict:
    """Everything the builder needs: the shape of the JSON (a nested and/or `group` or a
    `list` that must all hold), the fields with operators and choices, where the JSON is
    checked (a POST answering 400 with {"errors": [...]}), and the builder's words."""
    return {"shape": shape, "fields": fields, "check_url": check_url, "texts": builder_texts()}
