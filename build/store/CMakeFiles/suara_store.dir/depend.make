# Empty dependencies file for suara_store.
# This may be replaced when dependencies are built.
