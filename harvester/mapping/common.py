"""What the three mappings share: ids, people, publications, funders."""

from __future__ import annotations

import json
import re
from typing import Any

from empiar_mirror.harvester.raw.normalize import normalize_emdb_id
from empiar_mirror.index.lambda_ber import models as lb
from empiar_mirror.index.lambda_ber.enums import (
    OrganizationRoleEnum,
    OrganizationTypeEnum,
    PersonRoleEnum,
)
from empiar_mirror.index.lambda_ber.record import distinct

_ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[0-9X]$")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "unnamed"


def orcid_url(orcid: str | None) -> str | None:
    if orcid and _ORCID_RE.match(orcid.strip()):
        return f"https://orcid.org/{orcid.strip()}"
    return None


# The mappings' name for it: an EMDB id in a reference, normalized, or None if it is none.
emdb_id = normalize_emdb_id


def json_list(values) -> str:
    return json.dumps(distinct(values), ensure_ascii=False)


class People:
    """Person rows for one record, merging the same person seen in several roles."""

    def __init__(self, dataset_id: str, study_id: str) -> None:
        self.dataset_id = dataset_id
        self.study_id = study_id
        self.persons: dict[str, dict[str, Any]] = {}
        self.links: list[lb.StudyPersonAssociation] = []

    def add(self, local: str, orcid: str | None, **fields: Any) -> str:
        pid = orcid_url(orcid) or f"{self.dataset_id}/person/{local}"
        person = self.persons.setdefault(pid, {"id": pid, "orcid": orcid_url(orcid)})
        for key, value in fields.items():
            if value is not None and person.get(key) is None:
                person[key] = value
        return pid

    def authors(self, names_and_orcids: list[tuple[str, str | None]]) -> None:
        for pos, (name, orcid) in enumerate(names_and_orcids, start=1):
            pid = self.add(str(pos), orcid, full_name=name)
            self.link(pid, PersonRoleEnum.author, author_position=pos)

    def link(self, person_id: str, role: PersonRoleEnum, **fields: Any) -> None:
        self.links.append(
            lb.StudyPersonAssociation(
                study_id=self.study_id, person_id=person_id, role=role, **fields
            )
        )

    def records(self) -> list[lb._Model]:
        persons = [lb.Person(title=p.get("full_name"), **p) for p in self.persons.values()]
        return [*persons, *self.links]


def organization(source: str, name: str, **fields: Any) -> lb.Organization:
    return lb.Organization(id=f"{source}:organization/{slug(name)}", title=name, **fields)


def funders(
    source: str, study_id: str, grants: list[tuple[str, str | None, str | None]]
) -> list[lb._Model]:
    """(funding body, award number, country) -> funder organisations and their study links."""
    orgs: dict[str, lb.Organization] = {}
    links: list[lb._Model] = []
    for body, code, country in grants:
        org = organization(
            source, body, organization_type=OrganizationTypeEnum.funding_agency, country=country
        )
        orgs.setdefault(org.id, org)
        link = lb.StudyOrganizationAssociation(
            study_id=study_id,
            organization_id=org.id,
            role=OrganizationRoleEnum.funder,
            award_number=code,
        )
        if link not in links:
            links.append(link)
    return [*orgs.values(), *links]


def publication_id(doi: str | None, pubmed: str | None, local: str) -> str:
    """lambda-ber's rule: doi: if a DOI exists, else pmid:, else a source-local id."""
    if doi:
        return f"doi:{doi}"
    if pubmed:
        return f"pmid:{pubmed}"
    return local


def publication(local: str, study_id: str, is_primary: bool, **fields: Any) -> list[lb._Model]:
    doi, pubmed = fields.pop("doi", None), fields.pop("pubmed_id", None)
    pub_id = publication_id(doi, pubmed, local)
    return [
        lb.Publication(
            id=pub_id,
            doi=f"doi:{doi}" if doi else None,
            pubmed_id=f"pmid:{pubmed}" if pubmed else None,
            **fields,
        ),
        lb.StudyPublicationAssociation(
            study_id=study_id, publication_id=pub_id, is_primary=is_primary
        ),
    ]


def manufacturer(model: str | None) -> str | None:
    """Microscope and detector makers from the model names archives use."""
    if not model:
        return None
    head = model.upper()
    for prefixes, name in (
        (("FEI", "TFS", "THERMO"), "Thermo Fisher Scientific"),
        (("GATAN",), "Gatan"),
        (("JEOL",), "JEOL"),
        (("HITACHI",), "Hitachi"),
        (("ZEISS",), "Zeiss"),
        (("DIRECT ELECTRON", "DE-"), "Direct Electron"),
    ):
        if head.startswith(prefixes):
            return name
    return None
