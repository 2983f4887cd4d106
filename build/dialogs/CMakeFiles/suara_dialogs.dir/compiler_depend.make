# Empty compiler generated dependencies file for suara_dialogs.
# This may be replaced when dependencies are built.
