"""Energy-efficient stochastic synapses (Malkin et al., eLife 2024): the science of the workflow."""

__version__ = "0.1.0"
