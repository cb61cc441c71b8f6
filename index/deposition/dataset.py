"""A lambda-ber Dataset document read as a deposition needs it: its lists indexed, seen from its
own study (the one whose id is below the Dataset's id, else the first)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

# The Dataset lists read here.
_LISTS = (
    "studies",
    "persons",
    "organizations",
    "publications",
    "experiment_runs",
    "data_files",
    "images",
    "study_experiment_associations",
    "study_person_associations",
    "study_publication_associations",
    "person_organization_associations",
)


class NotADataset(ValueError):
    """The input is not a lambda-ber Dataset document."""


class _Loader(yaml.SafeLoader):
    """YAML without aliases: a Dataset document needs none, and a few dozen aliases of aliases
    expand to billions of nodes for whoever walks them (an alias bomb)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise NotADataset("YAML aliases (*name) are not read in a Dataset document")
        return super().compose_node(parent, index)


def parse_document(text: str) -> Any:
    """A JSON or YAML text as plain data."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    except RecursionError:
        raise NotADataset("nested too deeply to read") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise NotADataset(f"neither JSON nor YAML ({exc.__class__.__name__})") from None
    except RecursionError:
        raise NotADataset("nested too deeply to read") from None


def stripped(value: Any) -> str | None:
    """A text value without its surrounding space; None for blank text or any other value."""
    return (value.strip() or None) if isinstance(value, str) else None


def items(owner: Mapping[str, Any], slot: str) -> list[Any]:
    value = owner.get(slot)
    if value is None:
        return []
    if not isinstance(value, list):
        raise NotADataset(f"`{slot}` is not a list")
    return value


def objects(owner: Mapping[str, Any], slot: str) -> list[Mapping[str, Any]]:
    found = items(owner, slot)
    if not all(isinstance(item, Mapping) for item in found):
        raise NotADataset(f"`{slot}` is not a list of objects")
    # Ids and references to them are looked up and compared: each must be text.
    for item in found:
        for key, value in item.items():
            if (key == "id" or str(key).endswith("_id")) and not isinstance(value, str | None):
                raise NotADataset(f"`{slot}` has a `{key}` that is not text")
    return found


class Dataset:
    """A Dataset document with its lists indexed, seen from its own study."""

    def __init__(self, doc: Any) -> None:
        if not isinstance(doc, Mapping):
            raise NotADataset("not a lambda-ber Dataset document (not a mapping)")
        if not stripped(doc.get("id")):
            raise NotADataset("not a lambda-ber Dataset document (it has no id)")
        self.lists = lists = {slot: objects(doc, slot) for slot in _LISTS}
        own = [s for s in lists["studies"] if str(s.get("id", "")).startswith(f"{doc['id']}/")]
        self.study: Mapping[str, Any] = (own or lists["studies"] or [{}])[0]
        study_id = self.study.get("id")
        self.persons = {p.get("id"): p for p in lists["persons"]}
        self.organizations = {o.get("id"): o for o in lists["organizations"]}
        runs = {r.get("id"): r for r in lists["experiment_runs"]}
        linked = [
            a.get("experiment_id")
            for a in lists["study_experiment_associations"]
            if a.get("study_id") == study_id
        ]
        self.experiments = [runs[i] for i in linked if i in runs] or list(runs.values())
        self.person_links = [
            a for a in lists["study_person_associations"] if a.get("study_id") == study_id
        ]

    def property(self, attribute: str) -> Any:
        """An `additional_properties` value of the study's experiment runs."""
        for run in self.experiments:
            for prop in objects(run, "additional_properties"):
                if (prop.get("attribute") or {}).get("id") == attribute:
                    return prop.get("value")
        return None

    def people(self, role: str) -> list[Mapping[str, Any]]:
        """The study's people in one role; authors in author order."""
        links = [a for a in self.person_links if a.get("role") == role]
        if role == "author":
            links.sort(key=lambda a: (a.get("author_position") is None, a.get("author_position")))
        return self._persons(links)

    def _persons(self, links: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        ids = list(dict.fromkeys(a.get("person_id") for a in links))
        return [self.persons[i] for i in ids if i in self.persons]

    def corresponding(self) -> Mapping[str, Any] | None:
        """The study's first person with `corresponding: true`."""
        persons = self._persons([a for a in self.person_links if a.get("corresponding") is True])
        return persons[0] if persons else None

    def affiliation(self, person: Mapping[str, Any]) -> Mapping[str, Any]:
        """The person's organization: the one their affiliation names, else their first."""
        orgs = [
            self.organizations[a.get("organization_id")]
            for a in self.lists["person_organization_associations"]
            if a.get("person_id") == person.get("id")
            and a.get("organization_id") in self.organizations
        ]
        named = [o for o in orgs if o.get("title") == person.get("affiliation")]
        return (named or orgs or [{}])[0]

    def publications(self) -> list[Mapping[str, Any]]:
        """The study's publications, the primary one first."""
        by_id = {p.get("id"): p for p in self.lists["publications"]}
        links = [
            a
            for a in self.lists["study_publication_associations"]
            if a.get("study_id") == self.study.get("id") and a.get("publication_id") in by_id
        ]
        links.sort(key=lambda a: a.get("is_primary") is not True)
        return [by_id[a["publication_id"]] for a in links]

    def raw_data(self) -> list[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]]:
        """The data files of the study's raw data, each with its run and its image."""
        runs = {r.get("id"): r for r in self.experiments}
        files = [
            f
            for f in self.lists["data_files"]
            if f.get("file_role") == "raw" and f.get("related_entity") in (None, *runs)
        ]
        first_run = self.experiments[0] if self.experiments else {}
        out = []
        for f in files:
            run = runs.get(f.get("related_entity"), first_run)
            out.append((f, run, _with_subclass_slots(self._image(f), run)))
        return out

    def _image(self, data_file: Mapping[str, Any]) -> Mapping[str, Any]:
        """The data file's representative image: `<file id>/image`, else its one namesake."""
        images = self.lists["images"]
        by_id = [i for i in images if i.get("id") == f"{data_file.get('id')}/image"]
        namesakes = [i for i in images if i.get("file_name") == data_file.get("file_name")]
        return (by_id or (namesakes if len(namesakes) == 1 else []) or [{}])[0]


def _with_subclass_slots(image: Mapping[str, Any], run: Mapping[str, Any]) -> Mapping[str, Any]:
    """The image with the subclass slots (a Movie's frames, an Image3D's depth and voxel) that
    an export valid in lambda-ber's closed world keeps on the run that made it, as attributes
    `<image id>#<slot>`; slots the image itself states win."""
    image_id = image.get("id")
    if not isinstance(image_id, str):
        return image
    moved: dict[str, Any] = {}
    for hatch in ("additional_metrics", "additional_properties"):
        items = run.get(hatch)
        for item in items if isinstance(items, list) else []:
            attribute = item.get("attribute") if isinstance(item, Mapping) else None
            name = attribute.get("id") if isinstance(attribute, Mapping) else None
            if not isinstance(name, str) or not name.startswith(f"{image_id}#"):
                continue
            slot = name.removeprefix(f"{image_id}#")
            moved[slot] = (
                {k: v for k, v in item.items() if k != "attribute"}
                if hatch == "additional_metrics"
                else item.get("value")
            )
    return {**moved, **image}
