"""One module per ``tracker-mail`` command; each has ``command(args) -> ExitCode``.

``cli.py`` only parses the arguments and calls the command's module: ``sync`` (one pass,
for cron), ``receive`` (a piped message), ``check`` (the configuration and every
connection), ``explain`` (how messages are read and decided; changes nothing), ``status``
and ``retry`` (the journal), ``adapters`` (what is installed).
"""
