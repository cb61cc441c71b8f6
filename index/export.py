"""One EMPIAR entry, with its linked EMDB maps and PDB models, as a lambda-ber `Dataset` document;
or one EMDB map or PDB model on its own.

Built from the tables alone (never from the stored payloads), driven by our pydantic models: each
model knows its table, which of its slots are QuantityValues (stored as `<slot>_value` /
`<slot>_unit`), which are inlined groups (1:1 tables keyed by `owner_key`) and which are
booleans (stored as 0/1). Our own columns (`x_*`) and bookkeeping (`dataset_id`, `image_type`,
`owner_table`, `owner_id`) are left out.

What the document holds, all as flat lists ordered by id (associations by their keys):
* the rows the record owns (`empiar:EMPIAR-n`, `emdb:EMD-n` or `pdb:ID`, and ids below it);
* for an EMPIAR entry, the rows of each record of another archive linked to it (`record_link`, as
  `links.linked` reads it: its EMDB maps and PDB models) that the database holds: their studies
  are further items of `studies`;
* the people, publications and organisations those studies link to, with the people's
  affiliations;
* the links between archives (`workflow_experiment`, `workflow_input`, `workflow_output`) stated
  by any of those records.
"""

from __future__ import annotations

import json
import math
import re
import typing
from typing import Any

import yaml
from pydantic import BaseModel
from sqlite_utils import Database

from empiar_mirror.index import links, reading
from empiar_mirror.index.archives import ARCHIVES, EMPIAR, Archive
from empiar_mirror.index.lambda_ber import models as lb

# Our own columns: they pick a class or tie a row to its owner, and are no lambda-ber slot.
_BOOKKEEPING = {"dataset_id", "image_type", "owner_table", "owner_id"}

# Dataset slot -> the model whose rows it lists (entities, then associations).
_ENTITIES: dict[str, type[lb._Model]] = {
    "studies": lb.Study,
    "persons": lb.Person,
    "organizations": lb.Organization,
    "publications": lb.Publication,
    "instruments": lb.Instrument,
    "proteins": lb.Protein,
    "nucleic_acids": lb.NucleicAcid,
    "small_molecules": lb.SmallMolecule,
    "samples": lb.Sample,
    "sample_components": lb.SampleComponent,
    "sample_preparations": lb.SamplePreparation,
    "experiment_runs": lb.ExperimentRun,
    "workflow_runs": lb.WorkflowRun,
    "data_files": lb.DataFile,
    "images": lb.Image,
}
_ASSOCIATIONS: dict[str, type[lb._Model]] = {
    "study_sample_associations": lb.StudySampleAssociation,
    "study_experiment_associations": lb.StudyExperimentAssociation,
    "study_workflow_associations": lb.StudyWorkflowAssociation,
    "experiment_sample_associations": lb.ExperimentSampleAssociation,
    "experiment_instrument_associations": lb.ExperimentInstrumentAssociation,
    "workflow_experiment_associations": lb.WorkflowExperimentAssociation,
    "workflow_input_associations": lb.WorkflowInputAssociation,
    "workflow_output_associations": lb.WorkflowOutputAssociation,
    "study_person_associations": lb.StudyPersonAssociation,
    "study_organization_associations": lb.StudyOrganizationAssociation,
    "study_publication_associations": lb.StudyPublicationAssociation,
    "person_organization_associations": lb.PersonOrganizationAssociation,
}
# Entities a record owns, found by id: the record's own id or a path below it.
_OWNED_ENTITIES = (
    "studies",
    "instruments",
    "proteins",
    "nucleic_acids",
    "small_molecules",
    "samples",
    "sample_components",
    "sample_preparations",
    "experiment_runs",
    "workflow_runs",
    "data_files",
    "images",
)
# Associations a record owns, found by the column that holds one of its ids.
_OWNED_ASSOCIATIONS = {
    "study_sample_associations": "study_id",
    "study_experiment_associations": "study_id",
    "study_workflow_associations": "study_id",
    "experiment_sample_associations": "experiment_id",
    "experiment_instrument_associations": "experiment_id",
    "study_person_associations": "study_id",
    "study_organization_associations": "study_id",
    "study_publication_associations": "study_id",
    # Links between archives name the record that stated them.
    "workflow_experiment_associations": "x_owner",
    "workflow_input_associations": "x_owner",
    "workflow_output_associations": "x_owner",
}
# Tables whose owners have lambda-ber's `additional_properties` / `additional_metrics` slots.
_ESCAPE_HATCH_OWNERS = {
    "experiment_run",
    "instrument",
    "sample_preparation",
    "workflow_run",
    "sample",
    "protein",
    "nucleic_acid",
    "small_molecule",
    "sample_component",
}
_EMPIAR_NUMBER = re.compile(r"^(?:EMPIAR-)?(\d+)$", re.IGNORECASE)


