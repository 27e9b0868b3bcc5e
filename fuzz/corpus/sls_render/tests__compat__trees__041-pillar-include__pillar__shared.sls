shared:
  from_shared: 1
  overridden: shared
