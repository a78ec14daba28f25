"""Training, retraining and offline evaluation for Jingwang. May import `detector`, never the reverse."""
