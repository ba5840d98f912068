"""Stage curvature (workflow/rules/curvature.smk): per-synapse statistics of trained
networks (empirical Fisher, exact Hessian diagonal, learning rate, input rate) and their
tables (Figure 5, Appendices 3 and 6)."""
