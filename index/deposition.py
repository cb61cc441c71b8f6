"""EMPIAR deposition documents from lambda-ber Dataset documents.

The output is the JSON that EMPIAR's deposition API takes, in the format of EBI's own
`empiar-depositor` tool (which can submit it), and `problems` checks it against the schema that
tool ships. `deposition_from_dataset` reads the Dataset's own study (the one whose id is below the
Dataset's id, else the first): its title, people, publications, cross references, experiment run
and the data files of its raw data, one imageset each.

lambda-ber has no slot for some of what EMPIAR asks of an imageset (its voxel type, image count,
frame range, EMPIAR's finer categories). Those are read from the empiar-mirror DataFile extension
slots (`x_empiar_category`, `x_voxel_type`, `x_num_images_or_tilt_series`, ...: EMPIAR's labels and
values verbatim) when the document has them, else derived from the lambda-ber slots where that is
unambiguous, else left out, and `problems` says what is missing and where it would come from.
A value is never guessed: a document is incomplete rather than wrong.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jsonschema
import yaml

from empiar_mirror.index.lambda_ber.record import SELF

SCHEMA_PACKAGE = "empiar_depositor"
SCHEMA_RESOURCE = "empiar_deposition.schema.json"

# EMPIAR's labels (as its entry API serves them) -> the codes of its deposition schema.
EXPERIMENT_TYPES: dict[str, int] = {
    "SXT": 1,
    "INSILICO": 2,
    "EMDB": 3,
    "SBF-SEM": 4,
    "3VIEW": 4,  # older XSD name of serial block-face SEM
    "FIB-SEM": 5,
    "IHM": 6,
    "CLEM": 7,
    "CLXM": 8,
    "MicroED": 9,
    "ATUM-SEM": 11,
    "Hard X-ray/X-ray microCT": 12,
    "ssET": 13,
}
SCALES: dict[str, str] = {
    "molecule": "1",
    "virus": "2",
    "cell": "3",
    "tissue": "4",
    "organism": "5",
}
CATEGORIES: dict[str, str] = {
    "micrographs - single frame": "T1",
    "micrographs - multiframe": "T2",
    "micrographs - focal pairs - unprocessed": "T3",
    "micrographs - focal pairs - contrast inverted": "T4",
    "picked particles - single frame - unprocessed": "T5",
    "picked particles - multiframe - unprocessed": "T6",
    "picked particles - single frame - processed": "T7",
    "picked particles - multiframe - processed": "T8",
    "tilt series": "T9",
    "micrographs - tilt series": "T9",  # older XSD name
    "class averages": "T10",
    "stitched maps": "T11",
    "diffraction images": "T12",
    "reconstructed volumes": "T13",
    "subtomograms": "T14",
}
_FORMATS = ("MRC", "MRCS", "TIFF", "IMAGIC", "DM3", "DM4", "SPIDER")
_MORE_FORMATS = ("EER", "PNG", "JPEG", "SMV", "EM", "TPX3")
HEADER_FORMATS: dict[str, str] = {
    **{f: f"T{i}" for i, f in enumerate(_FORMATS, start=1)},
    "XML": "T8",
    **{f: f"T{i}" for i, f in enumerate(_MORE_FORMATS, start=9)},
}
DATA_FORMATS: dict[str, str] = {
    **{f: f"T{i}" for i, f in enumerate(_FORMATS, start=1)},
    "BIG DATA VIEWER HDF5": "T8",
    **{f: f"T{i}" for i, f in enumerate(_MORE_FORMATS, start=9)},
}
VOXEL_TYPES: dict[str, str] = {
    "UNSIGNED BYTE": "T1",
    "SIGNED BYTE": "T2",
    "UNSIGNED 16 BIT INTEGER": "T3",
    "SIGNED 16 BIT INTEGER": "T4",
    "UNSIGNED 32 BIT INTEGER": "T5",
    "SIGNED 32 BIT INTEGER": "T6",
    "32 BIT FLOAT": "T7",
    "BIT": "T8",
    "4 BIT INTEGER": "T9",
}

# lambda-ber DataFile.data_type -> EMPIAR category, only where one category fits: `micrograph`,
# `particles` (2D), `raw_data` and `processed_data` each cover several.
_CATEGORY_OF_DATA_TYPE = {
    "movie": "micrographs - multiframe",
    "class_averages": "class averages",
    "diffraction": "diffraction images",
    "volume": "reconstructed volumes",
}
_CATEGORY_OF_3D_PARTICLES = "subtomograms"
# lambda-ber DataFile.file_format -> EMPIAR format code, for the header and the data alike: EMPIAR
# codes the two in pairs (T8 is an XML header with Big Data Viewer HDF5 data), and its only HDF5
# and `img` formats are BDV and SMV. Other formats but `other` become ('OT', NAME).
_FORMAT_CODE_OF_FILE_FORMAT = {
    "mrc": "T1",
    "mrcs": "T2",
    "tiff": "T3",
    "hdf5": "T8",
    "eer": "T9",
    "img": "T12",
}
# Experiment types that a lambda-ber technique alone decides.
_EXPERIMENT_TYPE_OF_TECHNIQUE = {"microed": 9, "integrative_modeling": 6}
# Cryo-EM raw data behind EMDB maps is EMPIAR's type 3 (`EMDB`).
_EMDB_TECHNIQUES = {"cryo_em", "cryo_et"}
# Extension slots of a DataFile that are EMPIAR imageset fields under the same name.
_COUNTS = ("num_images_or_tilt_series", "frames_per_image", "frame_range_min", "frame_range_max")
_SIZES = ("pixel_width", "pixel_height")
_PATTERNS = (
    "micrographs_file_pattern",
    "picked_particles_file_pattern",
    "picked_particles_directory",
)
_DIMENSIONS = ("image_width", "image_height")
# Pixel size units -> Angstroms (EMPIAR's unit).
_ANGSTROMS = {
    "angstroms": 1.0,
    "angstrom": 1.0,
    "å": 1.0,
    "a": 1.0,
    "nm": 10.0,
    "nanometers": 10.0,
    "µm": 1e4,
    "um": 1e4,
    "micrometers": 1e4,
}
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
_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_SURNAME_COMMA = re.compile(r"^(?P<surname>[^,]+), *(?P<given>.+)$")

# ISO 3166-1 alpha-2 codes (those EMPIAR's schema lists) with English names and other names in
# use, EMPIAR's own among them ("Czech Republic", "United States").
_COUNTRY_NAMES = """
AD Andorra
AE United Arab Emirates
AF Afghanistan
AG Antigua and Barbuda
AI Anguilla
AL Albania
AM Armenia
AO Angola
AQ Antarctica
AR Argentina
AS American Samoa
AT Austria
AU Australia
AW Aruba
AZ Azerbaijan
BA Bosnia and Herzegovina
BB Barbados
BD Bangladesh
BE Belgium
BF Burkina Faso
BG Bulgaria
BH Bahrain
BI Burundi
BJ Benin
BL Saint Barthélemy
BM Bermuda
BN Brunei | Brunei Darussalam
BO Bolivia | Bolivia, Plurinational State of
BR Brazil
BS Bahamas
BT Bhutan
BV Bouvet Island
BW Botswana
BY Belarus
BZ Belize
CA Canada
CC Cocos (Keeling) Islands
CD Democratic Republic of the Congo | Congo, Democratic Republic of the
CF Central African Republic
CG Republic of the Congo | Congo
CH Switzerland
CI Côte d'Ivoire | Ivory Coast
CK Cook Islands
CL Chile
CM Cameroon
CN China | People's Republic of China
CO Colombia
CR Costa Rica
CU Cuba
CV Cape Verde | Cabo Verde
CW Curaçao
CX Christmas Island
CY Cyprus
CZ Czechia | Czech Republic
DE Germany
DJ Djibouti
DK Denmark
DM Dominica
DO Dominican Republic
DZ Algeria
EC Ecuador
EE Estonia
EG Egypt
EH Western Sahara
ER Eritrea
ES Spain
ET Ethiopia
FI Finland
FJ Fiji
FK Falkland Islands
FM Micronesia | Micronesia, Federated States of
FO Faroe Islands
FR France
FX Metropolitan France
GA Gabon
GB United Kingdom | UK | Great Britain | United Kingdom of Great Britain and Northern Ireland
GD Grenada
GE Georgia
GF French Guiana
GG Guernsey
GH Ghana
GI Gibraltar
GL Greenland
GM Gambia
GN Guinea
GP Guadeloupe
GQ Equatorial Guinea
GR Greece
GS South Georgia and South Sandwich Islands
GT Guatemala
GU Guam
GW Guinea-Bissau
GY Guyana
HK Hong Kong | Hong Kong SAR China
HM Heard Island and McDonald Islands
HN Honduras
HR Croatia
HT Haiti
HU Hungary
ID Indonesia
IE Ireland
IL Israel
IM Isle of Man
IN India
IO British Indian Ocean Territory
IQ Iraq
IR Iran | Iran, Islamic Republic of
IS Iceland
IT Italy
JE Jersey
JM Jamaica
JO Jordan
JP Japan
KE Kenya
KG Kyrgyzstan
KH Cambodia
KI Kiribati
KM Comoros
KN Saint Kitts and Nevis
KP North Korea | Democratic People's Republic of Korea
KR South Korea | Republic of Korea | Korea, Republic of | Korea
KW Kuwait
KY Cayman Islands
KZ Kazakhstan
LA Laos | Lao People's Democratic Republic
LB Lebanon
LC Saint Lucia
LI Liechtenstein
LK Sri Lanka
LR Liberia
LS Lesotho
LT Lithuania
LU Luxembourg
LV Latvia
LY Libya
MA Morocco
MC Monaco
MD Moldova | Moldova, Republic of
ME Montenegro
MF Saint Martin
MG Madagascar
MH Marshall Islands
MK North Macedonia | Macedonia
ML Mali
MM Myanmar | Burma
MN Mongolia
MO Macao | Macau
MP Northern Mariana Islands
MQ Martinique
MR Mauritania
MS Montserrat
MT Malta
MU Mauritius
MV Maldives
MW Malawi
MX Mexico
MY Malaysia
MZ Mozambique
NA Namibia
NC New Caledonia
NE Niger
NF Norfolk Island
NG Nigeria
NI Nicaragua
NL Netherlands | The Netherlands
NO Norway
NP Nepal
NR Nauru
NU Niue
NZ New Zealand
OM Oman
PA Panama
PE Peru
PF French Polynesia
PG Papua New Guinea
PH Philippines
PK Pakistan
PL Poland
PM Saint Pierre and Miquelon
PN Pitcairn Islands
PR Puerto Rico
PS Palestine | Palestine, State of | Palestinian Territories
PT Portugal
PW Palau
PY Paraguay
QA Qatar
RE Réunion
RO Romania
RS Serbia
RU Russia | Russian Federation
RW Rwanda
SA Saudi Arabia
SB Solomon Islands
SC Seychelles
SD Sudan
SE Sweden
SG Singapore
SH Saint Helena, Ascension and Tristan da Cunha
SI Slovenia
SJ Svalbard and Jan Mayen
SK Slovakia
SL Sierra Leone
SM San Marino
SN Senegal
SO Somalia
SR Suriname
SS South Sudan
ST São Tomé and Príncipe
SV El Salvador
SX Sint Maarten
SY Syria | Syrian Arab Republic
SZ Eswatini | Swaziland
TC Turks and Caicos Islands
TD Chad
TF French Southern and Antarctic Lands
TG Togo
TH Thailand
TJ Tajikistan
TK Tokelau
TL Timor-Leste
TM Turkmenistan
TN Tunisia
TO Tonga
TR Türkiye | Turkey
TT Trinidad and Tobago
TV Tuvalu
TW Taiwan | Taiwan, Province of China
TZ Tanzania | Tanzania, United Republic of
UA Ukraine
UG Uganda
UM U.S. Outlying Islands
US United States | United States of America | USA
UY Uruguay
UZ Uzbekistan
VA Vatican City | Holy See
VC Saint Vincent and Grenadines
VE Venezuela | Venezuela, Bolivarian Republic of
VG British Virgin Islands
VI U.S. Virgin Islands
VN Vietnam | Viet Nam
VU Vanuatu
WF Wallis and Futuna
WS Samoa
XK Kosovo
YE Yemen
YT Mayotte
ZA South Africa
ZM Zambia
ZW Zimbabwe
"""


def _country_key(name: str) -> str:
    text = name.casefold().replace("&", " and ")
    text = re.sub(r"\bst\b\.?", "saint", text)
    text = " ".join(re.sub(r"[^\w]+", " ", text).split())
    return text.removeprefix("the ")


_COUNTRIES: dict[str, str] = {
    _country_key(name): line[:2]
    for line in _COUNTRY_NAMES.strip().splitlines()
    for name in line[3:].split(" | ")
}
_COUNTRY_CODES = {line[:2] for line in _COUNTRY_NAMES.strip().splitlines()}


class NotADataset(ValueError):
    """The input is not a lambda-ber Dataset document."""


def parse_document(text: str) -> Any:
    """A JSON or YAML text as plain data."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NotADataset(f"neither JSON nor YAML ({exc.__class__.__name__})") from None


