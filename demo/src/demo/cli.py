"""`guanhuai-demo`: synthetic county generator and the demo of a county's year."""

import typer

app = typer.Typer(help="Guanhuai demo: synthetic county and the annual cycle end to end.", no_args_is_help=True)
