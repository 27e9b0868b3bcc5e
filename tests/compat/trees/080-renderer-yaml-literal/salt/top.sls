#!jinja | yaml
base:
  "{{ grains.id }}":
    - literal
    - mixed
