# ufw-formula's pillar.example: an int key among string keys, and the
# YAML non-finite floats.
k:
  services:
    http:
      protocol: tcp
    139:
      protocol: udp
    22:
      protocol: tcp
  nums:
    up: .inf
    down: -.Inf
    odd: .NaN
    big: 1e400
  bools:
    true: yes-key
    false: no-key
  nulls:
    ~: null-key
  floats:
    1.5: float-key
