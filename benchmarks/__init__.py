"""`make bench`: performance is shown here, never by a timed test."""
