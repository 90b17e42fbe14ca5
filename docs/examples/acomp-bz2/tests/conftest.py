"""Make the kit's hypothesis profile (ci, dev or thorough) hypothesis' default too.

The kit runs its properties under ``$HYPOTHESIS_PROFILE`` (else ``ci`` when
``$CI`` is set, else ``dev``) whatever is loaded; loading it here makes
pytest's header ("hypothesis profile ...") name the profile in use.
"""

import acomp.testing

acomp.testing.load_profile()
