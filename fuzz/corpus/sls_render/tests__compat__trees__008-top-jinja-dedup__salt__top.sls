# A Jinja-rendered top file; an SLS named by two targets is applied once, at
# its first position; a target with an empty list.
base:
  '*':
    - common
{%- for role in grains['roles'] %}
    - roles.{{ role }}
{%- endfor %}
  'web*':
    - roles.web
    - common
    - extra
  'db*': []
