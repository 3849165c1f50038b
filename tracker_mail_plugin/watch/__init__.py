"""``tracker-mail watch``: one long-running process for many mailboxes (IDLE or polling)."""
