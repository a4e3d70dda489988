"""Open data for other tools: incidents and findings as STIX 2.1 bundles for the
intelligence platforms guarantors use, and as CSV with HXL hashtags for
humanitarian data exchange. Pure: plain dicts in (already cut to the reader's
tier by ``report.editions``), documents out."""
