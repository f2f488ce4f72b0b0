"""The rules: calendar, money, catalog, eligibility, billing, invoicing and flow steps.

Pure functions and light domain objects; no SimPy, nothing from a layer above.
"""
