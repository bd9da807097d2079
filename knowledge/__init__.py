"""Knowledge base: entries (Markdown + front matter), loader/validator, search, rendering."""
