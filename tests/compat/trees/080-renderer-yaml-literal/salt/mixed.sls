#!yaml_jinja
rendered-{{ grains.role }}:
  test.nop:
    - os: {{ grains.os }}
