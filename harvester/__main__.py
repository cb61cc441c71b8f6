from empiar_mirror.harvester.cli import cli

cli(prog_name="empiar-mirror")
