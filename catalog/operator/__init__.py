"""The platform operator's screens for the master catalogue, on the apex host only.

Views parse input, check that the user is a public-schema operator and call the actions in
``catalog.actions`` and ``catalog.releases``; they never write the models themselves.
"""
