"""The garbage collector and the long-lived heap.

Start-up builds about 270,000 objects that live as long as the process: the knowledge index,
the flows, the directory and its gazetteer. Python's full collection walks every one of
them, a pause of about 90 ms of the event loop each time (measured here). Once built, they
are moved out of the collector's reach (`gc.freeze`); a content reload unfreezes them, lets
the collector free the previous content's cycles, and freezes what is left again. At
shutdown everything is unfrozen, so a process that starts several bots (the tests) keeps
collecting what each one leaves.
"""

from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Collect once, then keep every object alive now out of later collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def thaw_heap() -> None:
    """Give the frozen objects back to the collector."""
    gc.unfreeze()
