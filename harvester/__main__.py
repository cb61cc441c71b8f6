from harvester.cli import cli

cli(prog_name="empiar-mirror")
