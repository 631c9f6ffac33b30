"""Kept records: issued documents and their templates, retention with legal holds, archive bundles."""
