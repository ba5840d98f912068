"""Stage data (workflow/rules/data.smk): the raw inputs, fetched from the local mirror or
their public sources and verified: MNIST, the experimental CSVs of Figure 6, the authors'
published arrays of Figures 2, 3 and 5, and which c belongs to each published column."""
