"""Stage train (workflow/rules/train.smk): the stochastic networks and their objectives,
the one training engine (with the step by formula), training jobs, their tables, the
chance bound, drift measurements and the training-speed benchmark."""
