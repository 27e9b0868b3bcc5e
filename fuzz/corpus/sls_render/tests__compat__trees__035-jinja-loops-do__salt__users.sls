# Loops with break/continue, loop variables, and mutation through do:
# dict.update, list.append, list.extend, dict.setdefault.
{%- set present = [] %}
{%- set shells = {} %}
{%- for name, u in salt['pillar.get']('users', {}).items() %}
{%-   if u.get('absent') %}{% continue %}{% endif %}
{%-   if name == 'dave' %}{% break %}{% endif %}
{%-   do present.append(name) %}
{%-   do shells.update({name: u.get('shell', '/bin/bash')}) %}
{{ name }}:
  user.present:
    - uid: {{ u.uid }}
    - shell: {{ shells[name] }}
    - index: {{ loop.index }}
    - first: {{ loop.first }}
{%- endfor %}
{%- do present.extend(['root']) %}
{%- set counts = {} %}
{%- do counts.setdefault('n', present | length) %}
{%- set ns = namespace(total=0) %}
{%- for u in present %}{% set ns.total = ns.total + 1 %}{% endfor %}

summary:
  test.nop:
    - present: {{ present | json }}
    - shells: {{ shells | json }}
    - counts: {{ counts | json }}
    - total: {{ ns.total }}
    - ranged: {{ range(3) | list | json }}
    - loop_else: {% for x in [] %}{{ x }}{% else %}empty{% endfor %}