def _kinds(annotation: Any) -> tuple:
    return (annotation, *typing.get_args(annotation))


def _group_class(annotation: Any) -> type[lb._Group] | None:
    for kind in _kinds(annotation):
        if isinstance(kind, type) and issubclass(kind, lb._Group):
            return kind
    return None


def _is_bool(annotation: Any) -> bool:
    return bool in _kinds(annotation)


def _owned(column: str, owners: list[str]) -> tuple[str, list[str]]:
    """SQL condition (and parameters): `column` is one of the owners' ids or a path below one."""
    clauses, params = [], []
    for owner in owners:
        clauses.append(f"[{column}] = ? or ([{column}] >= ? and [{column}] < ?)")
        params += [owner, owner + "/", owner + "0"]
    return " or ".join(f"({c})" for c in clauses) or "0", params


def _in(column: str, values: list[str]) -> tuple[str, list[str]]:
    if not values:
        return "0", []
    return f"[{column}] in ({', '.join('?' for _ in values)})", list(values)


def _object(
    model: type[BaseModel], row: dict[str, Any], extensions: bool = False
) -> dict[str, Any]:
    """A row of `model`'s table as a lambda-ber object: slots in the model's order, no NULLs;
    our `x_` slots too when `extensions` is set."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if (name.startswith("x_") and not extensions) or name in _BOOKKEEPING:
            continue
        if lb._is_quantity(info.annotation):
            value, unit = row.get(f"{name}_value"), row.get(f"{name}_unit")
            if unit is not None:
                out[name] = (
                    {"numeric_value": value, "unit": unit} if value is not None else {"unit": unit}
                )
            continue
        value = row.get(name)
        if value is None:
            continue
        out[name] = bool(value) if _is_bool(info.annotation) else value
    return out


class _Exporter:
    def __init__(self, db: Database, extensions: bool) -> None:
        self.db = db
        self.extensions = extensions

    def entities(self, model: type[lb._Model], where: str, params: list) -> list[dict[str, Any]]:
        rows = reading.rows(
            self.db, f"select * from [{model.table}] where {where} order by id", params
        )
        return [_object(model, row, self.extensions) for row in rows]

    def associations(
        self, model: type[lb._Model], where: str, params: list
    ) -> list[dict[str, Any]]:
        # By owner, then as the record states them (its rows are written in its order, and
        # rewritten whole): principal investigators as EMPIAR lists them, not by id.
        order = f"[{next(iter(model.model_fields))}], rowid"
        rows = reading.rows(
            self.db, f"select * from [{model.table}] where {where} order by {order}", params
        )
        return [_object(model, row, self.extensions) for row in rows]

    def complete(self, model: type[lb._Model], objects: list[dict[str, Any]]) -> None:
        """Add what lives in other tables: inlined groups, multivalued slots, escape hatches."""
        ids = [o["id"] for o in objects]
        if not ids:
            return
        for name, info in model.model_fields.items():
            group = _group_class(info.annotation)
            if group is None:
                continue
            where, params = _in(group.owner_key, ids)
            found = {
                row[group.owner_key]: row
                for row in reading.rows(
                    self.db, f"select * from [{group.table}] where {where}", params
                )
            }
            for obj in objects:
                row = found.get(obj["id"])
                if row is None:
                    continue
                value = _object(group, row, self.extensions)
                if group is lb.BufferComposition:
                    components = self._list(
                        "buffer_component", "sample_id", "component", obj["id"], "position"
                    )
                    if components:
                        value["components"] = components
                if value:
                    obj[name] = value
        for obj in objects:
            self._children(model, obj)

    def _list(self, table: str, key: str, column: str, owner: str, order: str) -> list[Any]:
        return [
            r[0]
            for r in self.db.execute(
                f"select [{column}] from [{table}] where [{key}] = ? and [{column}] is not null "
                f"order by [{order}]",
                [owner],
            )
        ]

    def _children(self, model: type[lb._Model], obj: dict[str, Any]) -> None:
        if model is lb.Study:
            keywords = self._list("study_keyword", "study_id", "keyword", obj["id"], "keyword")
            if keywords:
                obj["keywords"] = keywords
            refs = reading.rows(
                self.db,
                "select * from database_cross_reference where owner_table = 'study' and "
                "owner_id = ? order by database_name, database_id",
                [obj["id"]],
            )
            if refs:
                obj["database_cross_references"] = [
                    _object(lb.DatabaseCrossReference, r) for r in refs
                ]
        elif model is lb.Publication:
            authors = self._list(
                "publication_author", "publication_id", "name", obj["id"], "position"
            )
            if authors:
                obj["authors"] = authors
        if model.table in _ESCAPE_HATCH_OWNERS:
            properties = reading.rows(
                self.db,
                "select attribute_id, attribute_label, value from additional_property "
                "where owner_table = ? and owner_id = ? and value is not null "
                "order by attribute_id",
                [model.table, obj["id"]],
            )
            if properties:
                obj["additional_properties"] = [
                    {"attribute": _attribute(p), "value": p["value"]} for p in properties
                ]
            metrics = reading.rows(
                self.db,
                "select attribute_id, attribute_label, numeric_value, unit from additional_metric "
                "where owner_table = ? and owner_id = ? and unit is not null "
                "order by attribute_id",
                [model.table, obj["id"]],
            )
            metrics += validation_metrics(self.db, model.table, obj["id"])
            if metrics:
                obj["additional_metrics"] = [
                    {
                        "attribute": _attribute(m),
                        **(
                            {"numeric_value": m["numeric_value"]}
                            if m["numeric_value"] is not None
                            else {}
                        ),
                        "unit": m["unit"],
                    }
                    for m in metrics
                ]


# EMDB's validation figures, exported where lambda-ber has a home for a value no named slot
# takes: the additional_metrics of the map's reconstruction (QualityMetrics.resolution is the
# authors' stated resolution; lambda-ber has no slot for a recalculated one, a Q-score or an
# atom inclusion). Attribute ids name the EMDB item each came from; labels say it was EMDB's
# own method, so a reader does not compare it with another site's figure.
_MAP_METRICS = (
    ("recalc_fsc_0143_a", "calculated_resolution_fsc_0143_value", "FSC 0.143, unmasked"),
    ("recalc_fsc_05_a", "calculated_resolution_fsc_05_value", "FSC 0.5, unmasked"),
    ("recalc_fsc_halfbit_a", "calculated_resolution_fsc_halfbit_value", "FSC half-bit, unmasked"),
    (
        "recalc_fsc_masked_0143_a",
        "calculated_resolution_fsc_masked_0143_value",
        "FSC 0.143, masked",
    ),
    (
        "recalc_fsc_corrected_0143_a",
        "calculated_resolution_fsc_corrected_0143_value",
        "FSC 0.143, masked, phase-randomisation corrected",
    ),
)
_RECONSTRUCTION = re.compile(r"^emdb:(EMD-[0-9]+)/workflow/reconstruction$")


def validation_metrics(db: Database, table: str, owner_id: str) -> list[dict[str, Any]]:
    """The figures of the map whose reconstruction `owner_id` is, as additional_metric rows."""
    match = _RECONSTRUCTION.match(owner_id) if table == "workflow_run" else None
    if match is None:
        return []
    emdb_id = match.group(1)
    maps = reading.rows(db, "select * from emdb_maps where emdb_id = ?", [emdb_id])
    if not maps:
        return []
    found = [
        {
            "attribute_id": f"emdb:{item}",
            "attribute_label": f"resolution recalculated by EMDB's validation ({words}); "
            "EMDB's own method",
            "numeric_value": maps[0][column],
            "unit": "Angstroms",
        }
        for column, item, words in _MAP_METRICS
        if maps[0].get(column) is not None
    ]
    for fit in reading.rows(
        db,
        "select * from emdb_model_fits where emdb_id = ? order by model_index",
        [emdb_id],
    ):
        for column, item, words, unit in (
            ("map_model_fsc_05_a", "mmfsc", "map-model FSC 0.5 resolution", "Angstroms"),
            ("qscore_average", "qscore", "average Q-score", "dimensionless"),
            ("atom_inclusion", "atom_inclusion_by_level", "atom inclusion", "dimensionless"),
        ):
            if fit[column] is not None:
                found.append(
                    {
                        "attribute_id": f"emdb:{item}/{fit['pdb_id']}",
                        "attribute_label": f"{words} of model {fit['pdb_id']} in this map, "
                        "by EMDB's validation; EMDB's own method",
                        "numeric_value": fit[column],
                        "unit": unit,
                    }
                )
    return found


def _attribute(row: dict[str, Any]) -> dict[str, str]:
    return {"id": row["attribute_id"], "label": row["attribute_label"] or row["attribute_id"]}


def _record(value: str) -> tuple[Archive, str] | None:
    """The archive and stored accession of an id as people write it: `EMPIAR-10442`, `10442`,
    `EMD-25107`, `7sgd`, or any of them as a CURIE (`emdb:EMD-25107`)."""
    text = value.strip()
    prefix, _, rest = text.partition(":")
    named = ARCHIVES.get(prefix.lower()) if rest else None
    bare = rest if named else text
    match = _EMPIAR_NUMBER.match(bare)
    if match and named in (None, EMPIAR) and EMPIAR.id_pattern.fullmatch(f"EMPIAR-{match[1]}"):
        return EMPIAR, f"EMPIAR-{match[1]}"
    # Stored upper-case, but for the lower-case extended PDB ids.
    for archive in [named] if named else ARCHIVES.values():
        for form in (bare.upper(), bare.lower()):
            if archive.id_pattern.fullmatch(form):
                return archive, form
    return None


def entry_accessions(db: Database) -> list[str]:
    """Every EMPIAR entry `export_dataset` can write, in accession order."""
    return [
        r["accession"]
        for r in reading.rows(
            db,
            "select e.accession from empiar_entries e join dataset d on d.id = 'empiar:' || "
            "e.accession order by length(e.accession), e.accession",
        )
    ]


def export_dataset(db: Database, accession: str, *, extensions: bool = False) -> dict[str, Any]:
    """The lambda-ber Dataset document of a record (plain, JSON-serialisable): an EMPIAR entry
    with the maps and models it links to, or an EMDB map or PDB model on its own.

    `extensions` keeps our `x_` slots: EMPIAR's own imageset values (voxel type, image count,
    category as served), which a deposition needs and lambda-ber has no slot for. A document
    with them no longer validates against lambda-ber's closed classes."""
    record = _record(accession)
    if record is None:
        raise LookupError(f"{accession} is not in this database")
    archive, acc = record
    dataset_id = archive.curie(acc)
    top = reading.rows(db, "select * from dataset where id = ?", [dataset_id])
    front = reading.rows(
        db, f"select * from [{archive.front_door}] where [{archive.key_column}] = ?", [acc]
    )
    if not front:
        raise LookupError(f"{accession} is not in this database")
    if not top:
        raise LookupError(f"{accession} is not public: the database holds no record of it")

    owners = [dataset_id]
    if archive is EMPIAR:
        linked = [
            other.curie(i)
            for other in links.neighbours(archive)
            for i in links.linked(db, archive, other, [acc]).get(acc, [])
        ]
        where, params = _in("id", linked)
        held = {r["id"] for r in reading.rows(db, f"select id from dataset where {where}", params)}
        owners += sorted(held)

    ex = _Exporter(db, extensions)
    doc: dict[str, Any] = _object(lb.Dataset, top[0], extensions)
    lists: dict[str, list[dict[str, Any]]] = {}

    for slot in _OWNED_ENTITIES:
        where, params = _owned("id", owners)
        lists[slot] = ex.entities(_ENTITIES[slot], where, params)
    for slot, column in _OWNED_ASSOCIATIONS.items():
        if column == "x_owner":
            where, params = _in(column, owners)
        else:
            where, params = _owned(column, owners)
        lists[slot] = ex.associations(_ASSOCIATIONS[slot], where, params)

    # Shared records, by what the studies link to.
    person_ids = sorted({a["person_id"] for a in lists["study_person_associations"]})
    lists["persons"] = ex.entities(lb.Person, *_in("id", person_ids))
    lists["person_organization_associations"] = ex.associations(
        lb.PersonOrganizationAssociation, *_in("person_id", person_ids)
    )
    publication_ids = sorted({a["publication_id"] for a in lists["study_publication_associations"]})
    lists["publications"] = ex.entities(lb.Publication, *_in("id", publication_ids))
    organization_ids = sorted(
        {a["organization_id"] for a in lists["study_organization_associations"]}
        | {a["organization_id"] for a in lists["person_organization_associations"]}
    )
    lists["organizations"] = ex.entities(lb.Organization, *_in("id", organization_ids))

    for slot, model in _ENTITIES.items():
        ex.complete(model, lists[slot])
    _plain_images(db, lists)
    for slot, model in _ENTITIES.items():
        lists[slot] = [_in_slot_order(model, obj) for obj in lists[slot]]
    _drop_dangling(lists)
    for slot in (*_ENTITIES, *_ASSOCIATIONS):
        if lists.get(slot):
            doc[slot] = lists[slot]
    return doc


