"""One module per ``ornn`` subcommand, each with ``HELP`` and ``main(argv) -> int`` (see :mod:`ornn_cli.main`)."""
