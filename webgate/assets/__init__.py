"""Asset rules shared by the API and the importer: what a valid asset, account and node name are."""
