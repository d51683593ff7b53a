"""A local Zalo Bot API, as strict as its documentation, for tests and the demo.

``async with ZaloSandbox() as zs:`` serves it on a free 127.0.0.1 port; ``zs.url`` is the
base URL for ``LOA_ZALO__API_BASE``; ``ZaloControl(zs.url)`` acts as people (see
:mod:`.control`). It imports nothing of Loa: it is the platform, not a part of the product.
"""

from .control import ZaloControl
from .server import ZaloSandbox, create_app
from .state import ZaloWorld

__all__ = ["ZaloControl", "ZaloSandbox", "ZaloWorld", "create_app"]
