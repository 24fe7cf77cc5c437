"""A LocalStack Lambda runtime executor without Docker: each execution environment is a python3.12 process on
this host, started with the function's unzipped code and layers on sys.path (see executor.py)."""
