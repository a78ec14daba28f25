"""Human review of scored posts: a SQLite queue (`db`) of records checked on the way in
(`records`, `importer`), a small web app for reviewers (`server`), and exports of the decisions as
training data, Label Studio tasks or Argilla records (`export`)."""
from detector.review.db import DecisionConflict, ItemNotFound, ReviewDB
from detector.review.importer import import_file
from detector.review.records import ImportSummary

__all__ = ["DecisionConflict", "ImportSummary", "ItemNotFound", "ReviewDB", "import_file"]
