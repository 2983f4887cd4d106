# Empty compiler generated dependencies file for suara_gateway.
# This may be replaced when dependencies are built.
