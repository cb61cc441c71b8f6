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

`dataset` reads the Dataset, `document` writes the deposition (with `codes`, `countries` and
`names`), and `schema` checks it: only that one needs the optional extra.
"""

# The modules the optional extra `empiar-mirror[deposition]` installs, as they are imported.
EXTRA_MODULES = frozenset({"empiar_depositor", "jsonschema"})