def _plain_images(db: Database, lists: dict[str, list[dict[str, Any]]]) -> None:
    """Make every item of `images` a plain lambda-ber Image.

    `Dataset.images` has range Image and Image has no type designator: a reader that does not
    guess subclasses (the schema's generated classes, a closed-world JSON Schema) refuses a
    Movie's `frames` or an Image3D's `voxel_size` there. Image has no escape hatch either, so the
    image's class and its subclass slots go to the run that made it (its data file's
    `related_entity`: an experiment run or a workflow run, which have them), each attribute
    named `<image id>#<slot>` and labelled `<class>.<slot>`."""
    images = lists.get("images", [])
    if not images:
        return
    ids = [o["id"] for o in images]
    rows = {
        r["id"]: r
        for r in reading.rows(
            db,
            "select i.id, i.image_type, f.related_entity from image i left join data_file f "
            f"on f.id = i.x_data_file_id where i.id in ({', '.join('?' for _ in ids)})",
            ids,
        )
    }
    runs = {o["id"]: o for slot in ("experiment_runs", "workflow_runs") for o in lists[slot]}
    for image in images:
        row = rows[image["id"]]
        moved = {s: image.pop(s) for s in lb.Image.subclass_slots if s in image}
        # Mapping gives every image's data file a run; one without cannot keep these facts.
        run = runs.get(row["related_entity"])
        if run is None:
            continue
        properties = run.setdefault("additional_properties", [])
        metrics = run.setdefault("additional_metrics", [])
        if row["image_type"] != "Image":
            attribute = {"id": f"{image['id']}#image_type", "label": "image class"}
            properties.append({"attribute": attribute, "value": row["image_type"]})
        for slot, value in moved.items():
            attribute = {
                "id": f"{image['id']}#{slot}",
                "label": f"{lb.Image.subclass_slots[slot]}.{slot}",
            }
            if isinstance(value, dict):
                metrics.append({"attribute": attribute, **value})
            else:
                properties.append({"attribute": attribute, "value": value})
        for hatch in ("additional_properties", "additional_metrics"):
            if not run[hatch]:
                del run[hatch]


