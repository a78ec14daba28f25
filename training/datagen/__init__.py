"""Generated data: the synthetic paid-posting set (paid) and evasive rewrites (perturb)."""
