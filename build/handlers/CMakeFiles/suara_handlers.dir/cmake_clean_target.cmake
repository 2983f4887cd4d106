file(REMOVE_RECURSE
  "libsuara_handlers.a"
)
