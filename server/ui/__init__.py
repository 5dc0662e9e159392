"""The web page for people: why a query got what it got, the index and its engines, the latest evaluations."""
