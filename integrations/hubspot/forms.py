"""The HubSpot settings forms: what each HubSpot deal stage means here, and who owns each synced field."""

from django import forms

from integrations.hubspot.mapping import FIELDS, SyncedField
from integrations.hubspot_models import FieldOwner, HubSpotStageMapping
from lifecycle.models import CLOSED_DEAL_STAGES, DealStage

OBJECT_LABELS = {"account": "Companies → accounts", "contact": "Contacts", "deal": "Deals"}


class StageMappingForm(forms.Form):
    """One choice per HubSpot stage; a closed HubSpot stage offers only closed stages here, an open one open ones."""

    def __init__(self, *args, rows: list[HubSpotStageMapping], **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            stages = [
                (value, label)
                for value, label in DealStage.choices
                if (value in CLOSED_DEAL_STAGES) == row.hubspot_closed
            ]
            self.fields[f"stage_{row.pk}"] = forms.ChoiceField(
                label=row.stage_label or row.stage_id,
                choices=[("", "Not mapped: report deals in it"), *stages],
                required=False,
                initial=row.stage,
                help_text=f"{row.pipeline_label or row.pipeline_id} · HubSpot id {row.stage_id}"
                + (" · closed in HubSpot" if row.hubspot_closed else ""),
            )

    def stages(self) -> dict[int, str]:
        return {row.pk: self.cleaned_data[f"stage_{row.pk}"] for row in self.rows}

    def rows_with_fields(self):
        return [(row, self[f"stage_{row.pk}"]) for row in self.rows]


def ownership_field_name(synced: SyncedField) -> str:
    return f"{synced.object_type}__{synced.name}"


class FieldOwnershipForm(forms.Form):
    """Who wins a field that both sides changed since the last sync."""

    def __init__(self, *args, owners: dict[tuple[str, str], str], **kwargs):
        super().__init__(*args, **kwargs)
        for synced in FIELDS:
            pushed = " Written back to HubSpot when it changes here." if synced.pushed else ""
            if synced.object_type == "deal" and synced.name == "stage":
                pushed = " A deal closed here is written back and stays closed (seed 002)."
            self.fields[ownership_field_name(synced)] = forms.ChoiceField(
                label=synced.label,
                choices=FieldOwner.choices,
                initial=owners[(synced.object_type, synced.name)],
                widget=forms.RadioSelect,
                help_text=(f"HubSpot property {synced.hubspot_property}." if synced.hubspot_property else "") + pushed,
            )

    def owners(self) -> dict[tuple[str, str], str]:
        return {(synced.object_type, synced.name): self.cleaned_data[ownership_field_name(synced)] for synced in FIELDS}

    def groups(self):
        return [
            (label, [self[ownership_field_name(synced)] for synced in FIELDS if synced.object_type == object_type])
            for object_type, label in OBJECT_LABELS.items()
        ]
