"""One message's way from the mailbox to the tracker, step by step, shared by every command.

A reader follows a message through the module names: ``scheduling`` hands messages out (one
by one, or to workers in an order that keeps conversations right), ``run`` journals and
parses each one, ``facts`` looks up the sender and the issue it answers, the rules
(:mod:`tracker_mail_plugin.rules.decide`) decide, ``act`` writes to the tracker exactly once,
and ``disposal`` moves or flags the mail and journals that it did. ``states`` is the only
writer of a message's state in the journal; ``checkpoints`` names the moments the
exactly-once argument is tested at.
"""
