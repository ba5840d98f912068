"""Stages reproduction and paper settings (workflow/rules/reproduction.smk,
paper_settings.smk): our numbers beside the published ones, per-epoch histories of
paper-settings runs, and the networks those runs train."""
