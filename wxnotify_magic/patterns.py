"""Regular expressions compiled on first use, once per process: ``%load_ext`` compiles none.

A module-level ``re.compile`` runs at import; the dozen the extension's own modules hold cost about 2 ms, a
fifth of what loading may take. Write the pattern as a string constant and match with ``compiled(PATTERN)``.
"""

from __future__ import annotations

import functools
import re

compiled = functools.cache(re.compile)
