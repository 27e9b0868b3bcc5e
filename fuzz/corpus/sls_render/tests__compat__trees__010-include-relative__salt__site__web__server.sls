# Relative includes: '.x' is a sibling in this SLS's package, '..x' goes one
# level up, and '...x' (in tls/certs) two levels up.
include:
  - .vhosts
  - ..common
  - .tls.certs

server:
  test.nop: []