def _drop_dangling(lists: dict[str, list[dict[str, Any]]]) -> None:
    """Leave out an association that names a record the document does not hold: a link a record
    states to another archive's record the mirror has no public copy of (a withdrawn map's
    reconstruction, say) would be a reference to nothing."""
    held = {obj["id"] for slot in _ENTITIES for obj in lists.get(slot, [])}
    for slot in _ASSOCIATIONS:
        lists[slot] = [
            link
            for link in lists.get(slot, [])
            if all(v in held for k, v in link.items() if k.endswith("_id") and isinstance(v, str))
        ]


def _in_slot_order(model: type[BaseModel], obj: dict[str, Any]) -> dict[str, Any]:
    """The model's slot order, the escape hatches last: stable, readable documents."""
    order = [*model.model_fields, "additional_properties", "additional_metrics"]
    return {name: obj[name] for name in order if name in obj}


def _finite(value: Any) -> Any:
    """`value` with every infinite or NaN number made None, at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def dump(document: dict[str, Any], fmt: str) -> str:
    """The document as JSON, one line of JSON Lines, or YAML text.

    JSON has no infinite or NaN numbers (Python would write `Infinity`, which no JSON reader
    takes): such a value, a defect of its archive, becomes null, JSON's "no value", so one bad
    number never costs the whole document. YAML writes them as `.inf` and `.nan`."""
    if fmt in ("json", "jsonl"):
        indent = 2 if fmt == "json" else None  # JSON Lines: one document a line
        text = json.dumps(_finite(document), indent=indent, ensure_ascii=False, allow_nan=False)
        return text + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    raise ValueError(f"unknown format {fmt!r}: use json or yaml")
