"""``python -m tracker_mail_plugin``: the ``tracker-mail`` command."""

import sys

from tracker_mail_plugin.cli import main

sys.exit(main())
