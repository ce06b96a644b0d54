"""The health card's forms (override, sentiment) and the model editor's, one row per measure type."""

from django import forms
from django.utils import timezone

from health.models import MeasureType
from health.services import OVERRIDE_MAX_DAYS

SENTIMENT_CHOICES = [
    ("", "Choose…"), (1, "1 · about to leave"), (2, "2 · unhappy"), (3, "3 · neutral"), (4, "4 · happy"),
    (5, "5 · advocate"),
]  # fmt: skip


class OverrideForm(forms.Form):
    score = forms.IntegerField(min_value=0, max_value=100, label="Score (0 to 100)")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label="Reason")
    expires_on = forms.DateField(label="Until", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["expires_on"].help_text = f"At most {OVERRIDE_MAX_DAYS} days; then the computed score counts again."
        self.fields["expires_on"].widget.attrs["min"] = (today + timezone.timedelta(days=1)).isoformat()


class SentimentForm(forms.Form):
    sentiment = forms.TypedChoiceField(choices=SENTIMENT_CHOICES, coerce=int, empty_value=None, label="Your read")
    comment = forms.CharField(max_length=300, required=False, label="Why (optional)")


THRESHOLD_KEYS = ("t0", "t50", "t100")


class HealthModelForm(forms.Form):
    """Name, and for every measure type a weight (0 leaves it out) and the raw values that score 0, 50 and 100."""

    name = forms.CharField(max_length=100)

    def __init__(self, *args, measures=None, **kwargs):
        super().__init__(*args, **kwargs)
        by_type = {m["type"]: m for m in measures or []}
        self.rows = []
        for kind, label in MeasureType.choices:
            current = by_type.get(kind)
            weight = forms.FloatField(required=False, min_value=0, max_value=100, label=f"{label}: weight")
            weight.initial = current["weight"] if current else 0
            weight.widget.attrs["aria-label"] = weight.label
            self.fields[f"weight_{kind}"] = weight
            for position, key in enumerate(THRESHOLD_KEYS):
                threshold = forms.FloatField(required=False, label=f"{label}: raw value for {key[1:]}")
                threshold.initial = current["thresholds"][position] if current else None
                threshold.widget.attrs["aria-label"] = threshold.label
                self.fields[f"{key}_{kind}"] = threshold
            self.rows.append(kind)

    def measures(self) -> list[dict]:
        data = self.cleaned_data
        result = []
        for kind in self.rows:
            weight = data.get(f"weight_{kind}") or 0
            thresholds = [data.get(f"{key}_{kind}") for key in THRESHOLD_KEYS]
            if weight == 0 and all(t is None for t in thresholds):
                continue
            result.append({"type": kind, "weight": _number(weight), "thresholds": [_number(t) for t in thresholds]})
        return result


def _number(value):
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value
