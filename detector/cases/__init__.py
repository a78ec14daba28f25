"""From flagged posts to cases: near-duplicate clusters (near_duplicates, campaigns),
contact keys and operations linking posts by contact, campaign or author (contact_keys,
operations), and the operations HTML page (report)."""
