"""Stage posterior (workflow/rules/posterior.smk): optimised noise against the Bayesian
posterior (Figure 7, Appendix 5), the ELBO bound, and Appendix 4's toy regression."""
