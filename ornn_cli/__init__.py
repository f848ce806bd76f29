"""The top layer: the ``ornn`` command line and its tour (``ornn demo``).

It may import everything below it (``ornn``, ``cells``, ``applications``, ``proofs``) and
nothing imports it. :mod:`ornn_cli.main` holds the table of subcommands, one module each in
:mod:`ornn_cli.commands`; :mod:`ornn_cli.tour` holds the table of demo sections.
"""
