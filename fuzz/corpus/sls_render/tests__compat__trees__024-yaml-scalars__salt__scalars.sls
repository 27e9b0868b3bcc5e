# Scalars as Salt's YAML loader reads them (PyYAML YAML 1.1 + Salt changes).
modes:
  test.nop:
    - octal_plain: 0644
    - octal_quoted: '0644'
    - octal_zero: 0
    - octal_long: 02775
    - decimal: 644
    - octal_o: 0o644
    - leading_zero_eight: 0800
bools:
  test.nop:
    - yes_: yes
    - no_: no
    - Yes_: Yes
    - NO_: NO
    - on_: on
    - off_: off
    - On_: On
    - y_: y
    - n_: n
    - Y_: Y
    - true_: true
    - True_: True
    - FALSE_: FALSE
    - quoted_yes: 'yes'
numbers:
  test.nop:
    - sexagesimal: 1:30
    - sexagesimal3: 1:02:03
    - hex: 0x1F
    - exp: 1e3
    - exp_dot: 1.0e3
    - exp_sign: 1.5e+3
    - float: 1.0001
    - float_dot: .5
    - negative: -17
    - plus: +17
    - underscore: 1_000
    - version: 1.10
    - version_str: 1.10.2
    - binary: 0b101
strings:
  test.nop:
    - date: 2024-01-15
    - datetime: 2024-01-15 10:30:00
    - datetime_t: 2024-01-15T10:30:00Z
    - null_tilde: ~
    - null_word: null
    - empty:
    - tilde_str: '~'
    - colon_str: 'a: b'
    - time: 10:30
    - ip: 10.0.0.1
    - path: /etc/hosts
    - hash_in: a#b
