base_value: 1
shared:
  overridden: base
