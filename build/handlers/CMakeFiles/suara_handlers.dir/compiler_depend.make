# Empty compiler generated dependencies file for suara_handlers.
# This may be replaced when dependencies are built.
