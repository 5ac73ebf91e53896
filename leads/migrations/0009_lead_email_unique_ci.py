import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("leads", "0008_merge_leads_with_the_same_address")]

    operations = [
        migrations.AlterField(
            model_name="lead",
            name="email",
            field=models.EmailField(max_length=254),
        ),
        migrations.AddConstraint(
            model_name="lead",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"),
                name="lead_email_unique_ci",
                violation_error_message="A lead with this email address already exists.",
            ),
        ),
    ]
