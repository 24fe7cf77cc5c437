"""The domain: lifecycle, intent, users and errors. Imports no AWS, database or Lambda library."""
