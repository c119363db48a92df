"""The init audit: what init each parameter actually has, and a pytest helper.

``initlab.audit(model, scheme=None)`` returns an :class:`Audit` (tidy rows and findings);
``initlab.assert_init(model, scheme)`` fails when a parameter does not have the scheme's init. (The
package is ``initlab.auditing`` so that ``initlab.audit`` is the function.)
"""

from initlab.auditing.core import Audit, assert_init, audit
from initlab.auditing.findings import Finding
from initlab.auditing.params import ParamRow

__all__ = ["Audit", "Finding", "ParamRow", "assert_init", "audit"]
