"""Security tests: auth, redaction, limits and overload, hostile input (properties, schema fuzzing)."""
