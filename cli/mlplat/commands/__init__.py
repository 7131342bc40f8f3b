"""One module per command; each parses flags, calls one core function and prints."""
