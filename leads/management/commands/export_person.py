"""manage.py export_person --email ADDRESS [--output FILE]"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from leads.privacy import person_export


class Command(BaseCommand):
    help = "Every row about a person as JSON (stdout, or --output FILE)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--output", default="", help="write to this file instead of stdout")

    def handle(self, *args: Any, email: str, output: str, **options: Any) -> None:
        text = json.dumps(person_export(email=email), indent=2, ensure_ascii=False)
        if output:
            Path(output).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"Written to {output}")
        else:
            self.stdout.write(text)
