"""The file roles: every rule of harvester/mapping/file_roles.json decides at least one example
here, and each example gets the role a curator would give it."""

from __future__ import annotations

import pytest

from empiar_mirror.harvester.mapping import file_roles

MULTIFRAME = "micrographs - multiframe"
# (path relative to the entry, the category of the imageset holding it, the role)
EXAMPLES = [
    ("data/eer/20231102_gain.gain", MULTIFRAME, "gain_reference"),
    ("data/movies/CountRef_FoilHole.mrc", MULTIFRAME, "gain_reference"),
    ("data/movies/SuperRef_Session1.DM4", MULTIFRAME, "gain_reference"),
    ("data/frames/gain_ref.tiff", MULTIFRAME, "gain_reference"),
    ("data/eer/defects.txt", MULTIFRAME, "defect_map"),
    ("data/movies/defect_map.tif", MULTIFRAME, "defect_map"),
    ("data/frames/TS_01.mdoc", MULTIFRAME, "mdoc"),
    ("data/tilt_series/TS_001.tlt", "tilt series", "tilt_angles"),
    ("data/frames/TS_01.RAWTLT", MULTIFRAME, "tilt_angles"),
    ("10934.xml", None, "header_xml"),
    ("data/EPU/FoilHole_00000001_Data_28460001.xml", None, "epu_xml"),
    ("data/metadata/session.xml", None, "epu_xml"),
    ("data/coordinates/micrograph_00001.box", None, "particle_coordinates"),
    ("data/picks/m1.cbox", None, "particle_coordinates"),
    ("data/coordinates/micrograph_00001_autopick.star", None, "particle_coordinates"),
    ("data/Picking/job004/micrograph_00001.star", None, "particle_coordinates"),
    ("data/particles.star", None, "star"),
    ("data/job012/particles.cs", None, "star"),
    ("data/eer/FoilHole_1_Data_2.EER", MULTIFRAME, "movie"),
    ("data/x/FoilHole_1_Data_2_fractions.tiff", None, "movie"),
    ("data/x/FoilHole_1_Data_2_Fractions.TIF", None, "movie"),
    ("data/movies/stack_0001.mrcs", MULTIFRAME, "movie"),
    ("data/session/img_0001.tif", MULTIFRAME, "movie"),
    ("data/tilt_series/TS_001.mrc", "tilt series", "tilt_series"),
    ("data/x/TS_001.st", None, "tilt_series"),
    ("data/x/TS_001.rec", None, "tomogram"),
    ("data/tomograms/tomogram_001.mrc", "reconstructed volumes", "tomogram"),
    ("data/particles/p_0001.mrcs", "picked particles - single frame", "particle_stack"),
    ("data/subtomograms/subtomo_00001.mrc", "subtomograms", "particle_stack"),
    ("data/ground_truth/volume.mrc", "reconstructed volumes", "volume"),
    ("data/emd_1234.map", None, "volume"),
    ("data/aligned/micrograph_00001.mrc", "micrographs - single frame", "micrograph"),
    ("data/misc/micrographs/m1.tiff", None, "micrograph"),
    ("data/processing.tar.gz", None, "archive"),
    ("README.txt", None, "document"),
    ("README", None, "document"),
    ("data/unknown.bin", None, "other"),
]


@pytest.mark.parametrize("path, category, expected", EXAMPLES)
def test_each_example_gets_its_role(path, category, expected):
    assert file_roles.role(path, category) == expected


def test_every_rule_decides_an_example():
    deciding = {id(file_roles.rule_for(path, category)) for path, category, _ in EXAMPLES}
    untested = [r for r in file_roles.rules() if id(r) not in deciding]
    assert untested == []


def test_every_role_of_the_vocabulary_has_an_example():
    assert {role for *_, role in EXAMPLES} == set(file_roles.ROLES)


def test_a_file_belongs_to_the_deepest_imageset_holding_it():
    imagesets = [(1, "data", "class averages"), (2, "data/movies", MULTIFRAME)]
    assert file_roles.imageset_of("data/movies/a.tiff", imagesets) == (2, MULTIFRAME)
    assert file_roles.imageset_of("data/a.mrc", imagesets) == (1, "class averages")
    assert file_roles.imageset_of("data2/a.mrc", imagesets) is None
