"""Stage experimental (workflow/rules/experimental.smk): the statistics of the
experimental data (Figure 6), the quantal model (Figure 1) and the schematic (Figure 4)."""
