"""Path-safe labels of ρ and c: compatible names of those ``artefacts`` owns.

New code imports them from :mod:`efficient_synapses.artefacts`.
"""

from .artefacts import c_label, parse_rho, rho_label  # noqa: F401