def deposition_from_dataset(doc: Any, release: str = "RE") -> dict[str, Any]:
    """The EMPIAR deposition document of a lambda-ber Dataset document; pure.

    `release` is EMPIAR's release option: RE once processed, EP with the related EMDB entry, HP
    with the primary citation, HO a year after deposition.
    """
    d = _Dataset(doc)
    references = d.references()
    return {
        **_present(
            title=doc.get("title") or d.study.get("title"),
            release_date=release,
            experiment_type=d.experiment_type(bool(references["cross_references"])),
            scale=_by_label(d.property("empiar:scale"), SCALES),
        ),
        **references,
        "authors": [
            {
                **_present(name=_person_name(p)),
                "order_id": i,
                "author_orcid": _orcid(p.get("orcid")),
            }
            for i, p in enumerate(d.people("author"))
        ],
        **_present(corresponding_author=d.corresponding_author()),
        "principal_investigator": [d.contact(p) for p in d.people("principal_investigator")],
        "imagesets": d.imagesets(),
        "citation": [_citation(p) for p in d.publications()],
    }


def _present(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _coded(label: Any, codes: Mapping[str, str], *, upper: bool = True) -> str | None:
    """EMPIAR's coded pair for a label: "('T2', '')", or "('OT', 'LABEL')" for any other."""
    text = _text(label)
    if text is None:
        return None
    code = {k.casefold(): v for k, v in codes.items()}.get(text.casefold())
    if code:
        return f"('{code}', '')"
    return f"('OT', '{text.upper() if upper else text}')"


def _by_label(label: Any, codes: Mapping[str, Any]) -> Any:
    """A label's code (case aside); an unknown label as it is, for the schema to reject."""
    text = _text(label)
    if text is None:
        return None
    return {k.casefold(): v for k, v in codes.items()}.get(text.casefold(), text)


def _orcid(value: Any) -> str | None:
    match = _ORCID.match(value.strip()) if isinstance(value, str) else None
    return match.group(1) if match else None


def _email(value: Any) -> str | None:
    # EMPIAR serves addresses as "name [at] host".
    text = _text(value)
    return re.sub(r"\s*\[at\]\s*", "@", text) if text else None


def country_code(name: Any) -> str | None:
    """ISO 3166-1 alpha-2 code of a country name or code; an unknown name as it is."""
    text = _text(name)
    if text is None:
        return None
    code = _COUNTRIES.get(_country_key(text))
    if code:
        return code
    return text.upper() if text.upper() in _COUNTRY_CODES else text


def _initials(given: str) -> str:
    return "".join(part[0].upper() for part in re.split(r"[\s.\-]+", given) if part)


def _author(surname: str, initials: str) -> str:
    return f"('{surname}', '{initials}')"


def _surname_initials(text: str) -> tuple[str, str] | None:
    """ "Kowalski Ł" -> ("Kowalski", "Ł"): EMPIAR's own form of a name, initials in capitals."""
    surname, _, initials = " ".join(text.split()).rpartition(" ")
    if surname and initials.isalpha() and initials.isupper() and len(initials) <= 20:
        return surname, initials
    return None


def author_name(text: str) -> str:
    """EMPIAR's ('Surname', 'INITIALS') from "Paterlini A", "Brouwer, P.J.M." or "Ilya Belevich"."""
    text = " ".join(text.split())
    if parts := _surname_initials(text):
        return _author(*parts)
    if match := _SURNAME_COMMA.match(text):
        return _author(match["surname"], _initials(match["given"]))
    *given, surname = text.split(" ")
    return _author(surname, _initials(" ".join(given)))


def _person_name(person: Mapping[str, Any]) -> str | None:
    full = _text(person.get("full_name")) or _text(person.get("title"))
    family, given = _text(person.get("family_name")), _text(person.get("given_name"))
    # An archive's "Surname INITIALS" is the name as the depositor gave it: it comes first.
    if full and (parts := _surname_initials(full)):
        return _author(*parts)
    if family and given:
        return _author(family, _initials(given))
    return author_name(full) if full else None


def _number(quantity: Any) -> float | None:
    if not isinstance(quantity, Mapping):
        return None
    value = quantity.get("numeric_value")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(quantity: Any) -> int | None:
    value = _number(quantity)
    return int(value) if value is not None and value == int(value) else None


def _angstroms(quantity: Any) -> float | None:
    value = _number(quantity)
    factor = _ANGSTROMS.get(str(quantity.get("unit", "")).casefold()) if value else None
    # Rounded: a unit conversion must not add float noise to a depositor's value.
    return round(value * factor, 6) if value is not None and factor else None


def _citation(pub: Mapping[str, Any]) -> dict[str, Any]:
    unpublished = pub.get("unpublished")
    journal = pub.get("journal") or pub.get("journal_abbreviation")
    book = pub.get("book_title") or pub.get("book_publisher")
    year = pub.get("year")
    return _present(
        authors=[
            {"name": author_name(name), "order_id": i, "author_orcid": None}
            for i, name in enumerate(n for n in _list(pub, "authors") if isinstance(n, str))
        ],
        published=None if not isinstance(unpublished, bool) else not unpublished,
        j_or_nj_citation=True if journal else False if book else None,
        title=pub.get("title"),
        volume=pub.get("volume"),
        issue=pub.get("issue"),
        first_page=pub.get("page_first"),
        last_page=pub.get("page_last"),
        year=int(year) if isinstance(year, int | str) and str(year).isdigit() else None,
        language=pub.get("language"),
        doi=_unprefixed(pub.get("doi"), "doi:"),
        pubmedid=_unprefixed(pub.get("pubmed_id"), "pmid:"),
        journal=pub.get("journal"),
        journal_abbreviation=pub.get("journal_abbreviation"),
        country=country_code(pub.get("journal_country")),
        book_chapter_title=pub.get("book_title"),
        publisher=pub.get("book_publisher"),
        publication_location=pub.get("book_publisher_city"),
    )


def _unprefixed(curie: Any, prefix: str) -> str | None:
    text = _text(curie)
    return text.removeprefix(prefix) if text else None


def _list(owner: Mapping[str, Any], slot: str) -> list[Any]:
    value = owner.get(slot)
    if value is None:
        return []
    if not isinstance(value, list):
        raise NotADataset(f"`{slot}` is not a list")
    return value


def _objects(owner: Mapping[str, Any], slot: str) -> list[Mapping[str, Any]]:
    items = _list(owner, slot)
    if not all(isinstance(item, Mapping) for item in items):
        raise NotADataset(f"`{slot}` is not a list of objects")
    return items


class _Dataset:
    """A Dataset document with its lists indexed, seen from its own study."""

    def __init__(self, doc: Any) -> None:
        if not isinstance(doc, Mapping):
            raise NotADataset("not a lambda-ber Dataset document (not a mapping)")
        if not _text(doc.get("id")):
            raise NotADataset("not a lambda-ber Dataset document (it has no id)")
        self.lists = lists = {slot: _objects(doc, slot) for slot in _LISTS}
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

    def references(self) -> dict[str, list[dict[str, str]]]:
        """The study's cross references, by the archive EMPIAR files them under."""
        out: dict[str, list[dict[str, str]]] = {
            "cross_references": [],
            "biostudies_references": [],
            "idr_references": [],
            "empiar_references": [],
        }
        for ref in _objects(self.study, "database_cross_references"):
            name, db = _text(ref.get("database_id")), ref.get("database_name")
            if name is None or ref.get("description") == SELF:
                continue
            if db == "emdb":
                out["cross_references"].append({"name": name})
            elif db == "empiar":
                out["empiar_references"].append({"name": name})
            elif db == "other" and name.startswith("S-"):
                out["biostudies_references"].append({"name": name})
            elif db == "other" and name.casefold().startswith("idr"):
                out["idr_references"].append({"name": name})
        return out

    def property(self, attribute: str) -> Any:
        """An `additional_properties` value of the study's experiment runs."""
        for run in self.experiments:
            for prop in _objects(run, "additional_properties"):
                if (prop.get("attribute") or {}).get("id") == attribute:
                    return prop.get("value")
        return None

    def experiment_type(self, cites_emdb: bool) -> Any:
        """EMPIAR's code: from the archive's own label, else from a technique that decides it."""
        label = self.property("empiar:experiment_type")
        if label is not None:
            return _by_label(label, EXPERIMENT_TYPES)
        techniques = {r.get("technique") for r in self.experiments}
        for technique, code in _EXPERIMENT_TYPE_OF_TECHNIQUE.items():
            if techniques == {technique}:
                return code
        if cites_emdb and techniques and techniques <= _EMDB_TECHNIQUES:
            return EXPERIMENT_TYPES["EMDB"]
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

    def corresponding_author(self) -> dict[str, Any] | None:
        persons = self._persons([a for a in self.person_links if a.get("corresponding") is True])
        return self.contact(persons[0]) if persons else None

    def contact(self, person: Mapping[str, Any]) -> dict[str, Any]:
        """A corresponding author or principal investigator, with their affiliation's address."""
        org = self._affiliation(person)
        return _present(
            author_orcid=_orcid(person.get("orcid")),
            first_name=_text(person.get("given_name")),
            last_name=_text(person.get("family_name")),
            organization=_text(person.get("affiliation")) or _text(org.get("title")),
            town_or_city=_text(org.get("location")),
            email=_email(person.get("email")),
            country=country_code(org.get("country")),
        )

    def _affiliation(self, person: Mapping[str, Any]) -> Mapping[str, Any]:
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

    def imagesets(self) -> list[dict[str, Any]]:
        """One imageset per data file of the study's raw data."""
        runs = {r.get("id"): r for r in self.experiments}
        files = [
            f
            for f in self.lists["data_files"]
            if f.get("file_role") == "raw" and f.get("related_entity") in (None, *runs)
        ]
        first_run = self.experiments[0] if self.experiments else {}
        return [
            self._imageset(f, runs.get(f.get("related_entity"), first_run), self._image(f))
            for f in files
        ]

    def _image(self, data_file: Mapping[str, Any]) -> Mapping[str, Any]:
        """The data file's representative image: `<file id>/image`, else its one namesake."""
        images = self.lists["images"]
        by_id = [i for i in images if i.get("id") == f"{data_file.get('id')}/image"]
        namesakes = [i for i in images if i.get("file_name") == data_file.get("file_name")]
        return (by_id or (namesakes if len(namesakes) == 1 else []) or [{}])[0]

    @staticmethod
    def _imageset(
        data_file: Mapping[str, Any], run: Mapping[str, Any], image: Mapping[str, Any]
    ) -> dict[str, Any]:
        is_3d = "voxel_size" in image or "dimensions_z" in image
        category = _text(data_file.get("x_empiar_category")) or (
            _CATEGORY_OF_3D_PARTICLES
            if is_3d and data_file.get("data_type") == "particles"
            else _CATEGORY_OF_DATA_TYPE.get(data_file.get("data_type", ""))
        )
        file_format = data_file.get("file_format")
        code = _FORMAT_CODE_OF_FILE_FORMAT.get(file_format or "")
        derived_format = (
            f"('{code}', '')"
            if code
            else f"('OT', '{file_format.replace('_', ' ').upper()}')"
            if isinstance(file_format, str) and file_format not in ("", "other")
            else None
        )
        pixel = _angstroms(image.get("voxel_size" if is_3d else "pixel_size"))
        derived = {
            "frames_per_image": _count(image.get("frames")) or _count(image.get("dimensions_z")),
            "pixel_width": pixel,
            # lambda-ber's one pixel size is that of a square pixel.
            "pixel_height": pixel,
            "image_width": _count(image.get("dimensions_x")),
            "image_height": _count(image.get("dimensions_y")),
        }

        def verbatim(names: tuple[str, ...]) -> dict[str, Any]:
            return {
                name: data_file[f"x_{name}"]
                if data_file.get(f"x_{name}") is not None
                else derived.get(name)
                for name in names
            }

        # In the schema's order.
        return _present(
            name=_text(data_file.get("title")) or _text(data_file.get("file_name")),
            directory=_directory(data_file.get("file_path"), run.get("raw_data_location")),
            category=_coded(category, CATEGORIES, upper=False),
            header_format=_coded(data_file.get("x_header_format"), HEADER_FORMATS)
            or derived_format,
            data_format=_coded(data_file.get("x_data_format"), DATA_FORMATS) or derived_format,
            **verbatim(_COUNTS),
            voxel_type=_coded(data_file.get("x_voxel_type"), VOXEL_TYPES),
            **verbatim(_SIZES),
            details=data_file.get("description"),
            **verbatim(_PATTERNS),
            **verbatim(_DIMENSIONS),
        )


def _directory(path: Any, base: Any) -> str | None:
    """The data's directory within the entry: below the run's raw data location, or relative."""
    text = _text(path)
    if text is None:
        return None
    root = f"{base.rstrip('/')}/" if _text(base) else None
    if root and text.startswith(root):
        text = text[len(root) :]
    elif "://" in text:
        return None
    return text.strip("/") or None


@functools.cache
def schema() -> dict[str, Any]:
    """EMPIAR's deposition schema, as the installed empiar-depositor package ships it."""
    source = resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_RESOURCE)
    return json.loads(source.read_text(encoding="utf-8"))


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    # The schema names no draft ("http://json-schema.org/schema#"); its keywords are draft 7's.
    return jsonschema.Draft7Validator(
        schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


# Where a required deposition field comes from, for a depositor to fill it in (`[]`: any item).
_SOURCES = {
    "title": "from the Dataset's title",
    "release_date": "from the release option",
    "experiment_type": (
        "from an experiment run's additional property empiar:experiment_type (EMPIAR's label), "
        "or its technique (microed, integrative_modeling; cryo_em or cryo_et with EMDB references)"
    ),
    "authors": "from the study's people with role author",
    "authors[].name": "from the person's full_name, or family_name and given_name",
    "corresponding_author": "from the study's person with corresponding: true",
    "principal_investigator": "from the study's people with role principal_investigator",
    "imagesets": "from the data files with file_role raw",
    "citation": "from the study's publications",
    "[].first_name": "from the person's given_name",
    "[].last_name": "from the person's family_name",
    "[].organization": "from the person's affiliation",
    "[].email": "from the person's email",
    "[].country": "from the country of the person's affiliation (organizations)",
    "imagesets[].name": "from the data file's title or file_name",
    "imagesets[].directory": "from the data file's file_path, below its run's raw_data_location",
    "imagesets[].category": (
        "from the data file's x_empiar_category (EMPIAR's label), or its data_type where one "
        "category fits (movie, class_averages, diffraction, volume, 3D particles)"
    ),
    "imagesets[].header_format": (
        "from the data file's x_header_format (EMPIAR's label), or its file_format (not other)"
    ),
    "imagesets[].data_format": (
        "from the data file's x_data_format (EMPIAR's label), or its file_format (not other)"
    ),
    "imagesets[].voxel_type": (
        "lambda-ber has no slot for it: give the data file x_voxel_type (EMPIAR's label)"
    ),
    "imagesets[].num_images_or_tilt_series": (
        "lambda-ber has no slot for it: give the data file x_num_images_or_tilt_series"
    ),
    "imagesets[].frames_per_image": (
        "from the data file's x_frames_per_image, or its image's frames or dimensions_z"
    ),
    "citation[].authors": "from the publication's authors",
    "citation[].published": "from the publication's unpublished",
    "citation[].j_or_nj_citation": "from the publication's journal or book_title",
    "citation[].title": "from the publication's title",
}


def _path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _source(path: str) -> str:
    general = re.sub(r"\[\d+\]", "[]", path)
    field = re.sub(r"^[a-z_]+(?:\[\])?", "[]", general)
    return _SOURCES.get(general) or _SOURCES.get(field) or ""


def _problems(error: jsonschema.ValidationError) -> list[tuple[list[Any], str]]:
    """An error as (field path, what is missing or wrong): one per missing field."""
    parts = list(error.absolute_path)
    value, rule, instance = error.validator_value, error.validator, error.instance
    if rule == "required":
        missing = [[*parts, name] for name in value if name not in instance]
        return [(path, f"missing; {_source(_path(path))}".rstrip("; ")) for path in missing]
    path = _path(parts)
    if rule == "minItems":
        message = f"{len(instance)} given, at least {value} needed; {_source(path)}".rstrip("; ")
    elif rule == "enum" and parts and parts[-1] == "country":
        message = f"{instance!r} is not an ISO 3166-1 alpha-2 country code"
    elif rule == "enum":
        message = f"{instance!r} is not one of {', '.join(map(repr, value))}"
    elif rule == "pattern":
        message = f"{instance!r} does not match {value}"
    elif rule == "minLength":
        message = f"{len(instance)} characters, at least {value} needed"
    elif rule == "maxLength":
        message = f"{len(instance)} characters, at most {value} allowed"
    elif rule == "format":
        message = f"{instance!r} is not a valid {value}"
    else:
        message = error.message
    return [(parts, message)]


def _schema_order(parts: list[Any]) -> list[int]:
    """A field path as positions in the schema (item numbers for lists): document order."""
    node, key = schema(), []
    for part in parts:
        if isinstance(part, int):
            key.append(part)
            node = node.get("items", {})
        else:
            names = list(node.get("properties", {}))
            key.append(names.index(part) if part in names else len(names))
            node = node.get("properties", {}).get(part, {})
    return key


def problems(deposition: Mapping[str, Any]) -> list[str]:
    """Where the document breaks EMPIAR's deposition schema: "field.path: what", in field order."""
    found = [
        (parts, error.validator != "enum", what)
        for error in _validator().iter_errors(deposition)
        for parts, what in _problems(error)
    ]
    # One line a field: an unknown label breaks both `type` and `enum`, and the latter says more.
    found.sort(key=lambda p: (_schema_order(p[0]), p[1]))
    lines: dict[str, str] = {}
    for parts, _, what in found:
        lines.setdefault(_path(parts) or "(document)", what)
    return [f"{path}: {what}" for path, what in lines.items()]


def dump(deposition: Mapping[str, Any]) -> str:
    """The document as the JSON text empiar-depositor reads."""
    return json.dumps(deposition, indent=2, ensure_ascii=False) + "\n"
