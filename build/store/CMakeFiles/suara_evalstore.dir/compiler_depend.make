# Empty compiler generated dependencies file for suara_evalstore.
# This may be replaced when dependencies are built.
