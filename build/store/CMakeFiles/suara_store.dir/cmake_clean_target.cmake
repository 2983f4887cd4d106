file(REMOVE_RECURSE
  "libsuara_store.a"
)
