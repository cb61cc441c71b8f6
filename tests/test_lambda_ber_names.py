"""Our models mirror lambda-ber: every class, slot and enum value we use exists upstream.

The schema has no licence, so it is not shipped; this test reads the team's reference copy when it
is present next to the project and skips, saying so, when it is not.
"""

from __future__ import annotations

import pytest
from conftest import SHARED_REFERENCE

from empiar_mirror.index.lambda_ber import enums
from empiar_mirror.index.lambda_ber import models as lb

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the lambda-ber schema")
SCHEMA_DIR = SHARED_REFERENCE / "lambda-ber" / "schema"
pytestmark = pytest.mark.skipif(
    not SCHEMA_DIR.is_dir(), reason=f"lambda-ber schema not found at {SCHEMA_DIR}"
)

# Ours, not upstream: the Image subclass discriminator, the study's dataset link, and the
# owner columns of the EAV rows that hold `additional_properties` / `additional_metrics`.
OUR_SLOTS = {"image_type", "dataset_id"}
EAV_MODELS = {lb.AdditionalProperty, lb.AdditionalMetric}
# One table holds a class and its subclasses, told apart by a discriminator column.
MERGED_CLASSES = {
    "Image": ["Image", "Image2D", "Image3D", "Movie", "FluorescenceImage"],
    "Instrument": ["Instrument", "CryoEMInstrument"],
}


@pytest.fixture(scope="module")
def schema():
    classes, enum_defs = {}, {}
    for path in SCHEMA_DIR.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        classes.update(doc.get("classes") or {})
        enum_defs.update(doc.get("enums") or {})
    return classes, enum_defs


def slots_of(classes, name):
    cls = classes[name]
    slots = set(cls.get("slots") or []) | set(cls.get("attributes") or {})
    slots |= set(cls.get("slot_usage") or {})
    for parent in [cls.get("is_a"), *(cls.get("mixins") or [])]:
        if parent:
            slots |= slots_of(classes, parent)
    return slots


def our_models():
    """Every table model and inlined group we define, except our EAV rows."""
    return [
        m
        for m in vars(lb).values()
        if isinstance(m, type)
        and issubclass(m, (lb._Model, lb._Group))
        and hasattr(m, "table")
        and m not in EAV_MODELS
    ]


def test_classes_and_slots_exist_upstream(schema):
    classes, _ = schema
    assert our_models(), "no models found"
    for model in [*our_models(), lb.DatabaseCrossReference, lb.QuantityValue]:
        name = model.__name__
        upstream = set().union(*(slots_of(classes, c) for c in MERGED_CLASSES.get(name, [name])))
        ours = {f for f in model.model_fields if not f.startswith("x_")} - OUR_SLOTS
        assert ours <= upstream, f"{name}: not upstream slots: {sorted(ours - upstream)}"


def test_enum_values_exist_upstream(schema):
    _, enum_defs = schema
    for name, enum in vars(enums).items():
        if (
            not (isinstance(enum, type) and issubclass(enum, enums.StrEnum))
            or enum is enums.StrEnum
        ):
            continue
        upstream = set(enum_defs[name].get("permissible_values") or {})
        ours = {e.value for e in enum}
        assert ours <= upstream, f"{name}: not upstream values: {sorted(ours - upstream)}"
