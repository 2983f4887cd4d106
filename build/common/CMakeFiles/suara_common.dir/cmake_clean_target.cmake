file(REMOVE_RECURSE
  "libsuara_common.a"
)
