file(REMOVE_RECURSE
  "libsuara_dialogs.a"
)
