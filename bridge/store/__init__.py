"""The bridge's SQL store: the only package that speaks SQL."""
