file(REMOVE_RECURSE
  "libsuara_evalstore.a"
)
