file(REMOVE_RECURSE
  "libsuara_gateway.a"
)
