"""The CLI scan: units, the result cache, reports, baselines, suppression audits and the warm daemon."""
