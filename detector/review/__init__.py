"""Human review of scored posts: a SQLite queue (`db`), a small web app for reviewers (`server`),
and exports of the decisions as training data, Label Studio tasks or Argilla records (`export`)."""
from detector.review.db import (DecisionConflict, ImportSummary, ItemNotFound, ReviewDB,
                                import_file)

__all__ = ["DecisionConflict", "ImportSummary", "ItemNotFound", "ReviewDB", "import_file"]
