"""The course as a static site that reads offline: `python -m nn.course export OUT/` (the `course` extra)."""
