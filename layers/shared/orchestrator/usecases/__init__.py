"""Use cases: what the API and the workflow tasks do, written against ports only."""
