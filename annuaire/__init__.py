"""Directory of contacts (Ordre, courts, CRIP, UMJ, associations, national lines) and search."""
