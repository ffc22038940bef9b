"""The learner's app: their checkout and what is known of each exercise (kata, progress),
what they see (views), regrading on save (watching), the course's figures (plots)."""
