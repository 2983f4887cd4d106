# Empty dependencies file for suara_common.
# This may be replaced when dependencies are built.
